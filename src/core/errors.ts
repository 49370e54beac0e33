/**
 * The one error hierarchy of aestream. Every error a user can meet has a stable code
 * (`AE_ERR_…`), says whether retrying can help, and keeps its cause. The codes are also
 * the reason codes in dead-letter headers and the labels of the DLQ metrics, so never
 * rename one: add a new code instead.
 */

export const ErrorCodes = {
  /** A pipeline file is not valid YAML. */
  CONFIG_YAML: 'AE_ERR_CONFIG_YAML',
  /** A pipeline file breaks the schema or a cross-field rule. */
  CONFIG_INVALID: 'AE_ERR_CONFIG_INVALID',
  /** A `${VAR}` without default names a variable that is not set. */
  CONFIG_ENV: 'AE_ERR_CONFIG_ENV',
  /** A file the configuration names (pipeline file, schema) does not exist. */
  CONFIG_FILE_NOT_FOUND: 'AE_ERR_CONFIG_FILE_NOT_FOUND',
  /** Command-line arguments that do not make sense together. */
  CLI_USAGE: 'AE_ERR_CLI_USAGE',
  /** A requested TensorFlow.js backend or inference engine cannot be loaded here. */
  BACKEND_UNAVAILABLE: 'AE_ERR_BACKEND_UNAVAILABLE',
  /** No model (or not the requested version) in the model store. */
  MODEL_NOT_FOUND: 'AE_ERR_MODEL_NOT_FOUND',
  /** A stored model is damaged: missing files, content hash mismatch, NaN weights. */
  MODEL_CORRUPT: 'AE_ERR_MODEL_CORRUPT',
  /** A model that does not fit the pipeline (architecture, input shape). */
  MODEL_INCOMPATIBLE: 'AE_ERR_MODEL_INCOMPATIBLE',
  /** Training or evaluation data that cannot be read or does not fit the model. */
  DATA_INVALID: 'AE_ERR_DATA_INVALID',
  // Data plane. These are also the DLQ reason codes (header `ae.reason`).
  /** Bytes that are not a valid Avro encoding of the writer schema (truncated, garbage). */
  AVRO_DECODE: 'AE_ERR_AVRO_DECODE',
  /** A value that does not fit the schema it is written with. */
  AVRO_ENCODE: 'AE_ERR_AVRO_ENCODE',
  /** The writer schema of a record is unknown (fingerprint header or registry id not known). */
  SCHEMA_UNKNOWN: 'AE_ERR_SCHEMA_UNKNOWN',
  /** The writer schema cannot be resolved into the reader schema (Avro resolution rules). */
  SCHEMA_INCOMPATIBLE: 'AE_ERR_SCHEMA_INCOMPATIBLE',
  /** A schema file that is missing, not JSON, or not a valid Avro schema. */
  SCHEMA_INVALID: 'AE_ERR_SCHEMA_INVALID',
  /** The schema registry cannot be reached or refused a request. */
  SCHEMA_REGISTRY: 'AE_ERR_SCHEMA_REGISTRY',
  /** A sensor frame whose values do not have the pipeline's feature count. */
  FRAME_SHAPE: 'AE_ERR_FRAME_SHAPE',
  /** An image frame whose width, height, channels or data length do not fit the pipeline. */
  IMAGE_SIZE: 'AE_ERR_IMAGE_SIZE',
  /** An image frame whose PNG data does not decode, or decodes to another size. */
  IMAGE_DECODE: 'AE_ERR_IMAGE_DECODE',
  /** A frame holding NaN or +-Infinity. */
  NON_FINITE: 'AE_ERR_NON_FINITE',
  /** A record without a usable key or event time. */
  FRAME_INVALID: 'AE_ERR_FRAME_INVALID',
  /** Kafka refused or failed an operation (connect, produce, commit). */
  KAFKA: 'AE_ERR_KAFKA',
  /** InfluxDB refused a write for good (4xx other than a timeout): retrying cannot help. */
  INFLUX_WRITE: 'AE_ERR_INFLUX_WRITE',
  /** InfluxDB refused the user name or password (401), or the user lacks the privilege (403). */
  INFLUX_AUTH: 'AE_ERR_INFLUX_AUTH',
  /** A shutdown did not drain in-flight records within its deadline. */
  SHUTDOWN_TIMEOUT: 'AE_ERR_SHUTDOWN_TIMEOUT',
  /** An input file (CSV, IDX, Avro container) that cannot be parsed. */
  FILE_FORMAT: 'AE_ERR_FILE_FORMAT',
  /** Saved threshold state that is not JSON or not a registry snapshot. */
  THRESHOLD_STATE: 'AE_ERR_THRESHOLD_STATE',
  /** A threshold command (aestream.control) that is not valid. */
  THRESHOLD_COMMAND: 'AE_ERR_THRESHOLD_COMMAND',
  /** A state changelog record that does not decode or does not fit the pipeline (dead-lettered). */
  STATE_DECODE: 'AE_ERR_STATE_DECODE',
  /** A state changelog topic that is not compacted or not co-partitioned with the input. */
  STATE_TOPIC: 'AE_ERR_STATE_TOPIC',
  /** A folder that does not have NAB's layout, or a NAB result file that does not match its data. */
  NAB_FORMAT: 'AE_ERR_NAB_FORMAT',
  /** A replay range spec (`--from` / `--to`) that cannot be parsed, or ends before it starts. */
  REPLAY_RANGE: 'AE_ERR_REPLAY_RANGE',
  /** A replay range that holds no records in any partition of the topic. */
  REPLAY_EMPTY_RANGE: 'AE_ERR_REPLAY_EMPTY_RANGE',
  /** A run that a signal (Ctrl-C, SIGTERM) stopped before its end. */
  INTERRUPTED: 'AE_ERR_INTERRUPTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The message of each code, one table as fastify's `createError` keeps: the wording is
 * here, and a call site passes only `{detail}`, the specifics (which file, value, topic).
 */
export const ErrorMessages: { readonly [C in ErrorCode]: string } = {
  AE_ERR_CONFIG_YAML: 'not valid YAML: {detail}',
  AE_ERR_CONFIG_INVALID: 'invalid configuration: {detail}',
  AE_ERR_CONFIG_ENV: 'environment variable not set: {detail}',
  AE_ERR_CONFIG_FILE_NOT_FOUND: 'file not found: {detail}',
  AE_ERR_CLI_USAGE: 'invalid usage: {detail}',
  AE_ERR_BACKEND_UNAVAILABLE: 'backend unavailable: {detail}',
  AE_ERR_MODEL_NOT_FOUND: 'model not found: {detail}',
  AE_ERR_MODEL_CORRUPT: 'damaged model: {detail}',
  AE_ERR_MODEL_INCOMPATIBLE: 'incompatible model: {detail}',
  AE_ERR_DATA_INVALID: 'unusable data: {detail}',
  AE_ERR_AVRO_DECODE: 'Avro decoding failed: {detail}',
  AE_ERR_AVRO_ENCODE: 'Avro encoding failed: {detail}',
  AE_ERR_SCHEMA_UNKNOWN: 'unknown schema: {detail}',
  AE_ERR_SCHEMA_INCOMPATIBLE: 'incompatible schemas: {detail}',
  AE_ERR_SCHEMA_INVALID: 'invalid schema: {detail}',
  AE_ERR_SCHEMA_REGISTRY: 'schema registry failed: {detail}',
  AE_ERR_FRAME_SHAPE: 'wrong frame shape: {detail}',
  AE_ERR_IMAGE_SIZE: 'wrong image size: {detail}',
  AE_ERR_IMAGE_DECODE: 'image does not decode: {detail}',
  AE_ERR_NON_FINITE: 'value not finite or too large: {detail}',
  AE_ERR_FRAME_INVALID: 'invalid frame: {detail}',
  AE_ERR_KAFKA: 'Kafka failed: {detail}',
  AE_ERR_INFLUX_WRITE: 'InfluxDB write failed: {detail}',
  AE_ERR_INFLUX_AUTH:
    'InfluxDB refused the credentials ({detail}): check output.influx.username and password/passwordFile',
  AE_ERR_SHUTDOWN_TIMEOUT: 'shutdown timed out: {detail}',
  AE_ERR_FILE_FORMAT: 'unreadable file: {detail}',
  AE_ERR_THRESHOLD_STATE: 'unusable threshold state: {detail}',
  AE_ERR_THRESHOLD_COMMAND: 'invalid threshold command: {detail}',
  AE_ERR_STATE_DECODE: 'source state not restored: {detail}',
  AE_ERR_STATE_TOPIC: 'unusable state topic: {detail}',
  AE_ERR_NAB_FORMAT: 'not NAB data: {detail}',
  AE_ERR_REPLAY_RANGE: 'invalid replay range: {detail}',
  AE_ERR_REPLAY_EMPTY_RANGE: 'nothing to replay: {detail}',
  AE_ERR_INTERRUPTED: 'stopped before the end: {detail}',
};

/** The message of `code` with its placeholders filled in (an unknown one is left as it is). */
export function formatError(code: ErrorCode, params: Readonly<Record<string, string>>): string {
  return ErrorMessages[code].replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}

export interface AeErrorOptions {
  cause?: unknown;
  /** True when the same operation may succeed later (network faults, a broker restart). */
  retriable?: boolean;
}

export class AeError extends Error {
  readonly code: ErrorCode;
  /** The specifics the call site gave; `message` is the code's template filled with it. */
  readonly detail: string;
  readonly retriable: boolean;
  override readonly cause?: unknown;

  constructor(code: ErrorCode, detail: string, options: AeErrorOptions = {}) {
    super(formatError(code, { detail }));
    this.name = 'AeError';
    this.code = code;
    this.detail = detail;
    this.retriable = options.retriable ?? false;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/** One problem in a pipeline file: where (a dotted path) and what. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A pipeline file that cannot be used; `issues` lists every problem found, not just the first. */
export class ConfigError extends AeError {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(
    code: ErrorCode,
    file: string,
    issues: readonly ConfigIssue[],
    options: AeErrorOptions = {},
  ) {
    super(code, formatIssues(file, issues), options);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

function formatIssues(file: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`);
  return `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${lines.join('\n')}`;
}

/** True for errors that a retry can fix; programmer errors never are. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) {
    return false;
  }
  return err instanceof AeError ? err.retriable : false;
}

/** The message of any thrown value, without dumping whole objects (HTTP requests and the like). */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
