import { AeError, ErrorCodes } from '../core/errors';

/**
 * Input scaling fitted on the training data and stored with the model, so inference
 * scales frames exactly as training did.
 * - `robust` (sensors): per feature, (x − median) / IQR; outliers in the training data
 *   barely move it, unlike mean/std.
 * - `range` (images): (x − min) / (max − min) into [0, 1], matching the sigmoid output.
 */
export type Normalization =
  | { kind: 'robust'; center: number[]; scale: number[] }
  | { kind: 'range'; min: number; max: number };

/**
 * Fits robust per-feature scaling on row-major samples whose last axis is the feature
 * (D = `features`): value i belongs to feature i % D.
 *
 * @example
 * fitRobust(new Float32Array([1, 10, 2, 20, 3, 30]), 2) // center [2, 20]
 */
export function fitRobust(data: Float32Array, features: number): Normalization {
  if (data.length === 0 || data.length % features !== 0) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `cannot fit scaling: ${data.length} values are not a whole number of ${features}-feature readings`,
    );
  }
  const center: number[] = [];
  const scale: number[] = [];
  const perFeature = data.length / features;
  const column = new Float32Array(perFeature);
  for (let d = 0; d < features; d++) {
    for (let i = 0; i < perFeature; i++) column[i] = data[i * features + d] as number;
    column.sort();
    const median = quantile(column, 0.5);
    let spread = quantile(column, 0.75) - quantile(column, 0.25);
    // A constant or nearly constant feature: fall back to the full range, then to 1,
    // so scaling never divides by zero.
    if (!(spread > 1e-12)) spread = (column[perFeature - 1] as number) - (column[0] as number);
    if (!(spread > 1e-12)) spread = 1;
    center.push(median);
    scale.push(spread);
  }
  return { kind: 'robust', center, scale };
}

/** Fits [0, 1] scaling on the global min and max of the data (images). */
export function fitRange(data: Float32Array | Uint8Array): Normalization {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new AeError(ErrorCodes.DATA_INVALID, 'cannot fit scaling on empty or non-finite data');
  }
  if (max === min) max = min + 1;
  return { kind: 'range', min, max };
}

function quantile(sorted: Float32Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (pos - lo);
}

/**
 * Scales raw values (any typed array of row-major samples, feature last) into a new
 * Float32Array (or into `out`, of the same length), as the model expects them.
 *
 * @example
 * normalize({ kind: 'range', min: 0, max: 255 }, new Uint8Array([0, 255])) // [0, 1]
 */
export function normalize(
  norm: Normalization,
  data: ArrayLike<number>,
  out: Float32Array = new Float32Array(data.length),
): Float32Array {
  if (out.length !== data.length)
    throw new RangeError(`normalize: ${data.length} values into ${out.length}`);
  if (norm.kind === 'range') {
    const min = norm.min;
    const inv = 1 / (norm.max - norm.min);
    // The detector's batches are Float32Arrays: a loop over that one type stays monomorphic.
    if (data instanceof Float32Array) return normalizeRange(data, out, min, inv);
    for (let i = 0; i < data.length; i++) out[i] = ((data[i] as number) - min) * inv;
    return out;
  }
  const d = norm.center.length;
  if (data.length % d !== 0) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${data.length} values are not a whole number of ${d}-feature readings`,
    );
  }
  const inv = norm.scale.map((s) => 1 / s);
  for (let i = 0; i < data.length; i++) {
    const f = i % d;
    out[i] = ((data[i] as number) - (norm.center[f] as number)) * (inv[f] as number);
  }
  return out;
}

function normalizeRange(
  data: Float32Array,
  out: Float32Array,
  min: number,
  inv: number,
): Float32Array {
  for (let i = 0; i < data.length; i++) out[i] = (data[i]! - min) * inv;
  return out;
}

/**
 * The inverse of {@link normalize}: model outputs back in the units of the raw frames
 * (sensor readings, 0-255 intensities), e.g. for reconstructed frames.
 *
 * @example
 * denormalize({ kind: 'range', min: 0, max: 255 }, new Float32Array([0, 1])) // [0, 255]
 */
export function denormalize(norm: Normalization, data: ArrayLike<number>): Float32Array {
  const out = new Float32Array(data.length);
  if (norm.kind === 'range') {
    const span = norm.max - norm.min;
    for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) * span + norm.min;
    return out;
  }
  const d = norm.center.length;
  for (let i = 0; i < data.length; i++) {
    const f = i % d;
    out[i] = (data[i] as number) * (norm.scale[f] as number) + (norm.center[f] as number);
  }
  return out;
}

/** True when every number of the normalization is finite and every scale positive. */
export function isValidNormalization(norm: Normalization): boolean {
  if (norm.kind === 'range') return Number.isFinite(norm.min) && norm.max > norm.min;
  return (
    norm.center.length === norm.scale.length &&
    norm.center.every(Number.isFinite) &&
    norm.scale.every((s) => Number.isFinite(s) && s > 0)
  );
}
