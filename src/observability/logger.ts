import pino, { type DestinationStream, type LoggerOptions } from 'pino';

/**
 * Fields that hold credentials. Bare `key` stays readable: it is the source id (Kafka record
 * key) in many log lines; a TLS private key is redacted under its sections (`tls.key`).
 */
const SECRET_FIELDS = ['password', 'passphrase', 'secret', 'token', 'apiKey', 'privateKey'];
const SECRET_SECTIONS = ['tls.key', 'ssl.key', 'authorization', 'headers.authorization'];
const SECRET_KEY =
  /^(password|passphrase|secret|token|apikey|privatekey|authorization|sasl_password)$/i;

/** pino redact paths: the credential fields at the depths our log objects have. */
export const REDACT_PATHS = [...SECRET_FIELDS, ...SECRET_SECTIONS].flatMap((f) => [
  f,
  `*.${f}`,
  `*.*.${f}`,
]);

/** Deeper than the redact paths reach (a whole config section logged): the same by key name. */
function scrub(value: unknown, depth: number, parentIsTls: boolean): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, false));
  if (value instanceof Error || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const secret = SECRET_KEY.test(k) || (parentIsTls && k === 'key');
    out[k] = secret ? '[redacted]' : scrub(v, depth + 1, k === 'tls' || k === 'ssl');
  }
  return out;
}

/**
 * The options of the aestream logger (exported so tests can log through them into memory).
 * Credential fields (password, token, tls.key, ...) are written as `[redacted]`.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    name: 'aestream',
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { log: (object) => scrub(object, 0, false) as Record<string, unknown> },
  };
}

/** A logger with the aestream options writing to `destination` (stderr for the process logger). */
export function createLogger(level: string, destination: DestinationStream): pino.Logger {
  return pino(loggerOptions(level), destination);
}

/**
 * The process-wide logger: JSON lines on stderr (stdout stays free for command output).
 * Level from AESTREAM_LOG_LEVEL (default `info`); silent under jest unless the variable is set.
 * Credentials in logged objects are redacted.
 *
 * @example
 * logger.info({ backend: 'wasm' }, 'tfjs backend selected');
 */
export const logger = createLogger(
  process.env.AESTREAM_LOG_LEVEL ?? (process.env.JEST_WORKER_ID !== undefined ? 'silent' : 'info'),
  pino.destination(2),
);
