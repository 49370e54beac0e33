import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AeError, ErrorCodes } from '../errors';
import { readIdxFile } from '../io/idx-file';
import type { Architecture } from '../models/architecture';
import { Autoencoder } from '../models/autoencoder';
import { initBackend, type BackendName } from '../models/backend';
import { createOnnxEngine } from '../models/onnx-engine';
import { createTfjsEngine } from '../models/tfjs-engine';
import type { InferenceEngine } from '../models/inference-engine';
import { fitRange, normalize } from '../models/normalization';
import { exportOnnx } from '../models/onnx-export';
import { type ContributionLayout, type ErrorKind, layoutOf, scoreBatch } from '../models/scoring';
import { type EpochReport, trainAutoencoder } from '../models/trainer';
import { auroc } from './auroc';

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
  seed: number;
  onEpoch?: (cls: number, report: EpochReport) => void;
  onClass?: (result: ClassResult) => void;
}

export interface ClassResult {
  cls: number;
  /** AUROC of the frame score (mean reconstruction error): the headline figure. */
  auroc: number;
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
): Promise<{ mean: Float32Array; worstRegion: Float32Array }> {
  const size = x.length / n;
  const mean = new Float32Array(n);
  const worstRegion = new Float32Array(n);
  const batch = 256;
  for (let from = 0; from < n; from += batch) {
    const to = Math.min(n, from + batch);
    const xb = x.subarray(from * size, to * size);
    const y = await engine.reconstruct(xb, to - from);
    const s = scoreBatch(xb, y, to - from, layout, error, 1);
    mean.set(s.scores, from);
    s.top.forEach((t, i) => (worstRegion[from + i] = t[0]?.error ?? 0));
  }
  return { mean, worstRegion };
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
    const ae = Autoencoder.create(arch, norm, opts.seed + cls);
    const t0 = performance.now();
    const result = await trainAutoencoder(ae, x, subset.count, {
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      learningRate: opts.learningRate,
      validation: 0.1,
      patience: opts.patience,
      seed: opts.seed + cls,
      denoise: opts.denoise,
      onEpoch: (r) => opts.onEpoch?.(cls, r),
    });
    const trainSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    let engine: InferenceEngine;
    try {
      engine = await createOnnxEngine(exportOnnx(ae.model), ae.inputShape);
      scoringEngine = 'onnx';
    } catch {
      engine = await createTfjsEngine(ae);
      scoringEngine = 'tfjs';
    }
    const testX = normalize(norm, test.images);
    const scores = await scoreAll(engine, testX, test.count, layoutOf(arch, 7), opts.error);
    await engine.dispose();
    ae.dispose();
    const positive = Array.from(test.labels, (l) => l !== cls);
    const row: ClassResult = {
      cls,
      auroc: auroc(scores.mean, positive),
      aurocWorstRegion: auroc(scores.worstRegion, positive),
      trainImages: subset.count,
      epochs: result.epochs,
      valLoss: result.valLoss,
      trainSeconds,
      trainSamplesPerSecond: result.samplesPerSecond,
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
      seed: opts.seed,
    },
    classes: results,
    meanAuroc: results.reduce((a, r) => a + r.auroc, 0) / results.length,
    meanAurocWorstRegion: results.reduce((a, r) => a + r.aurocWorstRegion, 0) / results.length,
    totalSeconds: (performance.now() - started) / 1000,
    createdAt: new Date().toISOString(),
  };
}
