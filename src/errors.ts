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
  /** Saved threshold state that is not JSON or not a registry snapshot. */
  THRESHOLD_STATE: 'AE_ERR_THRESHOLD_STATE',
  /** A threshold command (aestream.control) that is not valid. */
  THRESHOLD_COMMAND: 'AE_ERR_THRESHOLD_COMMAND',
  /** A folder that does not have NAB's layout, or a NAB result file that does not match its data. */
  NAB_FORMAT: 'AE_ERR_NAB_FORMAT',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface AeErrorOptions {
  cause?: unknown;
  /** True when the same operation may succeed later (network faults, a broker restart). */
  retriable?: boolean;
}

export class AeError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  override readonly cause?: unknown;

  constructor(code: ErrorCode, message: string, options: AeErrorOptions = {}) {
    super(message);
    this.name = 'AeError';
    this.code = code;
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
