import { seededRandom } from '../core/seeded-random';

/**
 * Pieces of the denoising and separability evaluations: synthetic smooth
 * signals, Gaussian noise, RMSE, and a nearest-centroid classifier on latent vectors.
 * Plain array math, shared by the unit test, `npm run bench:denoise` and the README figures.
 */

/** A standard normal draw from a uniform PRNG (Box-Muller). */
function gaussian(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * `count` windows of `window` readings of a smooth signal: two sines with random
 * amplitudes (0.5-1.5), periods (8-window readings) and phases per window, row-major.
 *
 * @example syntheticSignals(1000, 32, 7) // Float32Array(32000)
 */
export function syntheticSignals(count: number, window: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(count * window);
  for (let i = 0; i < count; i++) {
    const parts = [0, 1].map(() => ({
      a: 0.5 + random(),
      w: (2 * Math.PI) / (8 + random() * (window - 8)),
      p: random() * 2 * Math.PI,
    }));
    for (let t = 0; t < window; t++) {
      let v = 0;
      for (const { a, w, p } of parts) v += a * Math.sin(w * t + p);
      out[i * window + t] = v;
    }
  }
  return out;
}

/** A copy of `data` with N(0, std) noise added, optionally clipped to [lo, hi]. */
export function addGaussianNoise(
  data: ArrayLike<number>,
  std: number,
  seed: number,
  clip?: [number, number],
): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    let v = (data[i] as number) + std * gaussian(random);
    if (clip) v = Math.min(clip[1], Math.max(clip[0], v));
    out[i] = v;
  }
  return out;
}

/** Root mean squared difference of two arrays of the same length. */
export function rmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(`rmse: lengths ${a.length} and ${b.length}`);
  }
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s / a.length);
}

/**
 * Accuracy of a nearest-centroid classifier: one centroid per label from the training
 * vectors (row-major, `dim` each), each test vector assigned the label of the nearest
 * centroid (Euclidean).
 *
 * @example nearestCentroidAccuracy(trainZ, trainY, testZ, testY, 32) // 0.97
 */
export function nearestCentroidAccuracy(
  trainVectors: Float32Array,
  trainLabels: ArrayLike<number>,
  testVectors: Float32Array,
  testLabels: ArrayLike<number>,
  dim: number,
): number {
  const sums = new Map<number, { sum: Float64Array; n: number }>();
  for (let i = 0; i < trainLabels.length; i++) {
    const label = trainLabels[i] as number;
    let c = sums.get(label);
    if (!c) sums.set(label, (c = { sum: new Float64Array(dim), n: 0 }));
    for (let j = 0; j < dim; j++) c.sum[j]! += trainVectors[i * dim + j]!;
    c.n++;
  }
  const centroids = [...sums].map(([label, c]) => ({ label, mean: c.sum.map((v) => v / c.n) }));
  let correct = 0;
  for (let i = 0; i < testLabels.length; i++) {
    let best = { label: NaN, d: Infinity };
    for (const { label, mean } of centroids) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += (testVectors[i * dim + j]! - mean[j]!) ** 2;
      if (d < best.d) best = { label, d };
    }
    if (best.label === testLabels[i]) correct++;
  }
  return correct / testLabels.length;
}
