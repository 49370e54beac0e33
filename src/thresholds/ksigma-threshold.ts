import type { ThresholdResult, ThresholdState } from './threshold';
import {
  LearnedThreshold,
  assertMaxGrowth,
  WARMING_UP,
  assertFiniteScore,
  assertPrimeScores,
  assertScaleFactor,
  boundedStep,
} from './threshold';
import { normalCdf } from './normal-cdf';

export interface KSigmaThresholdArgs {
  /** Threshold = mean + k standard deviations. */
  k: number;
  /** Scores after which an old score's weight has halved. */
  halfLife: number;
  /** Scores seen before the first verdict. */
  calibration: number;
  /** Largest relative rise of the threshold per GROWTH_UNIT normal scores (default 0.01). */
  maxGrowth?: number;
}

/**
 * Mean + k sigma, with mean and variance as exponentially weighted moving averages of the
 * normal scores. The threshold follows that estimate by at most `maxGrowth` of its value
 * per GROWTH_UNIT normal scores: the EWMA would follow a slow ramp anomaly up while its
 * early part still looks normal. Calibration uses the plain mean and variance of
 * the first scores (an EWMA started from one score would be far too tight at first). The
 * probability assumes normal scores are Gaussian: Phi((score - mean) / sigma).
 *
 * @example
 * const t = new KSigmaThreshold({ k: 4, halfLife: 1000, calibration: 100, maxGrowth: 0.01 });
 * for (const s of scores) t.update(s);
 */
export class KSigmaThreshold extends LearnedThreshold {
  readonly kind = 'ksigma';
  private readonly args: KSigmaThresholdArgs;
  private readonly alpha: number;
  private count = 0;
  private mean = 0;
  /** Sum of squared deviations while calibrating, the EWMA variance after. */
  private spread = 0;

  constructor(args: KSigmaThresholdArgs) {
    super();
    if (!(args.k > 0)) throw new RangeError(`ksigma: k must be > 0, got ${args.k}`);
    if (!(args.halfLife >= 1))
      throw new RangeError(`ksigma: halfLife must be >= 1, got ${args.halfLife}`);
    if (!(args.calibration >= 2)) {
      throw new RangeError(`ksigma: calibration must be >= 2, got ${args.calibration}`);
    }
    assertMaxGrowth('ksigma', args.maxGrowth);
    this.args = { ...args };
    this.alpha = 1 - Math.pow(2, -1 / args.halfLife);
  }

  update(score: number): ThresholdResult {
    assertFiniteScore(score);
    if (!this.calibrated) {
      // Welford; on the last calibration score the sum of squares becomes a variance.
      this.count++;
      const d = score - this.mean;
      this.mean += d / this.count;
      this.spread += d * (score - this.mean);
      if (this.count >= this.args.calibration) this.finishCalibration();
      return WARMING_UP;
    }
    const threshold = this.value!;
    const sd = Math.sqrt(this.spread);
    const probability = sd > 0 ? normalCdf((score - this.mean) / sd) : score > this.mean ? 1 : 0.5;
    if (score > threshold) return { threshold, verdict: 'anomaly', probability };
    this.count++;
    const diff = score - this.mean;
    const incr = this.alpha * diff;
    this.mean += incr;
    this.spread = (1 - this.alpha) * (this.spread + diff * incr);
    this.value = boundedStep(threshold, this.estimate(), this.args.maxGrowth);
    return { threshold, verdict: 'normal', probability };
  }

  prime(scores: readonly number[]): void {
    assertPrimeScores(this.kind, scores, this.args.calibration);
    let mean = 0;
    for (const s of scores) mean += s;
    mean /= scores.length;
    let ss = 0;
    for (const s of scores) ss += (s - mean) * (s - mean);
    this.count = scores.length;
    this.mean = mean;
    this.spread = ss;
    this.finishCalibration();
  }

  private estimate(): number {
    return this.mean + this.args.k * Math.sqrt(this.spread);
  }

  /** The sum of squares becomes a variance and the first threshold is the estimate. */
  private finishCalibration(): void {
    this.spread /= this.count - 1;
    this.value = this.estimate();
  }

  rescale(factor: number): void {
    assertScaleFactor(factor);
    // The spread is a variance (or a sum of squares while calibrating): it scales squared.
    this.mean *= factor;
    this.spread *= factor * factor;
    if (this.value !== null) this.value *= factor;
  }

  snapshot(): ThresholdState {
    return {
      kind: this.kind,
      args: { ...this.args },
      count: this.count,
      mean: this.mean,
      spread: this.spread,
      value: this.value,
    };
  }

  static restore(state: ThresholdState): KSigmaThreshold {
    const t = new KSigmaThreshold(state.args as KSigmaThresholdArgs);
    t.count = state.count as number;
    t.mean = state.mean as number;
    t.spread = state.spread as number;
    // A state written before the bounded rise: its threshold was the estimate.
    t.value =
      state.value !== undefined
        ? (state.value as number | null)
        : t.count >= t.args.calibration
          ? t.estimate()
          : null;
    return t;
  }
}
