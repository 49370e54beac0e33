/**
 * What every threshold kind shares. A threshold is a per-key state machine: it starts
 * `calibrating` (it has not seen enough scores to judge), then `running`. While running,
 * scores judged anomalous never feed the statistics that define "normal", so a burst of
 * anomalies cannot drag the threshold up behind itself.
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
  /** The state as JSON-safe data; `restore` of it gives the same verdicts from then on. */
  snapshot(): ThresholdState;
  /**
   * Carries what was learned over to scores `factor` times as large (a new model version
   * with another error scale): every learned score statistic is multiplied, so verdicts on
   * c·s match the old verdicts on s. A static threshold keeps its value: it was set by hand.
   */
  rescale(factor: number): void;
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
