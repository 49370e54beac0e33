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
      let failed = 0;
      for (const file of files) {
        const warnings: ConfigIssue[] = [];
        try {
          const config = loadPipeline(file, { warnings });
          console.log(`ok   ${file}`);
          if (opts.print) console.log(JSON.stringify(config, redactCredentials, 2));
          if (opts.data !== undefined) {
            for (const w of lintTrainingData(config, opts.data))
              console.log(`warn ${file}: ${w.path}: ${w.message}`);
          }
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          failed++;
          console.error(`FAIL ${file} (${err.code})`);
          for (const issue of err.issues)
            console.error(`  ${issue.path || '(file)'}: ${issue.message}`);
        } finally {
          for (const w of warnings) console.log(`warn ${file}: ${w.path}: ${w.message}`);
        }
      }
      if (failed > 0) {
        console.error(`${failed} of ${files.length} file${files.length === 1 ? '' : 's'} invalid`);
        process.exitCode = 1;
      }
    });
}
