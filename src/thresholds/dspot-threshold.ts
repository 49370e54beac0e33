import { PotModel, type SpotThresholdArgs } from './spot-threshold';
import type { ThresholdResult, ThresholdState } from './threshold';
import {
  LearnedThreshold,
  WARMING_UP,
  assertFiniteScore,
  assertPrimeScores,
  assertScaleFactor,
  boundedStep,
} from './threshold';

export interface DspotThresholdArgs extends SpotThresholdArgs {
  /** d: how many recent normal scores make the moving-average baseline. */
  depth: number;
}

/**
 * DSPOT (Siffer et al. 2017, section 4.2): SPOT on the drift-corrected score x - M, where M
 * is the mean of the last `depth` normal scores. As in the paper, the first `depth` scores
 * only fill the baseline window, the next `calibration` scores calibrate, so verdicts start
 * after depth + calibration scores. Anomalies enter neither the baseline nor the peaks. The
 * threshold M + z_q follows its estimate by at most `maxGrowth` of its value per
 * GROWTH_UNIT normal scores: otherwise the baseline would carry it up a slow ramp anomaly.
 *
 * @example
 * const t = new DspotThreshold({ risk: 1e-3, calibration: 1000, level: 0.98, maxPeaks: 5000, depth: 50, maxGrowth: 0.01 });
 */
export class DspotThreshold extends LearnedThreshold {
  readonly kind = 'dspot';
  private readonly args: DspotThresholdArgs;
  private readonly pot: PotModel;
  private window: number[] = [];
  private next = 0;
  /** Running sum of the window, stored in the state so a restore is bit-identical. */
  private sum = 0;
  private calibrationScores: number[] | null = [];

  constructor(args: DspotThresholdArgs) {
    super();
    if (!(args.depth >= 1)) throw new RangeError(`dspot: depth must be >= 1, got ${args.depth}`);
    this.args = { ...args };
    this.pot = new PotModel(this.args);
  }

  update(score: number): ThresholdResult {
    assertFiniteScore(score);
    if (this.window.length < this.args.depth) {
      this.push(score);
      return WARMING_UP;
    }
    const m = this.baseline();
    const x = score - m;
    if (this.value === null) {
      this.calibrationScores!.push(x);
      this.push(score);
      if (this.calibrationScores!.length >= this.args.calibration) this.finishCalibration();
      return WARMING_UP;
    }
    const threshold = this.value;
    const probability = 1 - this.pot.tail(x);
    if (score > threshold) return { threshold, verdict: 'anomaly', probability };
    this.push(score);
    const fitted = this.pot.learn(x, threshold - m - this.pot.t);
    if (fitted !== null) this.pot.z = fitted;
    this.value = boundedStep(threshold, this.pot.z + this.baseline(), this.args.maxGrowth);
    return { threshold, verdict: 'normal', probability };
  }

  /** The baseline starts from the first `depth` reference scores; the rest calibrate. */
  prime(scores: readonly number[]): void {
    assertPrimeScores(this.kind, scores.slice(this.args.depth), this.args.calibration);
    this.window = [];
    this.next = 0;
    this.sum = 0;
    this.calibrationScores = [];
    for (const s of scores) {
      if (this.window.length >= this.args.depth) this.calibrationScores.push(s - this.baseline());
      this.push(s);
    }
    this.finishCalibration();
  }

  rescale(factor: number): void {
    assertScaleFactor(factor);
    this.window = this.window.map((s) => s * factor);
    this.sum = this.window.reduce((a, b) => a + b, 0);
    if (this.calibrationScores)
      this.calibrationScores = this.calibrationScores.map((s) => s * factor);
    else this.pot.rescale(factor);
    if (this.value !== null) this.value *= factor;
  }

  private finishCalibration(): void {
    this.pot.calibrate(this.calibrationScores!);
    this.calibrationScores = null;
    this.value = this.pot.z + this.baseline();
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
      value: this.value,
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
    // A state written before the bounded rise: its threshold was M + z_q.
    t.value =
      state.value !== undefined
        ? (state.value as number | null)
        : t.calibrationScores === null
          ? t.pot.z + t.baseline()
          : null;
    return t;
  }
}
