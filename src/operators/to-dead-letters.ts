import { filter, mergeMap, of, type OperatorFunction, EMPTY, from } from 'rxjs';
import type { DlqSink } from '../io/dlq-sink';
import type { Accepted, Outcome } from '../io/kafka-record';

/**
 * Routes failed outcomes to the dead-letter sink and passes the good ones on. A failed
 * record is acked once its dead letter is acked by the broker, so its offset can be
 * committed: it is never lost and never blocks its partition. If the DLQ write itself
 * fails (AE_ERR_KAFKA) the stream errors: an infrastructure fault, for the restart policy.
 *
 * @example
 * records$.pipe(decodeRecords(codec), validateFrames(frame), toDeadLetters(dlq), ...)
 */
export function toDeadLetters<T>(
  dlq: DlqSink,
  options: { concurrency?: number } = {},
): OperatorFunction<Outcome<T>, Accepted<T>> {
  return (source) =>
    source.pipe(
      mergeMap((outcome) => {
        if (outcome.ok) return of(outcome);
        return from(dlq.send(outcome.record, outcome.error).then(() => outcome.record.ack())).pipe(
          mergeMap(() => EMPTY),
        );
      }, options.concurrency ?? 10_000),
      filter((o): o is Accepted<T> => o.ok),
    );
}
