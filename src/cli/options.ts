import { AeError, ErrorCodes } from '../core/errors';
import { parseRangeSpec, type RangeSpec } from '../connectors/kafka/offset-range';

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
