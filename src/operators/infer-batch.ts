import { concatMap, type OperatorFunction } from 'rxjs';
import type { ActiveModel } from '../inference/active-model';
import type { BatchScores } from '../inference/scoring';
import { SpareArray } from '../inference/spare-array';
import {
  NO_CONTRIBUTIONS,
  type ModelInput,
  type Scored,
  type Contribution,
} from '../core/model-input';
import { batchTensor } from './sensor-windows';

/**
 * Scores each batch with the model that is current when the batch starts: `current()` is
 * read once per batch, so a model swap takes effect between batches, never inside one.
 * Batches are scored one after the other, in order; the inputs of a batch go to the engine
 * as one row-major array: the block the windows were written into when they lie back to back
 * (see SensorWindows.startBatch), else a copy (of the bytes, for RAW_U8 images). With `outputs`, each scored input also carries its reconstruction
 * and latent vector from the same forward pass (views into the batch's arrays). Inputs are
 * scored in place: the batch that comes out is the batch that went in, its inputs now Scored.
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
  let bytes = new Uint8Array(0);
  return concatMap(async (batch) => {
    const model = current();
    const size = batch[0].data.length;
    const inPlace = batchTensor(batch, size);
    if (inPlace !== null) return scoreInto(model, batch, inPlace, size);
    if (allBytes(batch)) {
      // RAW_U8 images: their bytes side by side, normalized straight into the model's
      // input by the scorer (no float copy of every pixel before that).
      if (bytes.length !== batch.length * size) bytes = new Uint8Array(batch.length * size);
      for (let i = 0; i < batch.length; i++) bytes.set(batch[i]!.data, i * size);
      return scoreInto(model, batch, bytes, size);
    }
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
    x: Float32Array | Uint8Array,
    size: number,
  ): Promise<Scored<F>[]> {
    const started = process.hrtime.bigint();
    const scored = batch as Scored<F>[];
    if (outputs) {
      const out = await model.scorer.scoreWithOutputs(x, batch.length);
      observe?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      setScores(scored, out, model.version);
      const k = out.latentSize;
      for (let i = 0; i < scored.length; i++) {
        const s = scored[i]!;
        s.reconstruction = out.reconstruction.subarray(i * size, (i + 1) * size);
        s.latent = out.latent.subarray(i * k, (i + 1) * k);
      }
      return scored;
    }
    const out = await model.scorer.score(x, batch.length);
    observe?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
    setScores(scored, out, model.version);
    return scored;
  }
}

/** Each input's score; its contributions stay with the batch (`contributionsOf`) when it keeps them. */
function setScores<F>(scored: Scored<F>[], out: BatchScores, version: string): void {
  const { scores, slots, newest } = out;
  for (let i = 0; i < scored.length; i++) {
    const s = scored[i]!;
    if (slots) {
      setScore(s, scores[i]!, NO_CONTRIBUTIONS, version, newest?.[i]);
      s.batchTop = slots;
      s.topAt = i;
    } else setScore(s, scores[i]!, out.top[i]!, version, newest?.[i]);
  }
}

/** True when every input of the batch is bytes (RAW_U8 pixels). */
function allBytes(batch: ReadonlyArray<{ data: Float32Array | Uint8Array }>): boolean {
  for (const input of batch) if (!(input.data instanceof Uint8Array)) return false;
  return true;
}

/**
 * Scores an input in place: it becomes the Scored record (no copy per frame). The inputs
 * of detectFlow are made with every field of a judged record already there
 * (`unjudged`), so these stores keep the object's shape.
 */
function setScore<F>(
  s: Scored<F>,
  score: number,
  contributions: Contribution[],
  modelVersion: string,
  newest = NaN,
): void {
  s.score = score;
  s.newest = newest;
  s.contributions = contributions;
  s.modelVersion = modelVersion;
}
