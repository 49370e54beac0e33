import pino from 'pino';

/**
 * The process-wide logger: JSON lines on stderr (stdout stays free for command output).
 * Level from AESTREAM_LOG_LEVEL (default `info`); silent under jest unless the variable is set.
 *
 * @example
 * logger.info({ backend: 'wasm' }, 'tfjs backend selected');
 */
export const logger = pino(
  {
    name: 'aestream',
    level:
      process.env.AESTREAM_LOG_LEVEL ??
      (process.env.JEST_WORKER_ID !== undefined ? 'silent' : 'info'),
  },
  pino.destination(2),
);
