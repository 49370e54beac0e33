import { isRetriable } from '../core/errors';

/** Exponential backoff with jitter; plain data so tests can pass a fast profile. */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
  /** Fraction of the delay randomized (+-), so many clients do not retry in step. */
  jitter: number;
}

export const defaultBackoff: Readonly<BackoffPolicy> = Object.freeze({
  initialMs: 200,
  maxMs: 10_000,
  factor: 2,
  jitter: 0.2,
});

/**
 * Delay before retry number `attempt` (0 = the first retry).
 *
 * @example backoffDelay(3, { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0 }) // 800
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = defaultBackoff,
  random = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** attempt);
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(policy.maxMs, Math.round(base + spread)));
}

export interface RetryOptions {
  policy?: BackoffPolicy;
  /** Retries after the first try (default: no limit). */
  retries?: number;
  /** Which errors to retry (default: AeErrors marked retriable; never TypeError/RangeError). */
  shouldRetry?: (err: unknown) => boolean;
  /** Called before each wait: for a metric or a state-change log line. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops retrying (rejects with the last error) once it returns true. */
  cancelled?: () => boolean;
}

/**
 * Runs `fn` until it succeeds, waiting with exponential backoff between tries of retriable
 * failures; other failures (and the last one) are thrown as they are.
 *
 * @example
 * await retry(() => influx.writePoints(points), { shouldRetry: isNetworkError, retries: 5 });
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isRetriable;
  const retries = options.retries ?? Infinity;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError) throw err;
      if (attempt >= retries || !shouldRetry(err) || options.cancelled?.()) throw err;
      const delay = backoffDelay(attempt, options.policy);
      options.onRetry?.(err, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
