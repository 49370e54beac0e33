import * as tf from '@tensorflow/tfjs';
import { AeError, ErrorCodes } from '../core/errors';
import { inputSizeOf } from './architecture';
import type { Autoencoder } from './autoencoder';
import type { DenoiseConfig, ModelConfig, TrainConfig } from './model-config';
import { seededRandom } from '../core/seeded-random';

/** What each epoch reports (the CLI's progress bar shows it). */
export interface EpochReport {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss: number;
  samplesPerSecond: number;
}

export interface TrainResult {
  /** Epochs run (≤ `epochs` when stopped early). */
  epochs: number;
  bestEpoch: number;
  /** Training and validation loss (MSE on normalized data) of the best epoch, whose weights are kept. */
  loss: number;
  valLoss: number;
  stoppedEarly: boolean;
  trainCount: number;
  valCount: number;
  /** Indices of the samples held back for validation (never trained on). */
  heldBack: Uint32Array;
  samplesPerSecond: number;
  history: EpochReport[];
}

export interface TrainOptions extends TrainConfig {
  /**
   * How many neighbours on each side share readings with a sample (sliding windows:
   * ceil(window / stride) − 1; 0 for independent samples such as images). Above 0 the
   * held-back share is the last samples in order and the `overlap` samples before it are
   * not trained on, so no held-back window shares a reading with a trained one and its
   * errors are those of unseen data.
   */
  overlap?: number;
  onEpoch?: (report: EpochReport) => void;
  /** Denoising training (`model.denoise`); takes precedence over the plain `denoise` std. */
  corruption?: DenoiseConfig;
}

/**
 * The training options of a pipeline's model section: `model.train` plus `model.denoise`.
 *
 * @example trainAutoencoder(ae, x, n, { ...trainOptionsOf(config.model), epochs: 5 })
 */
export function trainOptionsOf(model: ModelConfig): TrainOptions {
  return { ...model.train, ...(model.denoise ? { corruption: model.denoise } : {}) };
}

/**
 * Epochs a run of `trainCount` training samples aims for: `epochs`, or fewer when `steps`
 * batches are reached sooner (the gradient steps a model needs do not grow with the data).
 *
 * @example plannedEpochs({ epochs: 200, steps: 3000, batchSize: 64 }, 22_000) // 9
 */
export function plannedEpochs(
  opts: Pick<TrainConfig, 'epochs' | 'steps' | 'batchSize'>,
  trainCount: number,
): number {
  if (opts.steps === undefined) return opts.epochs;
  const batches = Math.max(1, Math.ceil(trainCount / opts.batchSize));
  return Math.min(opts.epochs, Math.ceil(opts.steps / batches));
}

/**
 * Samples of `count` trained on: the `validation` share (at least one) is held back, and
 * with overlapping windows (`overlap`, see TrainOptions) so are the windows just before it.
 */
export function trainCountOf(count: number, validation: number, overlap = 0): number {
  const valCount = Math.max(1, Math.round(count * validation));
  return count - valCount - Math.max(0, Math.min(overlap, count - valCount - 1));
}

/** The corruption training applies: `corruption`, else Gaussian noise of std `denoise`. */
function corruptionOf(opts: TrainOptions): DenoiseConfig | null {
  if (opts.corruption) return opts.corruption;
  return opts.denoise > 0 ? { noise: 'gaussian', level: opts.denoise } : null;
}

/**
 * A corrupted copy of a clean batch (inside the caller's tidy): Gaussian noise of std
 * `level`, or a random share `level` of the values set to 0. Clipped to [0, 1] for images.
 */
export function corrupt(
  clean: tf.Tensor,
  corruption: DenoiseConfig,
  seed: number,
  clip: boolean,
): tf.Tensor {
  let input: tf.Tensor;
  if (corruption.noise === 'gaussian') {
    input = tf.add(clean, tf.randomNormal(clean.shape, 0, corruption.level, 'float32', seed));
  } else {
    const keep = tf.greaterEqual(
      tf.randomUniform(clean.shape, 0, 1, 'float32', seed),
      corruption.level,
    );
    input = tf.mul(clean, tf.cast(keep, 'float32'));
  }
  return clip ? tf.clipByValue(input, 0, 1) : input;
}

function shuffle(indices: Uint32Array, random: () => number): void {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = indices[i] as number;
    indices[i] = indices[j] as number;
    indices[j] = t;
  }
}

/** The samples `idx[from..to)` of row-major `data` (`size` values each), copied together. */
export function gather(
  data: Float32Array,
  size: number,
  idx: Uint32Array,
  from: number,
  to: number,
): Float32Array {
  const out = new Float32Array((to - from) * size);
  for (let i = from; i < to; i++) {
    const src = (idx[i] as number) * size;
    out.set(data.subarray(src, src + size), (i - from) * size);
  }
  return out;
}

/**
 * Trains an autoencoder on normalized samples (row-major, `count` × input size) with Adam
 * on MSE, holding back a seeded random `validation` share (the last share, past a gap, for
 * overlapping windows: `overlap`); stops when the validation
 * loss has not improved for `patience` epochs and keeps the best epoch's weights.
 * With `corruption` (`model.denoise`: Gaussian noise or masking) or `denoise` > 0 (Gaussian
 * noise of that std) each input is corrupted (clipped to [0, 1] for images) while the clean
 * input stays the target: a denoising autoencoder.
 * Seeded shuffling, noise and initialisation make a run reproducible on one backend.
 *
 * @example
 * const result = await trainAutoencoder(ae, normalized, 6000, { ...config.model.train, epochs: 10 });
 */
export async function trainAutoencoder(
  ae: Autoencoder,
  data: Float32Array,
  count: number,
  opts: TrainOptions,
): Promise<TrainResult> {
  const size = inputSizeOf(ae.architecture);
  if (data.length !== count * size || count < 2) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `training needs at least 2 samples of ${size} values; got ${data.length} values for ${count} samples`,
    );
  }
  const random = seededRandom(opts.seed);
  const order = new Uint32Array(count).map((_, i) => i);
  const overlap = opts.overlap ?? 0;
  if (overlap === 0) shuffle(order, random);
  const trainCount = trainCountOf(count, opts.validation, overlap);
  const valCount = Math.max(1, Math.round(count * opts.validation));
  if (trainCount < 1) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `training needs at least 2 samples; ${count} leave none to train on after holding back ${valCount}`,
    );
  }
  const epochs = plannedEpochs(opts, trainCount);
  const trainIdx = order.slice(0, trainCount);
  const heldBack = order.slice(count - valCount);
  const valData = gather(data, size, heldBack, 0, valCount);
  const shape = ae.inputShape;
  const clip = ae.architecture.kind === 'conv-ae';
  const corruption = corruptionOf(opts);
  const optimizer = tf.train.adam(opts.learningRate);
  const vars = ae.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const history: EpochReport[] = [];
  let best = { epoch: 0, loss: Infinity, valLoss: Infinity, weights: [] as tf.Tensor[] };
  let step = 0;
  let since = 0;
  let trainedSamples = 0;
  let trainingMs = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      shuffle(trainIdx, random);
      const started = performance.now();
      let lossSum = 0;
      for (let from = 0; from < trainCount; from += opts.batchSize) {
        const to = Math.min(trainCount, from + opts.batchSize);
        const batch = gather(data, size, trainIdx, from, to);
        const noiseSeed = opts.seed * 1000003 + step++;
        const cost = tf.tidy(() => {
          const clean = tf.tensor(batch, [to - from, ...shape]);
          const input = corruption ? corrupt(clean, corruption, noiseSeed, clip) : clean;
          return optimizer.minimize(
            () =>
              tf.losses.meanSquaredError(
                clean,
                ae.model.apply(input, { training: true }) as tf.Tensor,
              ),
            true,
            vars,
          ) as tf.Scalar;
        });
        lossSum += (cost.dataSync()[0] as number) * (to - from);
        cost.dispose();
      }
      const elapsed = performance.now() - started;
      trainingMs += elapsed;
      trainedSamples += trainCount;
      const loss = lossSum / trainCount;
      const valLoss = reconstructionLoss(ae, valData, valCount);
      const report: EpochReport = {
        epoch,
        epochs,
        loss,
        valLoss,
        samplesPerSecond: trainCount / (elapsed / 1000),
      };
      history.push(report);
      opts.onEpoch?.(report);
      if (!Number.isFinite(loss)) {
        throw new AeError(
          ErrorCodes.DATA_INVALID,
          `training diverged at epoch ${epoch} (loss ${loss}); lower model.train.learningRate`,
        );
      }
      if (valLoss < best.valLoss) {
        best.weights.forEach((w) => w.dispose());
        best = { epoch, loss, valLoss, weights: ae.model.getWeights().map((w) => w.clone()) };
        since = 0;
      } else if (++since >= opts.patience) {
        break;
      }
      // Let timers and progress output run between epochs.
      await new Promise((r) => setImmediate(r));
    }
    if (best.weights.length > 0) ae.model.setWeights(best.weights);
  } finally {
    best.weights.forEach((w) => w.dispose());
    optimizer.dispose();
  }
  return {
    epochs: history.length,
    bestEpoch: best.epoch,
    loss: best.loss,
    valLoss: best.valLoss,
    stoppedEarly: history.length < epochs,
    trainCount,
    valCount,
    heldBack,
    samplesPerSecond: trainedSamples / (trainingMs / 1000),
    history,
  };
}

/** Reconstructions of normalized samples (row-major, `count` × input size), in batches. */
export function reconstructSamples(
  ae: Autoencoder,
  data: Float32Array,
  count: number,
  batch = 256,
): Float32Array {
  const size = inputSizeOf(ae.architecture);
  const out = new Float32Array(count * size);
  forEachBatch(ae, data, count, batch, (x, from) => {
    out.set(ae.reconstruct(x).dataSync() as Float32Array, from * size);
  });
  return out;
}

/** Mean squared reconstruction error over normalized samples, in batches. */
export function reconstructionLoss(
  ae: Autoencoder,
  data: Float32Array,
  count: number,
  batch = 256,
): number {
  let sum = 0;
  forEachBatch(ae, data, count, batch, (x) => {
    sum += tf.sum(tf.squaredDifference(x, ae.reconstruct(x))).dataSync()[0] as number;
  });
  return sum / (count * inputSizeOf(ae.architecture));
}

/** Calls `each` on every batch of samples as a tensor, with the index of its first sample; its tensors are freed after. */
function forEachBatch(
  ae: Autoencoder,
  data: Float32Array,
  count: number,
  batch: number,
  each: (x: tf.Tensor, from: number) => void,
): void {
  const size = inputSizeOf(ae.architecture);
  for (let from = 0; from < count; from += batch) {
    const to = Math.min(count, from + batch);
    tf.tidy(() =>
      each(tf.tensor(data.subarray(from * size, to * size), [to - from, ...ae.inputShape]), from),
    );
  }
}
