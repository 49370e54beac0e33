import { defer, map, mergeMap, type OperatorFunction } from 'rxjs';
import type { BatchSink, Judged } from '../core/model-input';

/** What a batch leaves of its sources' state: taken when it is written, kept when it is acked. */
export interface BatchState<F, C> {
  capture(batch: readonly Judged<F>[]): C;
  acked(captured: C): void;
}

/**
 * Writes each judged batch to every sink at once and, only when all of them have
 * acknowledged, acks every record the batch covers (so their offsets can be committed:
 * at-least-once). A sink that fails ends the stream with its error: the records stay
 * unacked and are read again after the restart. Emits each batch once it is acked.
 *
 * Up to `maxInFlight` batches are being written at once (their writes start in batch
 * order, so a sink sees them in order), while acks and emissions stay in batch order: a
 * batch is acked only after every earlier batch was, and never after an earlier one failed.
 * Many batches in flight keep sink round trips from bounding the detector and let a fast
 * sink (the events) run ahead of a slow one (InfluxDB); the records in flight are bounded by
 * the source's `maxInFlight` (and the InfluxSink's `maxBuffered`). README, Performance.
 *
 * With `state`, the sources' state after each batch is captured as the batch is handed to
 * the sinks and handed back to it once they acknowledged, before the records are acked: a
 * commit (which writes the state first) never covers a frame whose state is not kept.
 *
 * @example judged$.pipe(writeAndAck([eventsSink, scoresSink]))
 */
export function writeAndAck<F>(
  sinks: readonly BatchSink<F>[],
  maxInFlight = 256,
  state?: BatchState<F, unknown>,
): OperatorFunction<Judged<F>[], Judged<F>[]> {
  return (judged$) =>
    defer(() => {
      // Per subscription: the promise of the last batch handed on.
      let previous: Promise<unknown> = Promise.resolve();
      return judged$.pipe(
        // Taken as the batch arrives, before a later batch is judged (mergeMap may hold it
        // back while maxInFlight batches are being written): the state its acks stand for,
        // with the sinks' own per-source decisions (event rules) made for it first.
        map((batch: Judged<F>[]) => {
          for (const sink of sinks) sink.prepare?.(batch);
          return { batch, captured: state?.capture(batch) };
        }),
        mergeMap(({ batch, captured }) => {
          const written = Promise.all(sinks.map((sink) => sink.write(batch)));
          const acked = Promise.all([written, previous]).then(() => {
            if (state) state.acked(captured);
            for (const judged of batch)
              for (const accepted of judged.covered) accepted.record.ack();
            return batch;
          });
          previous = acked;
          // After the stream ended on an earlier failure nobody listens to the later batches.
          acked.catch(() => undefined);
          return acked;
        }, maxInFlight),
      );
    });
}
