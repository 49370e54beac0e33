import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AeError, ErrorCodes } from '../core/errors';
import { parseRangeSpec, type RangeSpec } from '../connectors/kafka/offset-range';

/**
 * The absolute path of the folder a `--data` option names; a usage error when there is none.
 *
 * @example const dataDir = dataFolder(opts.data);
 */
export function dataFolder(path: string): string {
  const dir = resolve(path);
  if (!existsSync(dir)) throw new AeError(ErrorCodes.CLI_USAGE, `--data: no such folder: ${path}`);
  return dir;
}

/**
 * A commander option parser for comma-separated whole numbers (of at least `min`); anything
 * else is a usage error naming the option, an example and the value.
 *
 * @example .option('--classes <list>', 'classes', integerList('--classes', '0,1,2', 0))
 */
export function integerList(
  name: string,
  example: string,
  min = -Infinity,
): (value: string) => number[] {
  const what = min === 0 ? 'non-negative integers' : 'integers';
  return (v) => {
    const parts = v.split(',').map((p) => p.trim());
    const list = parts.map(Number);
    if (parts.some((p) => p === '') || list.some((n) => !Number.isInteger(n) || n < min)) {
      throw new AeError(
        ErrorCodes.CLI_USAGE,
        `${name}: expected ${what} separated by commas, like ${example}, got '${v}'`,
      );
    }
    return list;
  };
}

/**
 * A commander option parser for whole numbers of at least `min`; anything else is a usage
 * error naming the option and the value.
 *
 * @example .option('--epochs <n>', 'training epochs', integer('--epochs', 1))
 */
export function integer(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      const what =
        min === 0
          ? 'a non-negative integer'
          : min === 1
            ? 'a positive integer'
            : `an integer >= ${min}`;
      throw new AeError(ErrorCodes.CLI_USAGE, `${name} must be ${what}, got '${value}'`);
    }
    return n;
  };
}

/** A parser for positive numbers (fractions allowed), e.g. rates. */
export function positiveNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n)) {
      throw new AeError(ErrorCodes.CLI_USAGE, `${name} must be a positive number, got '${value}'`);
    }
    return n;
  };
}

/** `--metrics-port`: a port (0 picks a free one), or "off" for no server (null). */
export function metricsPort(value: string): number | null {
  if (value === 'off') return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `--metrics-port must be a port (0-65535) or "off", got '${value}'`,
    );
  }
  return n;
}

/**
 * The brokers and topic of a command that takes `--brokers`/`--topic` or a pipeline file:
 * the options first, then the pipeline's input, then KAFKA_BROKERS (brokers only).
 */
export function brokersAndTopic(
  opts: { brokers?: string | undefined; topic?: string | undefined },
  pipeline: { input: { kafka: { brokers: string; topic: string } } } | undefined,
): { brokers: string; topic: string } {
  const brokers =
    opts.brokers ?? pipeline?.input.kafka.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const topic = opts.topic ?? pipeline?.input.kafka.topic;
  if (!topic)
    throw new AeError(ErrorCodes.CLI_USAGE, 'name the topic: --topic NAME or --pipeline FILE');
  return { brokers, topic };
}

const RELATIVE_TIME = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A range or start position as a user writes it, with times back from now (`-90s`, `-15m`,
 * `-1h`, `-2d`, `-1w`) as well as every form of `parseRangeSpec` (earliest, latest/now, an
 * ISO time, offsets). The one parser of `--from`/`--to` values of the commands.
 *
 * @example parsePosition('-1h', '--from') // { kind: 'time', ms: <an hour ago>, text: '2026-…Z' }
 */
export function parsePosition(text: string, option: string, now = Date.now()): RangeSpec {
  const relative = RELATIVE_TIME.exec(text.trim());
  if (relative) {
    const ms = now - Number(relative[1]) * UNIT_MS[relative[2]!]!;
    return { kind: 'time', ms, text: new Date(ms).toISOString() };
  }
  try {
    return parseRangeSpec(text, option);
  } catch (err) {
    if (err instanceof AeError) {
      throw new AeError(err.code, `${err.detail}, or a time back from now (-30m, -1h, -2d)`);
    }
    throw err;
  }
}

/**
 * Where a command's value of `key` came from, for error messages: its flag, the pipeline file
 * (and the environment variable the file reads there, or the file's default when it is
 * unset), the environment variable, or the built-in default.
 *
 * @example settingOrigin({ pipeline: 'p.yaml' }, kafkaBrokersSetting) // 'KAFKA_BROKERS, read by input.kafka.brokers of p.yaml'
 */
export function settingOrigin(
  opts: Record<string, unknown>,
  setting: Setting,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (typeof opts[setting.option] === 'string') return setting.flag;
  const file = typeof opts.pipeline === 'string' ? opts.pipeline : undefined;
  if (file) {
    const raw = rawField(file, setting.path);
    const ref = raw === undefined ? null : /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}/.exec(raw);
    const where = `${setting.path.join('.')} of ${file}`;
    if (!ref) return where;
    return env[ref[1]!]
      ? `${ref[1]}, read by ${where}`
      : `the default of ${where} (${ref[1]} is not set)`;
  }
  return env[setting.variable] ? setting.variable : `the default (${setting.variable} is not set)`;
}

/** A setting that comes from a flag, a pipeline file field or an environment variable. */
export interface Setting {
  /** The commander option key, e.g. `brokers` for --brokers. */
  option: string;
  flag: string;
  path: string[];
  variable: string;
}

export const KAFKA_BROKERS_SETTING: Setting = {
  option: 'brokers',
  flag: '--brokers',
  path: ['input', 'kafka', 'brokers'],
  variable: 'KAFKA_BROKERS',
};

export const INFLUX_URL_SETTING: Setting = {
  option: 'influx',
  flag: '--influx',
  path: ['output', 'influx', 'url'],
  variable: 'INFLUX_URL',
};

/** A field of a pipeline file as written, before `${VAR}` references are replaced. */
function rawField(file: string, path: string[]): string | undefined {
  try {
    let node: unknown = parseYaml(readFileSync(file, 'utf8'));
    for (const key of path) node = (node as Record<string, unknown> | null)?.[key];
    return typeof node === 'string' ? node : undefined;
  } catch {
    return undefined;
  }
}
