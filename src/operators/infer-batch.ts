import { concatMap, type OperatorFunction } from 'rxjs';
import type { ActiveModel } from '../inference/active-model';
import { SpareArray } from '../inference/spare-array';
import type { ModelInput, Scored, Contribution } from '../core/model-input';

/**
 * Scores each batch with the model that is current when the batch starts: `current()` is
 * read once per batch, so a model swap takes effect between batches, never inside one.
 * Batches are scored one after the other, in order; the inputs of a batch go to the engine
 * as one row-major array. With `outputs`, each scored input also carries its reconstruction
 * and latent vector from the same forward pass (views into the batch's arrays).
 *
 * @example batches$.pipe(inferBatch(() => models.current, (n, s) => metrics.observe(n, s)))
 */
export function inferBatch<F>(
  current: () => Pick<ActiveModel, 'version' | 'scorer'>,
  observe?: (batchSize: number, seconds: number) => void,
  outputs = false,
): OperatorFunction<ModelInput<F>[], Scored<F>[]> {
  // The batch's input array is needed only while it is scored: reused from batch to batch
  // while batches have the same length (a full batch, the usual case at speed).
  const spare = new SpareArray();
  return concatMap(async (batch) => {
    const model = current();
    const size = batch[0].data.length;
    const x = spare.take(batch.length * size);
    for (let i = 0; i < batch.length; i++) x.set(batch[i]!.data, i * size);
    try {
      return await scoreInto(model, batch, x, size);
    } finally {
      spare.give(x);
    }
  });

  async function scoreInto(
    model: Pick<ActiveModel, 'version' | 'scorer'>,
    batch: ModelInput<F>[],
    x: Float32Array,
    size: number,
  ): Promise<Scored<F>[]> {
    const started = process.hrtime.bigint();
    if (outputs) {
      const out = await model.scorer.scoreWithOutputs(x, batch.length);
      observe?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      const k = out.latentSize;
      return batch.map((input, i) =>
        scored(
          input,
          out.scores[i]!,
          out.top[i]!,
          model.version,
          out.reconstruction.subarray(i * size, (i + 1) * size),
          out.latent.subarray(i * k, (i + 1) * k),
        ),
      );
    }
    const { scores, top } = await model.scorer.score(x, batch.length);
    observe?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
    return batch.map((input, i) => scored(input, scores[i]!, top[i]!, model.version));
  }
}

/** A scored input; fields spelled out, not spread: `{ ...input }` is a slow generic copy per frame. */
function scored<F>(
  input: ModelInput<F>,
  score: number,
  contributions: Contribution[],
  modelVersion: string,
  reconstruction?: Float32Array,
  latent?: Float32Array,
): Scored<F> {
  return {
    key: input.key,
    data: input.data,
    last: input.last,
    covered: input.covered,
    partial: input.partial,
    score,
    contributions,
    modelVersion,
    reconstruction,
    latent,
  };
}
