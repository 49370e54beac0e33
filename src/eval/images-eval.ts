import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AeError, ErrorCodes } from '../core/errors';
import { readIdxFile } from '../connectors/files/idx-file';
import type { Architecture } from '../training/architecture';
import { Autoencoder } from '../training/autoencoder';
import { initBackend, type BackendName } from '../training/backend';
import { createOnnxEngine } from '../inference/onnx-engine';
import { createTfjsEngine } from '../inference/tfjs-engine';
import type { InferenceEngine } from '../inference/engine';
import { fitRange, normalize } from '../training/normalization';
import { exportOnnx } from '../training/onnx-export';
import {
  type ContributionLayout,
  type ErrorKind,
  layoutOf,
  scoreBatch,
} from '../inference/scoring';
import { type EpochReport, type TrainResult, trainAutoencoder } from '../training/trainer';
import * as tf from '@tensorflow/tfjs';
import {
  combineZ,
  fitLatentGaussian,
  fitScoreStats,
  mahalanobis,
} from '../inference/latent-gaussian';
import { blurredErrors } from '../inference/blurred-error';
import { auroc } from './auroc';

/**
 * The frame scores an evaluation measures (every one on every class; `score` picks the
 * headline). All statistics they need are fitted on the training images of the class.
 * - `recon`: mean reconstruction error of the frame (MSE or MAE);
 * - `blur`: mean squared 3x3-box-blurred reconstruction error (local structure, forgives
 *   one-pixel edge misalignments);
 * - `latent`: squared Mahalanobis distance of the latent code to a Gaussian (shrunk
 *   covariance) fitted on the training codes;
 * - `recon+latent`, `blur+latent`: sums of the two z-scored scores (z statistics from the
 *   training images).
 */
export const IMAGE_SCORES = ['recon', 'blur', 'latent', 'recon+latent', 'blur+latent'] as const;
export type ImageScore = (typeof IMAGE_SCORES)[number];

/**
 * The one-class protocol on an image dataset in IDX files (MNIST, Fashion-MNIST): for
 * each class c, train a conv autoencoder on the training images of c only, score every
 * test image by reconstruction error, and measure how well the score separates the other
 * classes (anomalies) from c: AUROC per class, and the mean.
 */

export interface ImageEvalOptions {
  dataDir: string;
  classes: number[];
  filters: number[];
  latent: number;
  kernel: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  patience: number;
  /** At most this many training images per class (the budget); 0 = all. */
  maxTrain: number;
  denoise: number;
  error: ErrorKind;
  /** The headline score (see {@link IMAGE_SCORES}). */
  score: ImageScore;
  /** Models per class (different seeds) whose z-scored scores are averaged. */
  seeds: number;
  /** Radius of the box blur of the `blur` scores (1 = 3x3). */
  blurRadius: number;
  /** Weight of the z-scored latent distance in the combined scores (the error's weight is 1). */
  latentWeight: number;
  /** Covariance shrinkage of the latent Gaussian, in [0,1]. */
  shrinkage: number;
  seed: number;
  onEpoch?: (cls: number, report: EpochReport) => void;
  onClass?: (result: ClassResult) => void;
}

export interface ClassResult {
  cls: number;
  /** AUROC of the headline score (`score` of the options). */
  auroc: number;
  /** AUROC of every score in {@link IMAGE_SCORES}, for comparison. */
  aurocByScore: Record<ImageScore, number>;
  /** AUROC of the error of each image's worst 7x7 region (the top contribution), for comparison. */
  aurocWorstRegion: number;
  trainImages: number;
  epochs: number;
  valLoss: number;
  trainSeconds: number;
  trainSamplesPerSecond: number;
  scoreSeconds: number;
}

export interface ImageEvalReport {
  dataset: string;
  protocol: string;
  backend: BackendName;
  scoringEngine: string;
  architecture: Omit<Extract<Architecture, { kind: 'conv-ae' }>, 'kind'>;
  budget: Record<string, number | string>;
  classes: ClassResult[];
  meanAuroc: number;
  meanAurocByScore: Record<ImageScore, number>;
  meanAurocWorstRegion: number;
  totalSeconds: number;
  createdAt: string;
}

interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

function findFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new AeError(
    ErrorCodes.DATA_INVALID,
    `${dir} has no ${stem}(.gz) (expected the four IDX files of MNIST layout)`,
  );
}

/** Reads `<prefix>-images-idx3-ubyte(.gz)` and its labels from an MNIST-layout folder. */
export function readSplit(dir: string, prefix: 'train' | 't10k'): Split {
  const img = readIdxFile(findFile(dir, `${prefix}-images-idx3-ubyte`));
  const lab = readIdxFile(findFile(dir, `${prefix}-labels-idx1-ubyte`));
  const [count, height, width] = img.shape as [number, number, number];
  if (img.shape.length !== 3 || lab.shape[0] !== count) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${dir}: ${prefix} images [${img.shape.join(', ')}] and labels [${lab.shape.join(', ')}] do not match`,
    );
  }
  return { images: img.data, labels: lab.data, count, height, width };
}

function selectClass(split: Split, cls: number, max: number): { data: Uint8Array; count: number } {
  const size = split.height * split.width;
  const idx: number[] = [];
  for (let i = 0; i < split.count && (max <= 0 || idx.length < max); i++) {
    if (split.labels[i] === cls) idx.push(i);
  }
  const data = new Uint8Array(idx.length * size);
  idx.forEach((src, j) => data.set(split.images.subarray(src * size, (src + 1) * size), j * size));
  return { data, count: idx.length };
}

/** Frame scores (mean error) and the error of each frame's worst region. */
async function scoreAll(
  engine: InferenceEngine,
  x: Float32Array,
  n: number,
  layout: ContributionLayout,
  error: ErrorKind,
  height: number,
  width: number,
  blurRadius: number,
): Promise<{ mean: Float32Array; worstRegion: Float32Array; blur: Float32Array }> {
  const size = x.length / n;
  const mean = new Float32Array(n);
  const worstRegion = new Float32Array(n);
  const blur = new Float32Array(n);
  const batch = 256;
  for (let from = 0; from < n; from += batch) {
    const to = Math.min(n, from + batch);
    const xb = x.subarray(from * size, to * size);
    const y = await engine.reconstruct(xb, to - from);
    const s = scoreBatch(xb, y, to - from, layout, error, 1);
    mean.set(s.scores, from);
    s.top.forEach((t, i) => (worstRegion[from + i] = t[0]?.error ?? 0));
    blur.set(blurredErrors(xb, y, to - from, height, width, blurRadius), from);
  }
  return { mean, worstRegion, blur };
}

/** Latent codes [n, latent] of normalized images, in batches (tfjs, inside tf.tidy). */
function encodeAll(ae: Autoencoder, x: Float32Array, n: number, latent: number): Float32Array {
  const size = x.length / n;
  const out = new Float32Array(n * latent);
  const batch = 256;
  for (let from = 0; from < n; from += batch) {
    const to = Math.min(n, from + batch);
    const codes = tf.tidy(() =>
      ae.encode(tf.tensor(x.subarray(from * size, to * size), [to - from, ...ae.inputShape])),
    );
    out.set(codes.dataSync() as Float32Array, from * latent);
    codes.dispose();
  }
  return out;
}

/** Every score of {@link IMAGE_SCORES} for the test images, fitted on the training images. */
function allScores(
  train: { recon: Float32Array; blur: Float32Array; codes: Float32Array; n: number },
  test: { recon: Float32Array; blur: Float32Array; codes: Float32Array; n: number },
  latent: number,
  shrinkage: number,
  latentWeight: number,
): { train: Record<ImageScore, Float32Array>; test: Record<ImageScore, Float32Array> } {
  const g = fitLatentGaussian(train.codes, train.n, latent, shrinkage);
  const trainLatent = mahalanobis(g, train.codes, train.n);
  const testLatent = mahalanobis(g, test.codes, test.n);
  const zr = fitScoreStats(train.recon);
  const zb = fitScoreStats(train.blur);
  const zl = fitScoreStats(trainLatent);
  // Dividing the std by the weight multiplies the latent z-score by it.
  zl.std /= Math.max(latentWeight, 1e-12);
  const scores = (recon: Float32Array, blur: Float32Array, lat: Float32Array) => ({
    recon,
    blur,
    latent: lat,
    'recon+latent': combineZ([recon, lat], [zr, zl]),
    'blur+latent': combineZ([blur, lat], [zb, zl]),
  });
  return {
    train: scores(train.recon, train.blur, trainLatent),
    test: scores(test.recon, test.blur, testLatent),
  };
}

/**
 * Runs the one-class protocol and returns the per-class table.
 *
 * @example
 * const report = await evaluateImages({ dataDir: '../shared/datasets/mnist', classes: [0, 1], ...defaults });
 */
export async function evaluateImages(opts: ImageEvalOptions): Promise<ImageEvalReport> {
  const started = performance.now();
  const backend = await initBackend();
  const train = readSplit(opts.dataDir, 'train');
  const test = readSplit(opts.dataDir, 't10k');
  if (train.height !== test.height || train.width !== test.width) {
    throw new AeError(ErrorCodes.DATA_INVALID, 'train and test images differ in size');
  }
  const arch: Extract<Architecture, { kind: 'conv-ae' }> = {
    kind: 'conv-ae',
    height: test.height,
    width: test.width,
    channels: 1,
    filters: opts.filters,
    latent: opts.latent,
    kernel: opts.kernel,
  };
  const results: ClassResult[] = [];
  let scoringEngine = 'tfjs';
  for (const cls of opts.classes) {
    const subset = selectClass(train, cls, opts.maxTrain);
    if (subset.count < 10)
      throw new AeError(
        ErrorCodes.DATA_INVALID,
        `class ${cls} has ${subset.count} training images`,
      );
    const norm = fitRange(subset.data);
    const x = normalize(norm, subset.data);
    const testX = normalize(norm, test.images);
    const layout = layoutOf(arch, 7);
    // Ensemble: each model's scores are z-scored with its own training-image statistics,
    // then averaged over the models (a sum, same ranking).
    const ensemble = Object.fromEntries(
      IMAGE_SCORES.map((k) => [k, new Float32Array(test.count)]),
    ) as Record<ImageScore, Float32Array>;
    let worstRegion: Float32Array = new Float32Array(test.count);
    let result: TrainResult | undefined;
    let trainSeconds = 0;
    const t1 = performance.now();
    for (let m = 0; m < opts.seeds; m++) {
      const seed = opts.seed + cls + 1000 * m;
      const ae = Autoencoder.create(arch, norm, seed);
      const t0 = performance.now();
      result = await trainAutoencoder(ae, x, subset.count, {
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        learningRate: opts.learningRate,
        validation: 0.1,
        patience: opts.patience,
        seed,
        denoise: opts.denoise,
        onEpoch: (r) => opts.onEpoch?.(cls, r),
      });
      trainSeconds += (performance.now() - t0) / 1000;
      let engine: InferenceEngine;
      try {
        engine = await createOnnxEngine(exportOnnx(ae.model), ae.inputShape);
        scoringEngine = 'onnx';
      } catch {
        engine = await createTfjsEngine(ae);
        scoringEngine = 'tfjs';
      }
      const geometry = [opts.error, test.height, test.width, opts.blurRadius] as const;
      const scores = await scoreAll(engine, testX, test.count, layout, ...geometry);
      const trainScores = await scoreAll(engine, x, subset.count, layout, ...geometry);
      await engine.dispose();
      if (m === 0) worstRegion = scores.worstRegion;
      const both = allScores(
        {
          recon: trainScores.mean,
          blur: trainScores.blur,
          codes: encodeAll(ae, x, subset.count, opts.latent),
          n: subset.count,
        },
        {
          recon: scores.mean,
          blur: scores.blur,
          codes: encodeAll(ae, testX, test.count, opts.latent),
          n: test.count,
        },
        opts.latent,
        opts.shrinkage,
        opts.latentWeight,
      );
      ae.dispose();
      for (const k of IMAGE_SCORES) {
        const z = combineZ([both.test[k]], [fitScoreStats(both.train[k])]);
        const acc = ensemble[k];
        for (let i = 0; i < z.length; i++) acc[i]! += z[i]!;
      }
    }
    const positive = Array.from(test.labels, (l) => l !== cls);
    const aurocByScore = Object.fromEntries(
      IMAGE_SCORES.map((k) => [k, auroc(ensemble[k], positive)]),
    ) as Record<ImageScore, number>;
    const row: ClassResult = {
      cls,
      auroc: aurocByScore[opts.score],
      aurocByScore,
      aurocWorstRegion: auroc(worstRegion, positive),
      trainImages: subset.count,
      epochs: result?.epochs ?? 0,
      valLoss: result?.valLoss ?? NaN,
      trainSeconds,
      trainSamplesPerSecond: result?.samplesPerSecond ?? 0,
      scoreSeconds: (performance.now() - t1) / 1000,
    };
    results.push(row);
    opts.onClass?.(row);
  }
  const { kind: _kind, ...archRest } = arch;
  return {
    dataset: opts.dataDir,
    protocol:
      'one-class: train on one class of the training set, score the whole test set, AUROC of other classes vs this class',
    backend,
    scoringEngine,
    architecture: archRest,
    budget: {
      epochs: opts.epochs,
      maxTrainPerClass: opts.maxTrain || 'all',
      batchSize: opts.batchSize,
      learningRate: opts.learningRate,
      patience: opts.patience,
      denoise: opts.denoise,
      error: opts.error,
      score: opts.score,
      shrinkage: opts.shrinkage,
      latentWeight: opts.latentWeight,
      blurRadius: opts.blurRadius,
      seeds: opts.seeds,
      seed: opts.seed,
    },
    classes: results,
    meanAuroc: results.reduce((a, r) => a + r.auroc, 0) / results.length,
    meanAurocByScore: Object.fromEntries(
      IMAGE_SCORES.map((k) => [
        k,
        results.reduce((a, r) => a + r.aurocByScore[k], 0) / results.length,
      ]),
    ) as Record<ImageScore, number>,
    meanAurocWorstRegion: results.reduce((a, r) => a + r.aurocWorstRegion, 0) / results.length,
    totalSeconds: (performance.now() - started) / 1000,
    createdAt: new Date().toISOString(),
  };
}
