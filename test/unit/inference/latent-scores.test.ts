import { blurredErrors } from '../../../src/inference/blurred-error';
import {
  combineZ,
  fitLatentGaussian,
  fitScoreStats,
  mahalanobis,
} from '../../../src/inference/latent-gaussian';

/** Deterministic pseudo-normal samples (Box-Muller on a mulberry32 stream). */
function normals(n: number, seed: number): Float64Array {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  }
  return out;
}

describe('latent Gaussian (Mahalanobis score)', () => {
  // Codes with std 2 along x and 0.5 along y, centred on (1, -1).
  const n = 20000;
  const z = normals(2 * n, 7);
  const codes = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    codes[2 * i] = 1 + 2 * z[2 * i]!;
    codes[2 * i + 1] = -1 + 0.5 * z[2 * i + 1]!;
  }

  it('measures distance in units of the training spread, per direction', () => {
    const g = fitLatentGaussian(codes, n, 2, 0);
    const probe = Float32Array.from([1, -1, 5, -1, 1, 1]); // mean, +2 std in x, +4 std in y
    const d = mahalanobis(g, probe, 3);
    expect(d[0]).toBeCloseTo(0, 2);
    // Squared distances (2 std)^2 and (4 std)^2, within the sampling error of the fit.
    expect(Math.abs(d[1]! - 4) / 4).toBeLessThan(0.05);
    expect(Math.abs(d[2]! - 16) / 16).toBeLessThan(0.05);
  });

  it('stays finite for collinear codes when shrunk, and averages ~dim on its training codes', () => {
    const collinear = new Float32Array(2 * 100);
    for (let i = 0; i < 100; i++) collinear[2 * i] = collinear[2 * i + 1] = i / 10;
    const d = mahalanobis(fitLatentGaussian(collinear, 100, 2, 0.1), collinear, 100);
    expect(d.every(Number.isFinite)).toBe(true);
    const own = mahalanobis(fitLatentGaussian(codes, n, 2, 0), codes, n);
    expect(own.reduce((a, v) => a + v, 0) / n).toBeCloseTo(2, 1);
  });

  it('refuses too few codes', () => {
    expect(() => fitLatentGaussian(new Float32Array(2), 1, 2)).toThrow(RangeError);
  });

  it('z-scores each score with training statistics before summing', () => {
    const a = fitScoreStats(Float32Array.from([1, 2, 3]));
    const b = fitScoreStats(Float32Array.from([100, 200, 300]));
    expect(a.mean).toBeCloseTo(2, 6);
    expect(a.std).toBeCloseTo(1, 6);
    const sum = combineZ([Float32Array.from([3, 2]), Float32Array.from([100, 200])], [a, b]);
    expect(Array.from(sum)).toEqual([expect.closeTo(0, 6), expect.closeTo(0, 6)]);
  });
});

describe('blurredErrors', () => {
  it('keeps a uniform difference and spreads a single-pixel one over its neighbourhood', () => {
    const h = 5;
    const w = 6;
    const x = new Float32Array(2 * h * w);
    const y = new Float32Array(2 * h * w);
    x.fill(0.5, 0, h * w); // frame 0: difference 0.5 everywhere
    x[h * w + 2 * w + 2] = 0.9; // frame 1: one interior pixel off by 0.9
    const e = blurredErrors(x, y, 2, h, w, 1);
    expect(e[0]).toBeCloseTo(0.25, 6);
    // 9 blurred pixels of 0.1 each: 9 * 0.01 / 30.
    expect(e[1]).toBeCloseTo((9 * 0.01) / (h * w), 6);
  });

  it('cancels a one-pixel shift of an edge more than the plain MSE does', () => {
    const h = 8;
    const w = 8;
    const x = new Float32Array(h * w);
    const y = new Float32Array(h * w);
    for (let r = 0; r < h; r++) {
      x[r * w + 3] = 1; // a vertical stroke at column 3
      y[r * w + 4] = 1; // reconstructed one column to the right
    }
    const mse = (2 * h) / (h * w);
    const blurred = blurredErrors(x, y, 1, h, w, 1)[0]!;
    expect(blurred).toBeLessThan(mse / 3);
    expect(blurred).toBeGreaterThan(0);
  });
});
