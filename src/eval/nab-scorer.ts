import type { RowWindow } from './nab-corpus';
import type { NabProfile } from './nab-profiles';

/**
 * NAB's scoring, as specified in shared/datasets/nab-dev/README.md (which reproduces the
 * published numbers of the numenta detector exactly). Everything works in row indices.
 */

/** The probationary rows of a file with n rows: never scored, warm-up only. */
export function probationaryLength(n: number): number {
  return Math.min(Math.floor(0.15 * n), 750);
}

/** NAB's scaled sigmoid: 2 / (1 + e^(5y)) - 1 for y <= 3, and -1 beyond. */
export function scaledSigmoid(y: number): number {
  return y > 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1;
}

const SIGMA_MINUS_ONE = scaledSigmoid(-1);

/**
 * The value v(i) of flagging each row: inside a window A_TP sigma(y)/sigma(-1) with
 * y = -(R - i + 1)/W, before the first window -A_FP, after a window A_FP sigma(y) with
 * y = (i - R')/(W' - 1) measured from the most recent window only.
 */
export function rowValues(
  n: number,
  windows: readonly RowWindow[],
  profile: NabProfile,
): Float64Array {
  const v = new Float64Array(n).fill(-profile.fp);
  const sorted = [...windows].sort((a, b) => a[0] - b[0]);
  for (let w = 0; w < sorted.length; w++) {
    const [l, r] = sorted[w]!;
    const width = r - l + 1;
    for (let i = l; i <= r; i++)
      v[i] = (profile.tp * scaledSigmoid(-(r - i + 1) / width)) / SIGMA_MINUS_ONE;
    const nextStart = w + 1 < sorted.length ? sorted[w + 1]![0] : n;
    for (let i = r + 1; i < nextStart; i++)
      v[i] = profile.fp * scaledSigmoid((i - r) / (width - 1));
  }
  return v;
}

/** Window index of every row, -1 outside windows. */
export function windowIndex(n: number, windows: readonly RowWindow[]): Int32Array {
  const idx = new Int32Array(n).fill(-1);
  windows.forEach(([l, r], w) => idx.fill(w, l, r + 1));
  return idx;
}

export interface NabFileScore {
  /** Raw score: window terms plus false-positive terms. */
  readonly score: number;
  /** Rows (not windows) after probation: flagged in / outside windows, unflagged in / outside. */
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/**
 * The raw NAB score of one file's detector output at a threshold (rows with
 * score >= threshold are flagged).
 *
 * @example
 * scoreNabFile(anomalyScores, file.windows, 0.5421876907, nabProfile('standard'));
 */
export function scoreNabFile(
  scores: ArrayLike<number>,
  windows: readonly RowWindow[],
  threshold: number,
  profile: NabProfile,
): NabFileScore {
  const n = scores.length;
  const p = probationaryLength(n);
  const v = rowValues(n, windows, profile);
  const win = windowIndex(n, windows);
  const best = new Array<number>(windows.length).fill(-profile.fn);
  let fpScore = 0;
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = p; i < n; i++) {
    const flagged = scores[i]! >= threshold;
    const w = win[i]!;
    if (w >= 0) {
      if (flagged) {
        tp++;
        if (v[i]! > best[w]!) best[w] = v[i]!;
      } else fn++;
    } else if (flagged) {
      fp++;
      fpScore += v[i]!;
    } else tn++;
  }
  const score = best.reduce((s, x) => s + x, 0) + fpScore;
  return { score, tp, fp, tn, fn };
}

/** One file's detector output, ready to be scored. */
export interface NabScoredInput {
  readonly name: string;
  readonly scores: ArrayLike<number>;
  readonly windows: readonly RowWindow[];
}

export interface NabThresholdChoice {
  /** The best threshold; `NO_DETECTIONS` (1.1, as upstream) when flagging nothing wins. */
  readonly threshold: number;
  /** The corpus raw score at that threshold. */
  readonly raw: number;
}

export const NO_DETECTIONS = 1.1;

/**
 * The corpus-wide threshold that maximizes the summed raw score: every distinct
 * anomaly_score of a non-probationary row is tried, plus "no detections"; on ties the
 * highest threshold is kept. One sweep from the highest score down, O(rows log rows).
 */
export function optimizeNabThreshold(
  inputs: readonly NabScoredInput[],
  profile: NabProfile,
): NabThresholdChoice {
  type Row = { s: number; w: number; v: number };
  const rows: Row[] = [];
  const best: number[] = [];
  let total = 0;
  for (const input of inputs) {
    const n = input.scores.length;
    const v = rowValues(n, input.windows, profile);
    const win = windowIndex(n, input.windows);
    const base = best.length;
    for (let k = 0; k < input.windows.length; k++) best.push(-profile.fn);
    total -= profile.fn * input.windows.length;
    for (let i = probationaryLength(n); i < n; i++) {
      rows.push({ s: input.scores[i]!, w: win[i]! >= 0 ? base + win[i]! : -1, v: v[i]! });
    }
  }
  rows.sort((a, b) => b.s - a.s);
  let choice: NabThresholdChoice = { threshold: NO_DETECTIONS, raw: total };
  for (let i = 0; i < rows.length;) {
    const s = rows[i]!.s;
    for (; i < rows.length && rows[i]!.s === s; i++) {
      const r = rows[i]!;
      if (r.w < 0) total += r.v;
      else if (r.v > best[r.w]!) {
        total += r.v - best[r.w]!;
        best[r.w] = r.v;
      }
    }
    if (total > choice.raw) choice = { threshold: s, raw: total };
  }
  return choice;
}

/** 100 (raw - null) / (perfect - null), with null = -A_FN N and perfect = A_TP N for N windows. */
export function normalizeNabScore(raw: number, windowCount: number, profile: NabProfile): number {
  const nullScore = -profile.fn * windowCount;
  const perfect = profile.tp * windowCount;
  return (100 * (raw - nullScore)) / (perfect - nullScore);
}

export interface NabProfileResult {
  readonly profile: NabProfile;
  readonly threshold: number;
  readonly raw: number;
  readonly normalized: number;
  readonly files: ReadonlyArray<NabFileScore & { readonly name: string }>;
}

/**
 * Scores a detector on a corpus for one profile: at the given threshold, or at the
 * optimized one when none is given.
 */
export function scoreNabCorpus(
  inputs: readonly NabScoredInput[],
  profile: NabProfile,
  threshold?: number,
): NabProfileResult {
  const t = threshold ?? optimizeNabThreshold(inputs, profile).threshold;
  const files = inputs.map((input) => ({
    name: input.name,
    ...scoreNabFile(input.scores, input.windows, t, profile),
  }));
  const raw = files.reduce((s, f) => s + f.score, 0);
  const windowCount = inputs.reduce((s, f) => s + f.windows.length, 0);
  return {
    profile,
    threshold: t,
    raw,
    normalized: normalizeNabScore(raw, windowCount, profile),
    files,
  };
}
