import { AeError, ErrorCodes } from '../core/errors';

/**
 * How each channel's reconstruction residual (normalized input − reconstruction) spreads on
 * held-back normal windows at training time, stored with the model: per channel the mean
 * and standard deviation of the residual, and the precision matrix (inverse covariance) of
 * the residual vector of one time step. Scores standardized with them weigh a channel by
 * how well the model usually reconstructs it, not by its scale.
 */
export interface ErrorStandards {
  /** Mean residual per channel. */
  mean: number[];
  /** Residual standard deviation per channel, floored ({@link ERROR_STANDARD_FLOOR}). */
  std: number[];
  /** D × D inverse of the shrunk residual covariance, row-major. */
  precision: number[];
  /** Residual vectors (time steps of held-back windows) they were fitted on. */
  count: number;
}

/**
 * No channel's residual std is taken below this share of the median channel's: a channel
 * the model reconstructs almost exactly (a constant one passed as 0) would otherwise turn
 * the smallest change of its output into a huge standardized error.
 */
export const ERROR_STANDARD_FLOOR = 0.1;

/**
 * Weight of the diagonal in the residual covariance before it is inverted: the held-back
 * windows overlap in time, so the covariance of 38 channels rests on fewer independent
 * vectors than it seems, and shrinking towards the diagonal keeps the inverse stable.
 */
export const COVARIANCE_SHRINKAGE = 0.1;

/**
 * Fits the error standards from normalized inputs `x` and their reconstructions `y` of
 * held-back windows (row-major, feature last; D = `features`).
 *
 * @example
 * const standards = fitErrorStandards(heldBackX, heldBackY, 38);
 */
export function fitErrorStandards(
  x: Float32Array,
  y: Float32Array,
  features: number,
): ErrorStandards {
  const d = features;
  if (x.length !== y.length || x.length === 0 || x.length % d !== 0) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `cannot fit error standards: ${x.length} inputs and ${y.length} reconstructions of ${d} features`,
    );
  }
  const count = x.length / d;
  const mean = new Float64Array(d);
  for (let i = 0; i < x.length; i++) mean[i % d]! += (x[i]! - y[i]!) / count;
  const cov = new Float64Array(d * d);
  const r = new Float64Array(d);
  for (let t = 0; t < count; t++) {
    for (let c = 0; c < d; c++) r[c] = x[t * d + c]! - y[t * d + c]! - mean[c]!;
    for (let a = 0; a < d; a++) {
      const ra = r[a]!;
      for (let b = a; b < d; b++) cov[a * d + b]! += ra * r[b]!;
    }
  }
  const std: number[] = [];
  for (let c = 0; c < d; c++) std.push(Math.sqrt(cov[c * d + c]! / count));
  const floor = Math.max(ERROR_STANDARD_FLOOR * median(std), 1e-6);
  const floored = std.map((s) => Math.max(s, floor));
  // Correlations from the data, shrunk towards 0; variances from the floored stds.
  const shrunk = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const value =
        a === b ? floored[a]! ** 2 : ((1 - COVARIANCE_SHRINKAGE) * cov[a * d + b]!) / count;
      shrunk[a * d + b] = value;
      shrunk[b * d + a] = value;
    }
  }
  return {
    mean: Array.from(mean),
    std: floored,
    precision: Array.from(invertSymmetric(shrunk, d, floored)),
    count,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Inverse of a symmetric positive definite matrix by Cholesky. Floored variances with
 * unfloored covariances can leave it indefinite; then the correlations are dropped and the
 * diagonal inverse of the floored variances is returned.
 */
function invertSymmetric(m: Float64Array, d: number, std: number[]): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = m[i * d + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * d + k]! * l[j * d + k]!;
      if (i === j) {
        if (!(sum > 0)) return diagonalPrecision(std);
        l[i * d + i] = Math.sqrt(sum);
      } else {
        l[i * d + j] = sum / l[j * d + j]!;
      }
    }
  }
  // inv(L), lower triangular, then inv(M) = inv(L)ᵀ inv(L).
  const li = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    li[i * d + i] = 1 / l[i * d + i]!;
    for (let j = 0; j < i; j++) {
      let sum = 0;
      for (let k = j; k < i; k++) sum += l[i * d + k]! * li[k * d + j]!;
      li[i * d + j] = -sum / l[i * d + i]!;
    }
  }
  const inv = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      let sum = 0;
      for (let k = b; k < d; k++) sum += li[k * d + a]! * li[k * d + b]!;
      inv[a * d + b] = sum;
      inv[b * d + a] = sum;
    }
  }
  return inv;
}

function diagonalPrecision(std: number[]): Float64Array {
  const d = std.length;
  const inv = new Float64Array(d * d);
  for (let c = 0; c < d; c++) inv[c * d + c] = 1 / std[c]! ** 2;
  return inv;
}

/** True when the standards fit `features` channels and hold only finite numbers. */
export function isValidErrorStandards(s: ErrorStandards, features: number): boolean {
  return (
    s.mean.length === features &&
    s.std.length === features &&
    s.precision.length === features * features &&
    s.mean.every(Number.isFinite) &&
    s.std.every((v) => Number.isFinite(v) && v > 0) &&
    s.precision.every(Number.isFinite)
  );
}
