import { AeError, ErrorCodes } from '../core/errors';

/**
 * Input scaling fitted on the training data and stored with the model, so inference
 * scales frames exactly as training did. Sensors are scaled per feature, (x − center) / scale:
 * - `robust`: center the median, scale the IQR, floored (see {@link fitScaling}); outliers in
 *   the training data barely move it, unlike mean/std.
 * - `standard`: center the mean, scale the standard deviation.
 * - `minmax`: center the minimum, scale the range (training values into [0, 1]).
 * A feature that is constant in the training data has scale 0 and is passed as 0.
 * `range` (images): one (x − min) / (max − min) into [0, 1], matching the sigmoid output.
 */
export type FeatureScaling = 'robust' | 'standard' | 'minmax';

export type Normalization =
  | {
      kind: FeatureScaling;
      center: number[];
      scale: number[];
      /** Features whose robust scale was raised to its floor (absent when none). */
      floored?: number[];
    }
  | { kind: 'range'; min: number; max: number };

/**
 * Floors of the robust scale, as fractions of a feature's standard deviation and range,
 * both taken over the central 99 % of its training values (so a few glitches in the
 * training file cannot widen it). On normally distributed data the IQR is 1.35 std and
 * at least a 20th of the range, so neither floor changes an ordinary feature; a stepped
 * or quantized feature that sits mostly at one value (IQR near 0) gets a normalized std of
 * at most about 2 and a range of at most 20 units, instead of hundreds.
 */
export const ROBUST_FLOOR = { std: 0.5, range: 0.05, central: 0.99 } as const;

/** Per-feature statistics of training readings, for scaling and for lint's report. */
export interface FeatureStats {
  median: number;
  iqr: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Standard deviation and range of the central {@link ROBUST_FLOOR}.central of the values. */
  centralStd: number;
  centralRange: number;
}

/**
 * Per-feature statistics of row-major samples whose last axis is the feature
 * (D = `features`): value i belongs to feature i % D.
 */
export function featureStats(data: Float32Array, features: number): FeatureStats[] {
  if (data.length === 0 || data.length % features !== 0) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `cannot fit scaling: ${data.length} values are not a whole number of ${features}-feature readings`,
    );
  }
  const perFeature = data.length / features;
  const column = new Float32Array(perFeature);
  const tail = (1 - ROBUST_FLOOR.central) / 2;
  const stats: FeatureStats[] = [];
  for (let d = 0; d < features; d++) {
    for (let i = 0; i < perFeature; i++) column[i] = data[i * features + d] as number;
    column.sort();
    const lo = quantile(column, tail);
    const hi = quantile(column, 1 - tail);
    const all = moments(column, -Infinity, Infinity);
    const central = moments(column, lo, hi);
    stats.push({
      median: quantile(column, 0.5),
      iqr: quantile(column, 0.75) - quantile(column, 0.25),
      mean: all.mean,
      std: all.std,
      min: column[0] as number,
      max: column[perFeature - 1] as number,
      centralStd: central.std,
      centralRange: hi - lo,
    });
  }
  return stats;
}

function moments(values: Float32Array, lo: number, hi: number): { mean: number; std: number } {
  let n = 0;
  let sum = 0;
  for (const v of values) {
    if (v < lo || v > hi) continue;
    n++;
    sum += v;
  }
  const mean = sum / n;
  let sq = 0;
  for (const v of values) if (v >= lo && v <= hi) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / n) };
}

/** Constant in training: a spread below a billionth of its magnitude (float noise) counts as none. */
export const isConstantFeature = (s: FeatureStats): boolean =>
  !(s.max - s.min > 1e-9 * Math.max(1, Math.abs(s.max), Math.abs(s.min)));

/**
 * The robust scale of a feature: its IQR, floored at {@link ROBUST_FLOOR} of its central
 * std and range; when all of those are 0 (a feature flat but for rare spikes), at the same
 * fractions of its full std and range.
 */
export function robustScale(s: FeatureStats): { scale: number; floored: boolean } {
  let floor = Math.max(ROBUST_FLOOR.std * s.centralStd, ROBUST_FLOOR.range * s.centralRange);
  if (!(Math.max(floor, s.iqr) > 0)) {
    floor = Math.max(ROBUST_FLOOR.std * s.std, ROBUST_FLOOR.range * (s.max - s.min));
  }
  return s.iqr >= floor ? { scale: s.iqr, floored: false } : { scale: floor, floored: true };
}

/**
 * Fits per-feature scaling of `kind` on row-major samples, feature last. A constant
 * feature gets scale 0 (passed as 0). Robust scaling lists the features whose scale was
 * floored ({@link robustScale}).
 *
 * @example
 * fitScaling('robust', new Float32Array([1, 10, 2, 20, 3, 30]), 2) // center [2, 20]
 */
export function fitScaling(
  kind: FeatureScaling,
  data: Float32Array,
  features: number,
): Normalization {
  const center: number[] = [];
  const scale: number[] = [];
  const floored: number[] = [];
  featureStats(data, features).forEach((s, d) => {
    if (isConstantFeature(s)) {
      center.push(s.min);
      scale.push(0);
    } else if (kind === 'standard') {
      center.push(s.mean);
      scale.push(s.std);
    } else if (kind === 'minmax') {
      center.push(s.min);
      scale.push(s.max - s.min);
    } else {
      const robust = robustScale(s);
      center.push(s.median);
      scale.push(robust.scale);
      if (robust.floored) floored.push(d);
    }
  });
  return { kind, center, scale, ...(floored.length > 0 ? { floored } : {}) };
}

/** Robust per-feature scaling ({@link fitScaling} with `robust`). */
export function fitRobust(data: Float32Array, features: number): Normalization {
  return fitScaling('robust', data, features);
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
    // Float32Array batches take their own loop and RAW_U8 byte batches the one below: in the
    // detector each loop sees one array type, so each stays monomorphic.
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
  const inv = norm.scale.map((s) => (s > 0 ? 1 / s : 0));
  if (data instanceof Float32Array) return normalizeFeatures(data, out, norm.center, inv);
  for (let i = 0; i < data.length; i++) {
    const f = i % d;
    out[i] = ((data[i] as number) - (norm.center[f] as number)) * (inv[f] as number);
  }
  return out;
}

/** Per-feature scaling of Float32Array readings (the detector's windows): feature by feature, no modulo per value. */
function normalizeFeatures(
  data: Float32Array,
  out: Float32Array,
  center: readonly number[],
  inv: readonly number[],
): Float32Array {
  const d = center.length;
  for (let k = 0; k < d; k++) {
    const c = center[k]!;
    const s = inv[k]!;
    for (let i = k; i < data.length; i += d) out[i] = (data[i]! - c) * s;
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

/** True when every number of the normalization is finite and no scale negative (0: constant feature). */
export function isValidNormalization(norm: Normalization): boolean {
  if (norm.kind === 'range') return Number.isFinite(norm.min) && norm.max > norm.min;
  return (
    norm.center.length === norm.scale.length &&
    norm.center.every(Number.isFinite) &&
    norm.scale.every((s) => Number.isFinite(s) && s >= 0)
  );
}
