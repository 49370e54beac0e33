import { GkSketch } from './gk-sketch';
import type { Threshold, ThresholdResult, ThresholdState } from './threshold';
import { WARMING_UP, assertFiniteScore, assertScaleFactor } from './threshold';

export interface QuantileThresholdArgs {
  /** The quantile of normal scores that becomes the threshold. */
  q: number;
  /** Rank error bound of the sketch; keep it well below 1 - q. */
  epsilon: number;
  calibration: number;
}

/**
 * The q-quantile of the normal scores seen so far, from a Greenwald-Khanna sketch (rank
 * error at most epsilon * n, bounded memory). Scores above the learning cap
 * threshold + (threshold - median) are never learned; flagged scores below it are (see update). The probability is the sketch's CDF at the
 * score, i.e. the fraction of normal scores at or below it.
 *
 * @example
 * const t = new QuantileThreshold({ q: 0.999, epsilon: 1e-4, calibration: 1000 });
 */
export class QuantileThreshold implements Threshold {
  readonly kind = 'quantile';
  private readonly args: QuantileThresholdArgs;
  private sketch: GkSketch;
  private value: number | null = null;

  constructor(args: QuantileThresholdArgs) {
    if (!(args.q > 0 && args.q < 1))
      throw new RangeError(`quantile: q must be in (0,1), got ${args.q}`);
    if (!(args.calibration >= 1)) throw new RangeError(`quantile: calibration must be >= 1`);
    this.args = { ...args };
    this.sketch = new GkSketch(args.epsilon);
  }

  get calibrated(): boolean {
    return this.value !== null;
  }

  get current(): number | null {
    return this.value;
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
    const verdict = score > threshold ? 'anomaly' : 'normal';
    // A sample that never holds a score above its own q-quantile has a lower q-quantile:
    // excluding every anomaly would ratchet the threshold down on perfectly normal data and
    // never let it follow an upward drift. So scores up to a learning cap of
    // threshold + (threshold - median) are learned even when flagged; above the cap (gross
    // anomalies, a burst) nothing is learned and the threshold does not move.
    const cap = threshold + Math.max(0, threshold - this.sketch.quantile(0.5));
    if (score > cap) return { threshold, verdict, probability };
    this.sketch.insert(score);
    this.value = this.sketch.quantile(this.args.q);
    return { threshold, verdict, probability };
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
