/**
 * What every threshold kind shares. A threshold is a per-key state machine: it starts
 * `calibrating` (it has not seen enough scores to judge), then `running`. While running it
 * cannot ratchet: a score above the current threshold (an anomaly) changes no state at
 * all, and the threshold moves by at most `maxGrowth` of its value per GROWTH_UNIT normal
 * scores, so neither a burst nor a slow ramp can drag it up behind itself.
 */

import type { Verdict } from '../core/model-input';

export interface ThresholdResult {
  /** The threshold the score was compared with; null while calibrating. */
  readonly threshold: number | null;
  readonly verdict: Verdict;
  /**
   * How anomalous the score is, in [0, 1]: 1 minus the estimated probability that a
   * normal score is at least this large (0 while calibrating).
   */
  readonly probability: number;
}

/** Plain JSON data (no NaN or Infinity), enough to rebuild a threshold exactly. */
export interface ThresholdState {
  readonly kind: string;
  readonly [field: string]: unknown;
}

export interface Threshold {
  readonly kind: string;
  /** True once calibration is over and verdicts are given. */
  readonly calibrated: boolean;
  /** The current threshold, null while calibrating. */
  readonly current: number | null;
  /** Judges a score and, unless it is an anomaly, learns from it. */
  update(score: number): ThresholdResult;
  /**
   * Calibrates from reference scores (the model's scores on held-back normal windows, as
   * stored at training time) instead of this key's first scores: verdicts start at once.
   */
  prime(scores: readonly number[]): void;
  /** The state as JSON-safe data; `restore` of it gives the same verdicts from then on. */
  snapshot(): ThresholdState;
  /**
   * Carries what was learned over to scores `factor` times as large (a new model version
   * with another error scale): every learned score statistic is multiplied, so verdicts on
   * c·s match the old verdicts on s. A static threshold keeps its value: it was set by hand.
   */
  rescale(factor: number): void;
}

/**
 * The kinds whose threshold is one learned value: `value` is the threshold in use, null
 * while calibrating, and calibration is over once it is set.
 */
export abstract class LearnedThreshold implements Threshold {
  abstract readonly kind: string;
  protected value: number | null = null;

  get calibrated(): boolean {
    return this.value !== null;
  }

  get current(): number | null {
    return this.value;
  }

  abstract update(score: number): ThresholdResult;
  abstract prime(scores: readonly number[]): void;
  abstract snapshot(): ThresholdState;
  abstract rescale(factor: number): void;
}

/** A rescale factor must be a positive finite number. */
export function assertScaleFactor(factor: number): void {
  if (!(factor > 0) || !Number.isFinite(factor))
    throw new RangeError(`threshold: rescale factor must be finite and > 0, got ${factor}`);
}

export const WARMING_UP: ThresholdResult = Object.freeze({
  threshold: null,
  verdict: 'warming-up',
  probability: 0,
});

/** A NaN or infinite score is a caller bug (a broken model), not an anomaly. */
export function assertFiniteScore(score: number): void {
  if (!Number.isFinite(score))
    throw new RangeError(`threshold: score must be finite, got ${score}`);
}

/** Normal scores per which the threshold may rise by at most `maxGrowth` (relative). */
export const GROWTH_UNIT = 1000;

/** The default `maxGrowth`: about +1 % per GROWTH_UNIT normal scores. */
export const DEFAULT_MAX_GROWTH = 0.01;

/**
 * The step of a threshold toward its estimate, bounded per normal score to g / unit of its
 * value (about a factor 1 + g per GROWTH_UNIT normal scores). Bounded both ways: a bound on
 * rises alone would let the noise of the estimate (a tail refit on few peaks) pull the
 * threshold down to the lowest of its estimates and raise the false-alarm rate.
 */
export function boundedStep(
  previous: number,
  estimate: number,
  maxGrowth = DEFAULT_MAX_GROWTH,
): number {
  const step = Math.abs(previous) * (maxGrowth / GROWTH_UNIT);
  return Math.min(previous + step, Math.max(previous - step, estimate));
}

export function assertMaxGrowth(kind: string, maxGrowth: number | undefined): void {
  if (maxGrowth !== undefined && !(maxGrowth >= 0 && maxGrowth <= 1))
    throw new RangeError(`${kind}: maxGrowth must be in [0, 1], got ${maxGrowth}`);
}

/**
 * Fewest reference scores a threshold primes from. A model trained on a few hundred readings
 * holds back a few dozen windows: priming from them beats waiting for `calibration` live
 * scores, blind, which on a short series is most of it.
 */
export const PRIME_MIN_SCORES = 20;

/** Reference scores must be finite, and as many as the kind's calibration or PRIME_MIN_SCORES. */
export function assertPrimeScores(
  kind: string,
  scores: readonly number[],
  calibration: number,
): void {
  const needed = Math.min(calibration, PRIME_MIN_SCORES);
  if (scores.length < needed)
    throw new RangeError(`${kind}: priming needs at least ${needed} scores, got ${scores.length}`);
  for (const s of scores) assertFiniteScore(s);
}
