import { PotModel, type SpotThresholdArgs } from './spot-threshold';
import type { Threshold, ThresholdResult, ThresholdState } from './threshold';
import { WARMING_UP, assertFiniteScore, assertScaleFactor } from './threshold';

export interface DspotThresholdArgs extends SpotThresholdArgs {
  /** d: how many recent normal scores make the moving-average baseline. */
  depth: number;
}

/**
 * DSPOT (Siffer et al. 2017, section 4.2): SPOT on the drift-corrected score x - M, where M
 * is the mean of the last `depth` normal scores. As in the paper, the first `depth` scores
 * only fill the baseline window, the next `calibration` scores calibrate, so verdicts start
 * after depth + calibration scores. Anomalies enter neither the baseline nor the peaks.
 *
 * @example
 * const t = new DspotThreshold({ risk: 1e-3, calibration: 1000, level: 0.98, maxPeaks: 5000, depth: 50 });
 */
export class DspotThreshold implements Threshold {
  readonly kind = 'dspot';
  private readonly args: DspotThresholdArgs;
  private readonly pot: PotModel;
  private window: number[] = [];
  private next = 0;
  /** Running sum of the window, stored in the state so a restore is bit-identical. */
  private sum = 0;
  private calibrationScores: number[] | null = [];

  constructor(args: DspotThresholdArgs) {
    if (!(args.depth >= 1)) throw new RangeError(`dspot: depth must be >= 1, got ${args.depth}`);
    this.args = { ...args };
    this.pot = new PotModel(this.args);
  }

  get calibrated(): boolean {
    return this.calibrationScores === null;
  }

  get current(): number | null {
    return this.calibrated ? this.pot.z + this.baseline() : null;
  }

  update(score: number): ThresholdResult {
    assertFiniteScore(score);
    if (this.window.length < this.args.depth) {
      this.push(score);
      return WARMING_UP;
    }
    const m = this.baseline();
    const x = score - m;
    if (this.calibrationScores !== null) {
      this.calibrationScores.push(x);
      this.push(score);
      if (this.calibrationScores.length >= this.args.calibration) {
        this.pot.calibrate(this.calibrationScores);
        this.calibrationScores = null;
      }
      return WARMING_UP;
    }
    const threshold = this.pot.z + m;
    const probability = 1 - this.pot.tail(x);
    if (this.pot.judge(x)) return { threshold, verdict: 'anomaly', probability };
    this.push(score);
    return { threshold, verdict: 'normal', probability };
  }

  rescale(factor: number): void {
    assertScaleFactor(factor);
    this.window = this.window.map((s) => s * factor);
    this.sum = this.window.reduce((a, b) => a + b, 0);
    if (this.calibrationScores)
      this.calibrationScores = this.calibrationScores.map((s) => s * factor);
    else this.pot.rescale(factor);
  }

  private baseline(): number {
    return this.sum / this.window.length;
  }

  private push(score: number): void {
    if (this.window.length < this.args.depth) {
      this.window.push(score);
      this.sum += score;
      return;
    }
    this.sum += score - this.window[this.next]!;
    this.window[this.next] = score;
    this.next = (this.next + 1) % this.args.depth;
  }

  snapshot(): ThresholdState {
    return {
      kind: this.kind,
      args: { ...this.args },
      window: [...this.window],
      next: this.next,
      sum: this.sum,
      calibrationScores: this.calibrationScores ? [...this.calibrationScores] : null,
      pot: this.pot.toJSON(),
    };
  }

  static restore(state: ThresholdState): DspotThreshold {
    const t = new DspotThreshold(state.args as DspotThresholdArgs);
    t.window = [...(state.window as number[])];
    t.next = state.next as number;
    t.sum = state.sum as number;
    t.calibrationScores = state.calibrationScores
      ? [...(state.calibrationScores as number[])]
      : null;
    t.pot.load(state.pot as Record<string, unknown>);
    return t;
  }
}
