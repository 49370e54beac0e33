import { Command } from 'commander';
import { ConfigError, type ConfigIssue } from '../core/errors';
import { lintRules, lintTrainingData } from '../config/lint-rules';
import { loadPipeline } from '../config/load-pipeline';
import { renderPipelineReference } from '../config/pipeline-docs';
import { redactCredentials } from '../core/secrets';

interface LintOptions {
  print?: boolean;
  data?: string;
  docs?: boolean;
  json?: boolean;
}

/** What lint found in one file. */
interface FileResult {
  file: string;
  ok: boolean;
  code?: string;
  errors: Array<{ path: string; message: string }>;
  warnings: Array<{ path: string; message: string }>;
  config?: unknown;
}

/**
 * `aestream lint <file...>`: validates pipeline files against the schema and the
 * cross-field rules. Exit 0 when every file is valid, 1 when any is not; each problem
 * is printed as `file: path: reason`, a deprecated field as a warning. `--docs` prints the
 * field reference rendered from the schema.
 */
export function lintCommand(): Command {
  const rules = lintRules.map((r) => `  ${r.id.padEnd(20)} ${r.description}`).join('\n');
  return new Command('lint')
    .description('validate pipeline files (schema, ${ENV:default} references, cross-field rules)')
    .argument('[file...]', 'pipeline YAML files')
    .option('--print', 'print each valid file as resolved: env substituted, defaults filled')
    .option(
      '--data <file>',
      'a sensor training CSV (what `aestream train --data` reads): warn about channels whose robust scale is floored or that are constant (warnings do not fail)',
    )
    .option('--json', 'print the findings as one JSON object on stdout (exit codes unchanged)')
    .option(
      '--docs',
      'print the reference of every pipeline-file field (Markdown), from the schema',
    )
    .addHelpText(
      'after',
      `\nBesides the schema (unknown keys, types, ranges), these rules are checked:\n${rules}\n` +
        '\nRelative paths in a pipeline file resolve from the working directory.\n' +
        '\nDeprecated fields are accepted with a warning (warn file: path: reason).\n' +
        '\nExamples:\n  aestream lint pipelines/sensors.yaml pipelines/images.yaml' +
        '\n  aestream lint pipelines/sensors.yaml --data train.csv',
    )
    .action((files: string[], opts: LintOptions, cmd: Command) => {
      if (opts.docs) {
        process.stdout.write(renderPipelineReference());
        return;
      }
      if (files.length === 0) {
        cmd.error('error: give at least one pipeline file (or --docs)');
      }
      const results = files.map((file) => lintFile(file, opts));
      const failed = results.filter((r) => !r.ok).length;
      if (opts.json) console.log(JSON.stringify({ files: results, failed }));
      else results.forEach((r) => printResult(r, opts));
      if (failed > 0) {
        if (!opts.json)
          console.error(
            `${failed} of ${files.length} file${files.length === 1 ? '' : 's'} invalid`,
          );
        process.exitCode = 1;
      }
    });
}

function lintFile(file: string, opts: LintOptions): FileResult {
  const warnings: ConfigIssue[] = [];
  const issues = (list: readonly ConfigIssue[]) =>
    list.map((i) => ({ path: i.path || '(file)', message: i.message }));
  try {
    const config = loadPipeline(file, { warnings });
    if (opts.data !== undefined) warnings.push(...lintTrainingData(config, opts.data));
    return {
      file,
      ok: true,
      errors: [],
      warnings: issues(warnings),
      ...(opts.print ? { config: JSON.parse(JSON.stringify(config, redactCredentials)) } : {}),
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      file,
      ok: false,
      code: err.code,
      errors: issues(err.issues),
      warnings: issues(warnings),
    };
  }
}

function printResult(r: FileResult, opts: LintOptions): void {
  if (r.ok) {
    console.log(`ok   ${r.file}`);
    if (opts.print) console.log(JSON.stringify(r.config, null, 2));
  } else {
    console.error(`FAIL ${r.file} (${r.code})`);
    for (const e of r.errors) console.error(`  ${e.path}: ${e.message}`);
  }
  for (const w of r.warnings) console.log(`warn ${r.file}: ${w.path}: ${w.message}`);
}
