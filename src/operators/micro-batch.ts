import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { MicroBatchConfig } from './micro-batch-config';

/**
 * Groups values into batches for inference: a batch closes as soon as it holds `maxSize`
 * values, or when its oldest value has waited `maxWaitMs`, whichever comes first. Unlike
 * `bufferTime`, the clock starts with a batch's first value, so an idle stream emits
 * nothing and a lone value never waits longer than `maxWaitMs`. On completion the open
 * batch is flushed; on error it is dropped with the stream (its values were never acked,
 * so they are read again after the restart).
 *
 * `closed` is called as each batch closes, before it is emitted (and once on subscribe), so
 * whatever makes the values can start the next batch's storage.
 *
 * @example frames$.pipe(microBatch({ maxSize: 256, maxWaitMs: 20 })) // Observable<Frame[]>
 */
export function microBatch<T>(
  config: MicroBatchConfig,
  scheduler: SchedulerLike = asyncScheduler,
  closed?: () => void,
): OperatorFunction<T, T[]> {
  const { maxSize, maxWaitMs } = config;
  if (!Number.isInteger(maxSize) || maxSize < 1) {
    throw new RangeError(`microBatch: maxSize must be an integer >= 1, got ${maxSize}`);
  }
  if (!(maxWaitMs >= 0)) {
    throw new RangeError(`microBatch: maxWaitMs must be >= 0, got ${maxWaitMs}`);
  }
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let batch: T[] = [];
      let timer: Subscription | null = null;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = null;
        if (batch.length === 0) return;
        const full = batch;
        batch = [];
        closed?.();
        subscriber.next(full);
      };

      closed?.();
      const subscription = source.subscribe({
        next(value) {
          batch.push(value);
          if (batch.length >= maxSize) {
            flush();
          } else if (timer === null) {
            timer = scheduler.schedule(flush, maxWaitMs);
          }
        },
        error(err) {
          timer?.unsubscribe();
          batch = [];
          subscriber.error(err);
        },
        complete() {
          flush();
          subscriber.complete();
        },
      });

      return () => {
        timer?.unsubscribe();
        batch = [];
        subscription.unsubscribe();
      };
    });
}
