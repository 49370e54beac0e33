import pino, { type DestinationStream, type LoggerOptions } from 'pino';
import { AeError, ErrorCodes } from '../core/errors';

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

/** How log lines are written: one JSON object a line, or a line for people. */
export type LogFormat = 'json' | 'pretty';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Fields every line has, or that the pretty line shows elsewhere. */
const PRETTY_SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);
const LEVEL_LABELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLORS: Record<number, string> = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s="]+$/.test(value) ? value : JSON.stringify(value);
  if (value && typeof value === 'object' && 'message' in value && 'type' in value) {
    // a serialized error: its message (the stack with AESTREAM_DEBUG)
    const err = value as { message: unknown; stack?: unknown };
    return JSON.stringify(process.env.AESTREAM_DEBUG && err.stack ? err.stack : err.message);
  }
  return JSON.stringify(value);
}

/**
 * One JSON log line as a person reads it: local time, level, message, then `key=value`
 * for the other fields. Lines that are not JSON pass unchanged.
 *
 * @example prettyLogLine('{"level":30,"time":0,"msg":"kafka source started","topic":"t"}\n', false)
 * // '01:00:00.000 INFO  kafka source started  topic=t\n' (in the local zone)
 */
export function prettyLogLine(line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = Number(entry.level);
  const t = new Date(Number(entry.time));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
  const label = (LEVEL_LABELS[level] ?? String(entry.level)).padEnd(5);
  const shown = color && LEVEL_COLORS[level] ? `${LEVEL_COLORS[level]}${label}\x1b[0m` : label;
  const fields = Object.entries(entry)
    .filter(([k]) => !PRETTY_SKIP.has(k))
    .map(([k, v]) => `${k}=${prettyValue(v)}`);
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  return `${time} ${shown} ${msg}${fields.length ? '  ' + fields.join(' ') : ''}\n`;
}

/** stderr, written as JSON or pretty lines; the format can change after the logger is made. */
class LogDestination implements DestinationStream {
  format: LogFormat;
  private readonly color: boolean;
  // Synchronous: log lines are few (none per frame), and a command's final line on stderr
  // must come after every line logged before it.
  private readonly out = pino.destination({ dest: 2, sync: true });

  constructor() {
    const tty = process.stderr.isTTY === true;
    const env = process.env.AESTREAM_LOG_FORMAT;
    this.format = env === 'json' || env === 'pretty' ? env : tty ? 'pretty' : 'json';
    this.color = tty && process.env.NO_COLOR === undefined;
  }

  write(line: string): void {
    this.out.write(this.format === 'pretty' ? prettyLogLine(line, this.color) : line);
  }

  flush(): void {
    try {
      this.out.flushSync();
    } catch {
      // not open yet (nothing written) or already closed: nothing to flush
    }
  }
}

const destination = new LogDestination();
const envLevel = process.env.AESTREAM_LOG_LEVEL;
const envLevelValid =
  envLevel !== undefined && (LOG_LEVELS as readonly string[]).includes(envLevel);
let levelChosen = envLevelValid;

/**
 * The process-wide logger, on stderr (stdout stays free for command output): pretty lines
 * when stderr is a terminal, JSON lines otherwise (AESTREAM_LOG_FORMAT or `--log-format`
 * decide instead when set). Level from AESTREAM_LOG_LEVEL or `--log-level` (default `info`);
 * silent under jest unless the variable is set. Credentials in logged objects are redacted.
 *
 * @example
 * logger.info({ backend: 'wasm' }, 'tfjs backend selected');
 */
export const logger = createLogger(
  envLevelValid ? envLevel! : process.env.JEST_WORKER_ID !== undefined ? 'silent' : 'info',
  destination,
);

/**
 * Applies the command line's logging options, which win over the environment
 * (AESTREAM_LOG_FORMAT, AESTREAM_LOG_LEVEL), which wins over the defaults.
 */
export function configureLogging(options: { format?: LogFormat; level?: string }): void {
  const envFormat = process.env.AESTREAM_LOG_FORMAT;
  if (
    !options.format &&
    envFormat !== undefined &&
    envFormat !== 'json' &&
    envFormat !== 'pretty'
  ) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `AESTREAM_LOG_FORMAT=${envFormat} is not a log format: use json or pretty`,
    );
  }
  if (!options.level && envLevel !== undefined && !envLevelValid) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `AESTREAM_LOG_LEVEL=${envLevel} is not a log level: use one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  if (options.format) destination.format = options.format;
  if (options.level) {
    logger.level = options.level;
    levelChosen = true;
  }
}

/** True when the user chose the level (flag or environment); commands may then not lower it. */
export function logLevelChosen(): boolean {
  return levelChosen;
}

/** Writes out log lines still buffered: a command's final line must come after them. */
export function flushLogs(): void {
  destination.flush();
}
