import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, ErrorCodes, type ConfigIssue } from '../core/errors';
import { interpolateEnv } from './interpolate';
import { redactIssues, secretValues } from '../core/secrets';
import { lintRules, type LintContext } from './lint-rules';
import { deprecatedFieldsUsed } from './pipeline-docs';
import { pipelineSchema, type PipelineConfig } from './pipeline-schema';

export interface LoadOptions {
  /** Variables for `${NAME:default}`; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Where relative paths resolve; the working directory by default. */
  baseDir?: string;
  /** Receives problems that do not stop the file from loading (deprecated fields). */
  warnings?: ConfigIssue[];
}

/**
 * Reads, interpolates, validates and freezes a pipeline file. Throws a ConfigError that
 * lists every problem found (by dotted path), never a partial config.
 *
 * @example const config = loadPipeline('pipelines/sensors.yaml'); config.frame.window // 64
 */
export function loadPipeline(file: string, options: LoadOptions = {}): Readonly<PipelineConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      ErrorCodes.CONFIG_FILE_NOT_FOUND,
      file,
      [
        {
          path: '',
          message: `cannot read the pipeline file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        },
      ],
      { cause: err },
    );
  }
  return parsePipeline(text, file, options);
}

/** The same as loadPipeline, for text already in memory; `file` only names it in errors. */
export function parsePipeline(
  text: string,
  file: string,
  options: LoadOptions = {},
): Readonly<PipelineConfig> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      ErrorCodes.CONFIG_YAML,
      file,
      // The first syntax error explains; the ones after it are mostly its echoes.
      [{ path: '', message: doc.errors[0].message.split('\n')[0] }],
    );
  }
  const envIssues: ConfigIssue[] = [];
  const raw = interpolateEnv(doc, options.env ?? process.env, envIssues);
  if (envIssues.length > 0) throw new ConfigError(ErrorCodes.CONFIG_ENV, file, envIssues);

  options.warnings?.push(...deprecatedFieldsUsed(raw));
  const parsed = pipelineSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      ErrorCodes.CONFIG_INVALID,
      file,
      redactIssues(parsed.error.issues.flatMap(toConfigIssues), secretValues(raw)),
    );
  }
  const config = withDefaultTopics(parsed.data);
  const ctx: LintContext = { baseDir: options.baseDir ?? process.cwd() };
  const ruleIssues = lintRules.flatMap((rule) => rule.check(config, ctx));
  if (ruleIssues.length > 0) throw new ConfigError(ErrorCodes.CONFIG_INVALID, file, ruleIssues);
  return deepFreeze(config);
}

function withDefaultTopics(data: z.infer<typeof pipelineSchema>): PipelineConfig {
  return {
    ...data,
    output: {
      ...data.output,
      kafka: data.output.kafka ?? { topic: `${data.name}.anomalies` },
      dlq: data.output.dlq ?? { topic: `${data.name}.dlq` },
    },
    state: { ...data.state, topic: data.state.topic ?? `${data.name}.state` },
  };
}

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: path ? `${path}.${key}` : key,
      message: 'unknown key',
    }));
  }
  if (issue.code === 'invalid_union' && issue.discriminator !== undefined && 'options' in issue) {
    const allowed = (issue.options ?? []).map((o) => JSON.stringify(o)).join(', ');
    return [{ path, message: `expected one of ${allowed}` }];
  }
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
    return [{ path, message: `required key is missing (expected ${issue.expected})` }];
  }
  return [{ path, message: issue.message }];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
