import { GkSketch } from './gk-sketch';
import type { ThresholdResult, ThresholdState } from './threshold';
import {
  LearnedThreshold,
  WARMING_UP,
  assertFiniteScore,
  assertPrimeScores,
  assertScaleFactor,
} from './threshold';

export interface QuantileThresholdArgs {
  /** The quantile of normal scores that becomes the threshold. */
  q: number;
  /** Rank error bound of the sketch; keep it well below 1 - q. */
  epsilon: number;
  calibration: number;
}

/**
 * The q-quantile of a complete sample of normal scores: the calibration scores (the
 * source's first `calibration` scores, or the model's scores on held-back normal windows),
 * from a Greenwald-Khanna sketch (rank error at most epsilon * n). The threshold then stays
 * until the model swaps (rescale) or an operator resets it. After calibration only scores
 * at or below it are seen as normal, a sample censored at the threshold: its own q-quantile
 * lies lower (leaving the exceedances out drags the threshold down), and counting the
 * exceedances would let anomalies drag it up. Learned normal scores still refine the
 * probability, the sketch's CDF at the score.
 *
 * @example
 * const t = new QuantileThreshold({ q: 0.999, epsilon: 1e-4, calibration: 5000 });
 */
export class QuantileThreshold extends LearnedThreshold {
  readonly kind = 'quantile';
  private readonly args: QuantileThresholdArgs;
  private sketch: GkSketch;

  constructor(args: QuantileThresholdArgs) {
    super();
    if (!(args.q > 0 && args.q < 1))
      throw new RangeError(`quantile: q must be in (0,1), got ${args.q}`);
    if (!(args.calibration >= 1)) throw new RangeError(`quantile: calibration must be >= 1`);
    this.args = { ...args };
    this.sketch = new GkSketch(args.epsilon);
  }

  update(score: number): ThresholdResult {
    assertFiniteScore(score);
    if (this.value === null) {
      this.sketch.insert(score);
      if (this.sketch.count >= this.args.calibration)
        this.value = this.sketch.quantile(this.args.q);
      return WARMING_UP;
    }
    const threshold = this.value;
    const probability = this.sketch.cdf(score);
    if (score > threshold) return { threshold, verdict: 'anomaly', probability };
    this.sketch.insert(score);
    return { threshold, verdict: 'normal', probability };
  }

  prime(scores: readonly number[]): void {
    assertPrimeScores(this.kind, scores, this.args.calibration);
    this.sketch = new GkSketch(this.args.epsilon);
    for (const s of scores) this.sketch.insert(s);
    this.value = this.sketch.quantile(this.args.q);
  }

  rescale(factor: number): void {
    assertScaleFactor(factor);
    this.sketch.rescale(factor);
    if (this.value !== null) this.value *= factor;
  }

  snapshot(): ThresholdState {
    return {
      kind: this.kind,
      args: { ...this.args },
      value: this.value,
      sketch: this.sketch.toJSON(),
    };
  }

  static restore(state: ThresholdState): QuantileThreshold {
    const t = new QuantileThreshold(state.args as QuantileThresholdArgs);
    t.value = state.value as number | null;
    t.sketch = GkSketch.fromJSON(state.sketch as Parameters<typeof GkSketch.fromJSON>[0]);
    return t;
  }
}
