import * as tf from '@tensorflow/tfjs';
import { Autoencoder } from '../training/autoencoder';
import { fitRobust, normalize } from '../training/normalization';
import { trainAutoencoder } from '../training/trainer';
import { KSigmaThreshold } from '../thresholds/ksigma-threshold';
import { AnomalyLikelihood, SpatialAnomaly, type AnomalyLikelihoodArgs } from './likelihood-scorer';

export interface AutoencoderDetectorArgs {
  /** Rows per input window of the dense autoencoder. */
  window: number;
  /** Encoder widths, the last one the bottleneck (the decoder mirrors them). */
  hidden: number[];
  epochs: number;
  /** Epochs of each retraining (it continues from the current weights). */
  retrainEpochs: number;
  /** Rows between retrainings; each block is scored by the model trained before it. */
  retrainEvery: number;
  /** Windows judged normal kept for retraining (the most recent). */
  trainSize: number;
  seed: number;
  likelihood: AnomalyLikelihoodArgs;
}

/** Chosen on nab-dev: windows of 8, 16, 32, 64 rows scored 55.3, 55.4, 52.5, 52.3 (standard). */
export const defaultAutoencoderDetectorArgs: AutoencoderDetectorArgs = {
  window: 16,
  hidden: [8, 3],
  epochs: 30,
  retrainEpochs: 5,
  retrainEvery: 1000,
  trainSize: 3000,
  seed: 42,
  likelihood: { history: 5000, short: 1, suppress: 300 },
};

/**
 * aestream's autoencoder as a NAB detector, causal by construction: scaling is fitted and
 * the dense autoencoder trained on the probationary rows only; then the series is scored
 * block by block, each block with the model trained before it, and after each block the
 * model is retrained on the windows a k-sigma threshold on the reconstruction error judged
 * normal. The reconstruction error becomes a score through {@link AnomalyLikelihood}; a
 * value that breaks the range of all earlier ones ({@link SpatialAnomaly}) scores 1.
 * Returns the scores and the raw reconstruction errors (0 before the first full window).
 *
 * @example
 * const { scores } = await scoreWithAutoencoder(file.values, probationaryLength(n));
 */
export async function scoreWithAutoencoder(
  values: Float64Array,
  probation: number,
  args: AutoencoderDetectorArgs = defaultAutoencoderDetectorArgs,
): Promise<{ scores: Float64Array; errors: Float64Array }> {
  const n = values.length;
  const w = args.window;
  const scores = new Float64Array(n);
  const errors = new Float64Array(n);
  const first = Math.max(w, probation); // rows before are warm-up
  const norm = fitRobust(Float32Array.from(values.subarray(0, Math.max(first, 2))), 1);
  const x = normalize(norm, values);
  const windowAt = (end: number, into: Float32Array, offset: number) =>
    into.set(x.subarray(end - w + 1, end + 1), offset);
  const ae = Autoencoder.create(
    { kind: 'dense-ae', window: w, features: 1, hidden: args.hidden },
    norm,
    args.seed,
  );
  const trainOpts = {
    epochs: args.epochs,
    batchSize: 64,
    learningRate: 0.003,
    validation: 0.1,
    patience: 5,
    seed: args.seed,
    denoise: 0,
  };
  const train = async (ends: number[], epochs: number) => {
    if (ends.length < 10) return;
    const data = new Float32Array(ends.length * w);
    ends.forEach((e, k) => windowAt(e, data, k * w));
    await trainAutoencoder(ae, data, ends.length, { ...trainOpts, epochs });
  };
  let normal: number[] = [];
  for (let e = w - 1; e < first; e++) normal.push(e);
  await train(normal, args.epochs);

  const likelihood = new AnomalyLikelihood(args.likelihood);
  const spatial = new SpatialAnomaly();
  for (let i = 0; i < first; i++) spatial.check(values[i]!);
  const judge = new KSigmaThreshold({ k: 4, halfLife: 2000, calibration: 100 });
  for (let start = first; start < n; start += args.retrainEvery) {
    const end = Math.min(n, start + args.retrainEvery);
    const batch = new Float32Array((end - start) * w);
    for (let i = start; i < end; i++) windowAt(i, batch, (i - start) * w);
    const recon = tf.tidy(
      () => ae.reconstruct(tf.tensor2d(batch, [end - start, w])).dataSync() as Float32Array,
    );
    for (let i = start; i < end; i++) {
      let sum = 0;
      const o = (i - start) * w;
      for (let k = 0; k < w; k++) {
        const d = recon[o + k]! - batch[o + k]!;
        sum += d * d;
      }
      const err = sum / w;
      errors[i] = err;
      scores[i] = likelihood.update(err, spatial.check(values[i]!));
      if (judge.update(err).verdict !== 'anomaly') normal.push(i);
    }
    if (normal.length > args.trainSize) normal = normal.slice(normal.length - args.trainSize);
    if (end < n) await train(normal, args.retrainEpochs);
  }
  return { scores, errors };
}

/** Runs {@link scoreWithAutoencoder} over every file; `onFile` hears about each one finished. */
export async function runAutoencoderOnCorpus(
  files: ReadonlyArray<{ name: string; values: Float64Array }>,
  args: AutoencoderDetectorArgs = defaultAutoencoderDetectorArgs,
  onFile: (name: string, seconds: number) => void = () => {},
): Promise<Map<string, Float64Array>> {
  const output = new Map<string, Float64Array>();
  for (const file of files) {
    const started = Date.now();
    const n = file.values.length;
    const { scores } = await scoreWithAutoencoder(
      file.values,
      Math.min(Math.floor(0.15 * n), 750),
      args,
    );
    output.set(file.name, scores);
    onFile(file.name, (Date.now() - started) / 1000);
  }
  return output;
}
