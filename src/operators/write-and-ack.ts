import { concatMap, type OperatorFunction } from 'rxjs';
import type { Judged } from './model-input';

/** One output of the detector: takes a judged batch, resolves when it is durably written. */
export interface BatchSink<F> {
  readonly name: string;
  write(batch: readonly Judged<F>[]): Promise<void>;
}

/**
 * Writes each judged batch to every sink at once and, only when all of them have
 * acknowledged, acks every record the batch covers (so their offsets can be committed:
 * at-least-once). A sink that fails ends the stream with its error: the records stay
 * unacked and are read again after the restart. Emits each batch once it is acked.
 *
 * @example judged$.pipe(writeAndAck([eventsSink, scoresSink]))
 */
export function writeAndAck<F>(
  sinks: readonly BatchSink<F>[],
): OperatorFunction<Judged<F>[], Judged<F>[]> {
  return concatMap(async (batch) => {
    await Promise.all(sinks.map((sink) => sink.write(batch)));
    for (const judged of batch) for (const accepted of judged.covered) accepted.record.ack();
    return batch;
  });
}
