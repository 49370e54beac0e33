/**
 * A Gaussian model of an autoencoder's latent codes, fitted on the codes of the training
 * data, and the Mahalanobis distance of new codes to it: a second anomaly score next to the
 * reconstruction error. Frames that the decoder reconstructs well can still land in an
 * unusual part of the latent space (e.g. a shirt encoded like a pullover), which this score
 * sees and the reconstruction error does not.
 */

export interface LatentGaussian {
  dim: number;
  mean: Float64Array;
  /** Inverse of the shrunk covariance, row-major [dim, dim]. */
  precision: Float64Array;
}

/** Mean and standard deviation of a score over the training frames (for z-scoring). */
export interface ScoreStats {
  mean: number;
  std: number;
}

/**
 * Fits mean and covariance of `n` codes of size `dim` (row-major), with the covariance
 * shrunk towards a scaled identity (`shrinkage` in [0,1]) so that it stays invertible
 * when codes are nearly collinear or few.
 *
 * @example
 * const g = fitLatentGaussian(codes, n, 16, 0.1);
 * const d = mahalanobis(g, testCodes, m); // one distance per code
 */
export function fitLatentGaussian(
  codes: Float32Array,
  n: number,
  dim: number,
  shrinkage = 0.1,
): LatentGaussian {
  if (n < 2 || codes.length !== n * dim) {
    throw new RangeError(`need at least 2 codes of size ${dim}, got ${codes.length} values`);
  }
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += codes[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= n;
  const cov = new Float64Array(dim * dim);
  const c = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) c[j] = codes[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ca = c[a]!;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += ca * c[b]!;
    }
  }
  let trace = 0;
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / (n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
    trace += cov[a * dim + a]!;
  }
  // Shrink towards (trace/dim)·I; the tiny floor keeps an all-constant latent invertible.
  const target = Math.max(trace / dim, 1e-12);
  for (let k = 0; k < dim * dim; k++) cov[k] = (1 - shrinkage) * cov[k]!;
  for (let a = 0; a < dim; a++) cov[a * dim + a]! += shrinkage * target + 1e-9 * target;
  return { dim, mean, precision: invertSpd(cov, dim) };
}

/** Inverse of a symmetric positive definite matrix by Gauss-Jordan with partial pivoting. */
function invertSpd(m: Float64Array, dim: number): Float64Array {
  const a = Float64Array.from(m);
  const inv = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) inv[i * dim + i] = 1;
  for (let col = 0; col < dim; col++) {
    let pivot = col;
    for (let r = col + 1; r < dim; r++) {
      if (Math.abs(a[r * dim + col]!) > Math.abs(a[pivot * dim + col]!)) pivot = r;
    }
    if (pivot !== col) {
      for (let k = 0; k < dim; k++) {
        [a[col * dim + k], a[pivot * dim + k]] = [a[pivot * dim + k]!, a[col * dim + k]!];
        [inv[col * dim + k], inv[pivot * dim + k]] = [inv[pivot * dim + k]!, inv[col * dim + k]!];
      }
    }
    const p = a[col * dim + col]!;
    for (let k = 0; k < dim; k++) {
      a[col * dim + k]! /= p;
      inv[col * dim + k]! /= p;
    }
    for (let r = 0; r < dim; r++) {
      if (r === col) continue;
      const f = a[r * dim + col]!;
      if (f === 0) continue;
      for (let k = 0; k < dim; k++) {
        a[r * dim + k]! -= f * a[col * dim + k]!;
        inv[r * dim + k]! -= f * inv[col * dim + k]!;
      }
    }
  }
  return inv;
}

/** Squared Mahalanobis distance of each of `n` codes (row-major) to the fitted Gaussian. */
export function mahalanobis(g: LatentGaussian, codes: Float32Array, n: number): Float32Array {
  const { dim, mean, precision } = g;
  const out = new Float32Array(n);
  const c = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) c[j] = codes[i * dim + j]! - mean[j]!;
    let s = 0;
    for (let a = 0; a < dim; a++) {
      let row = 0;
      for (let b = 0; b < dim; b++) row += precision[a * dim + b]! * c[b]!;
      s += c[a]! * row;
    }
    out[i] = s;
  }
  return out;
}

/** Mean and standard deviation of `values` (std floored so z-scores stay finite). */
export function fitScoreStats(values: Float32Array): ScoreStats {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let v2 = 0;
  for (const v of values) v2 += (v - mean) ** 2;
  const std = Math.sqrt(v2 / Math.max(1, values.length - 1));
  return { mean, std: Math.max(std, 1e-12) };
}

/**
 * Sum of z-scores of several scores of the same frames, each z-scored with statistics
 * fitted on the training frames, so that no score dominates by its scale.
 */
export function combineZ(scores: Float32Array[], stats: ScoreStats[]): Float32Array {
  const n = scores[0]?.length ?? 0;
  const out = new Float32Array(n);
  scores.forEach((s, k) => {
    const { mean, std } = stats[k]!;
    for (let i = 0; i < n; i++) out[i]! += (s[i]! - mean) / std;
  });
  return out;
}
