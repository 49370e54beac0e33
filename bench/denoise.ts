/**
 * Denoising and separability evaluation of the autoencoder's other two uses (issue 12),
 * each against a baseline measured in the same run:
 * - synthetic sensor windows with Gaussian noise: RMSE(denoised, clean) / RMSE(noisy, clean)
 *   of a denoising autoencoder (model.denoise) and of a plain one;
 * - Fashion-MNIST test images with Gaussian noise (clipped to [0, 1]): the same ratio for a
 *   denoising and a plain conv autoencoder trained on a subset of the training images;
 * - separability of the latent vectors: nearest-centroid accuracy (centroids from training
 *   codes) on the test images of two classes, next to the same classifier on raw pixels.
 *
 *   npm run bench:denoise -- [--data ../shared/datasets/fashion-mnist] [--train 10000]
 *     [--test 2000] [--epochs 10] [--noise 0.3] [--pairs 1-7,0-6,all] [--seed 1]
 *
 * Training uses a subset (--train, first images of the training file) and a bounded
 * number of epochs, so it runs in minutes on two shared cores. Writes
 * bench/results/denoise.json and prints a table.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  addGaussianNoise,
  nearestCentroidAccuracy,
  rmse,
  syntheticSignals,
} from '../src/eval/denoise-eval';
import { readIdxFile } from '../src/connectors/files/idx-file';
import type { Architecture } from '../src/training/architecture';
import { Autoencoder } from '../src/training/autoencoder';
import { initBackend } from '../src/training/backend';
import type { DenoiseConfig } from '../src/training/model-config';
import { createTfjsEngine } from '../src/inference/tfjs-engine';
import { trainAutoencoder } from '../src/training/trainer';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const dataDir = resolve(arg('data', '../shared/datasets/fashion-mnist'));
const trainCount = Number(arg('train', '10000'));
const testCount = Number(arg('test', '2000'));
const epochs = Number(arg('epochs', '10'));
const noise = Number(arg('noise', '0.3'));
const seed = Number(arg('seed', '1'));
// Class groups for the separability figures: "a-b" pairs, or "all" (the 10-class problem).
const groups = arg('pairs', '1-7,0-6,all')
  .split(',')
  .map((p) => (p === 'all' ? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] : p.split('-').map(Number)));
const CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

async function train(
  arch: Architecture,
  data: Float32Array,
  count: number,
  corruption: DenoiseConfig | null,
  opts: { epochs: number; batchSize: number; learningRate: number; patience?: number },
  runSeed = seed,
): Promise<{ ae: Autoencoder; seconds: number; epochs: number }> {
  const ae = Autoencoder.create(
    arch,
    arch.kind === 'conv-ae'
      ? { kind: 'range', min: 0, max: 1 }
      : { kind: 'robust', center: [0], scale: [1] },
    runSeed,
  );
  const started = performance.now();
  const result = await trainAutoencoder(ae, data, count, {
    ...opts,
    validation: 0.1,
    patience: 3,
    ...opts,
    seed: runSeed,
    denoise: 0,
    ...(corruption ? { corruption } : {}),
  });
  return { ae, seconds: (performance.now() - started) / 1000, epochs: result.epochs };
}

/** Reconstructions and latent vectors of `count` inputs, in batches, from one pass each. */
async function forward(
  ae: Autoencoder,
  x: Float32Array,
  count: number,
): Promise<{ y: Float32Array; z: Float32Array }> {
  const engine = await createTfjsEngine(ae);
  const size = x.length / count;
  const y = new Float32Array(x.length);
  const z = new Float32Array(count * ae.latentSize);
  for (let from = 0; from < count; from += 256) {
    const to = Math.min(count, from + 256);
    const out = await engine.run(x.subarray(from * size, to * size), to - from);
    y.set(out.reconstruction, from * size);
    z.set(out.latent, from * ae.latentSize);
  }
  return { y, z };
}

function subsetOf(
  x: Float32Array,
  labels: Uint8Array,
  count: number,
  dim: number,
  keep: number[],
): { x: Float32Array; labels: number[] } {
  const rows: number[] = [];
  for (let i = 0; i < count; i++) if (keep.includes(labels[i] as number)) rows.push(i);
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return { x: out, labels: rows.map((r) => labels[r] as number) };
}

async function main(): Promise<void> {
  const backend = await initBackend('auto');
  tf.env().set('PROD', true);
  const started = performance.now();

  // 1. Synthetic sensor windows (the unit test's setting, three seeds, plus the plain baseline).
  const window = 32;
  const sensorArch: Architecture = { kind: 'dense-ae', window, features: 1, hidden: [48, 8] };
  const sensorNoise = 0.5;
  const clean = syntheticSignals(1200, window, 11);
  const testClean = syntheticSignals(500, window, 99);
  const testNoisy = addGaussianNoise(testClean, sensorNoise, 5);
  const sensorOpts = { epochs: 30, batchSize: 32, learningRate: 0.004, patience: 30 };
  const sensorRuns: Record<string, number[]> = { plain: [], denoising: [] };
  for (const s of [1, 2, 3]) {
    for (const [name, corruption] of [
      ['plain', null],
      ['denoising', { noise: 'gaussian', level: sensorNoise }],
    ] as const) {
      const { ae } = await train(sensorArch, clean, 1200, corruption, sensorOpts, s);
      const { y } = await forward(ae, testNoisy, 500);
      sensorRuns[name]!.push(rmse(y, testClean) / rmse(testNoisy, testClean));
      ae.dispose();
    }
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const sensors = { plain: mean(sensorRuns.plain!), denoising: mean(sensorRuns.denoising!) };

  // 2. Fashion-MNIST: a subset of the training images (all classes), noisy test images.
  const images = readIdxFile(join(dataDir, 'train-images-idx3-ubyte.gz'));
  const labels = readIdxFile(join(dataDir, 'train-labels-idx1-ubyte.gz')).data;
  const testImages = readIdxFile(join(dataDir, 't10k-images-idx3-ubyte.gz'));
  const testLabels = readIdxFile(join(dataDir, 't10k-labels-idx1-ubyte.gz')).data;
  const px = 28 * 28;
  const x = Float32Array.from(images.data.subarray(0, trainCount * px), (v) => v / 255);
  const tx = Float32Array.from(testImages.data.subarray(0, testCount * px), (v) => v / 255);
  const noisy = addGaussianNoise(tx, noise, seed + 7, [0, 1]);
  const convArch: Architecture = {
    kind: 'conv-ae',
    height: 28,
    width: 28,
    channels: 1,
    filters: [16, 32],
    latent: 32,
    kernel: 3,
  };
  const imageOpts = { epochs, batchSize: 64, learningRate: 0.001 };
  const models: Record<
    string,
    { ratio: number; trainSeconds: number; epochs: number; separability: Record<string, number> }
  > = {};
  const rawSeparability: Record<string, number> = {};
  for (const [name, corruption] of [
    ['plain', null],
    ['denoising', { noise: 'gaussian', level: noise }],
  ] as const) {
    const t = await train(convArch, x, trainCount, corruption, imageOpts);
    const { y } = await forward(t.ae, noisy, testCount);
    const separability: Record<string, number> = {};
    // Codes of clean images: the latent output of the detector's normal operation.
    const trainCodes = (await forward(t.ae, x, trainCount)).z;
    const testCodes = (await forward(t.ae, tx, testCount)).z;
    for (const group of groups) {
      const key =
        group.length === 10 ? 'all 10 classes' : group.map((c) => CLASSES[c]).join(' vs ');
      const tr = subsetOf(trainCodes, labels, trainCount, 32, group);
      const te = subsetOf(testCodes, testLabels, testCount, 32, group);
      separability[key] = nearestCentroidAccuracy(tr.x, tr.labels, te.x, te.labels, 32);
      if (rawSeparability[key] === undefined) {
        const trp = subsetOf(x, labels, trainCount, px, group);
        const tep = subsetOf(tx, testLabels, testCount, px, group);
        rawSeparability[key] = nearestCentroidAccuracy(trp.x, trp.labels, tep.x, tep.labels, px);
      }
    }
    models[name] = {
      ratio: rmse(y, tx) / rmse(noisy, tx),
      trainSeconds: t.seconds,
      epochs: t.epochs,
      separability,
    };
    t.ae.dispose();
  }

  const rows = [
    [
      'synthetic sensors, noise 0.5, mean of 3 seeds',
      'RMSE ratio denoised/noisy',
      sensors.plain,
      sensors.denoising,
      null,
    ],
    [
      `Fashion-MNIST, noise std ${noise}`,
      'RMSE ratio denoised/noisy',
      models.plain!.ratio,
      models.denoising!.ratio,
      null,
    ],
    ...Object.keys(rawSeparability).map((k) => [
      `Fashion-MNIST ${k}`,
      'nearest-centroid accuracy',
      models.plain!.separability[k],
      models.denoising!.separability[k],
      rawSeparability[k],
    ]),
  ] as Array<[string, string, number, number, number | null]>;
  console.log(
    `\nbackend ${backend}; Fashion-MNIST: first ${trainCount} training images (all classes), ${epochs} epochs max, first ${testCount} test images`,
  );
  console.log(
    `${'task'.padEnd(44)} ${'figure'.padEnd(26)} ${'plain AE'.padStart(9)} ${'denoising'.padStart(9)} ${'raw pixels'.padStart(10)}`,
  );
  for (const [task, figure, plain, den, raw] of rows) {
    console.log(
      `${task.padEnd(44)} ${figure.padEnd(26)} ${plain.toFixed(3).padStart(9)} ${den.toFixed(3).padStart(9)} ${(raw === null ? '-' : raw.toFixed(3)).padStart(10)}`,
    );
  }
  const dir = resolve('bench', 'results');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'denoise.json'),
    JSON.stringify(
      {
        when: new Date().toISOString(),
        backend,
        seconds: (performance.now() - started) / 1000,
        synthetic: {
          noise: sensorNoise,
          windows: 1200,
          test: 500,
          window,
          ratio: sensors,
          perSeed: sensorRuns,
        },
        fashionMnist: {
          data: dataDir,
          trainImages: trainCount,
          testImages: testCount,
          maxEpochs: epochs,
          noise,
          architecture: convArch,
          models,
          rawPixelSeparability: rawSeparability,
        },
      },
      null,
      2,
    ) + '\n',
  );
  console.log(
    `\nwrote bench/results/denoise.json in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
