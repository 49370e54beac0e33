import {
  connect,
  filter,
  from,
  ignoreElements,
  merge,
  mergeMap,
  type OperatorFunction,
} from 'rxjs';
import type { DlqSink } from '../outputs/dlq-sink';
import type { Accepted, Outcome } from '../core/kafka-record';

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
  // Good outcomes pass straight through a filter (no Observable per record); only failed ones
  // take the async DLQ path. `connect` subscribes both branches before the source starts, so
  // a synchronous source loses nothing.
  return connect((shared) =>
    merge(
      shared.pipe(filter((o): o is Accepted<T> => o.ok)),
      shared.pipe(
        filter((o) => !o.ok),
        mergeMap(
          (outcome) =>
            from(
              dlq
                .send(outcome.record, (outcome as Extract<Outcome<T>, { ok: false }>).error)
                .then(() => outcome.record.ack()),
            ),
          options.concurrency ?? 10_000,
        ),
        ignoreElements(),
      ),
    ),
  );
}
