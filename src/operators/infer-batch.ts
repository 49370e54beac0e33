import { concatMap, type OperatorFunction } from 'rxjs';
import type { ActiveModel } from '../models/active-model';
import type { ModelInput, Scored } from './model-input';

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
  return concatMap(async (batch) => {
    const model = current();
    const size = batch[0].data.length;
    const x = new Float32Array(batch.length * size);
    batch.forEach((input, i) => x.set(input.data, i * size));
    const started = process.hrtime.bigint();
    if (outputs) {
      const out = await model.scorer.scoreWithOutputs(x, batch.length);
      observe?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      const k = out.latentSize;
      return batch.map((input, i): Scored<F> => ({
        key: input.key,
        data: input.data,
        last: input.last,
        covered: input.covered,
        partial: input.partial,
        score: out.scores[i]!,
        contributions: out.top[i]!,
        modelVersion: model.version,
        reconstruction: out.reconstruction.subarray(i * size, (i + 1) * size),
        latent: out.latent.subarray(i * k, (i + 1) * k),
      }));
    }
    const { scores, top } = await model.scorer.score(x, batch.length);
    observe?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
    // Fields spelled out, not spread: `{ ...input }` per frame was a slow generic copy (bench hotpath).
    return batch.map((input, i): Scored<F> => ({
      key: input.key,
      data: input.data,
      last: input.last,
      covered: input.covered,
      partial: input.partial,
      score: scores[i]!,
      contributions: top[i]!,
      modelVersion: model.version,
    }));
  });
}
