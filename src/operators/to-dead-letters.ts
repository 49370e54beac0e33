import { from, mergeMap, Observable, Subject, type OperatorFunction } from 'rxjs';
import type { DlqSink } from '../outputs/dlq-sink';
import type { Accepted, Outcome } from '../core/kafka-record';

type Failed<T> = Extract<Outcome<T>, { ok: false }>;

/**
 * Routes failed outcomes to the dead-letter sink and passes the good ones on. A failed
 * record is acked once its dead letter is acked by the broker, so its offset can be
 * committed: it is never lost and never blocks its partition. If the DLQ write itself
 * fails (AE_ERR_KAFKA) the stream errors: an infrastructure fault, for the restart policy.
 * It completes when the input did and every dead letter is written.
 *
 * @example
 * records$.pipe(decodeRecords(codec), validateFrames(frame), toDeadLetters(dlq), ...)
 */
export function toDeadLetters<T>(
  dlq: DlqSink,
  options: { concurrency?: number } = {},
): OperatorFunction<Outcome<T>, Accepted<T>> {
  const concurrency = options.concurrency ?? 10_000;
  return (source) =>
    new Observable<Accepted<T>>((subscriber) => {
      // Good outcomes go straight on; only failed ones pass a Subject to the async DLQ path
      // (an rxjs Subject allocates per value, which every frame paid when both branches
      // shared one). The DLQ path is subscribed first, so a synchronous source loses nothing.
      const failed = new Subject<Failed<T>>();
      const dead = failed
        .pipe(
          mergeMap(
            (outcome) =>
              from(dlq.send(outcome.record, outcome.error).then(() => outcome.record.ack())),
            concurrency,
          ),
        )
        .subscribe({
          error: (err: unknown) => subscriber.error(err),
          complete: () => subscriber.complete(),
        });
      const input = source.subscribe({
        next: (outcome) => (outcome.ok ? subscriber.next(outcome) : failed.next(outcome)),
        error: (err: unknown) => subscriber.error(err),
        complete: () => failed.complete(),
      });
      return () => {
        input.unsubscribe();
        dead.unsubscribe();
      };
    });
}
