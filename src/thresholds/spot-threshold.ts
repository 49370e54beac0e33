import { fitTruncatedGpd, gpdQuantile, gpdTail, type GpdParams } from './gpd-fit';
import type { Threshold, ThresholdResult, ThresholdState } from './threshold';
import {
  assertMaxGrowth,
  WARMING_UP,
  assertFiniteScore,
  assertPrimeScores,
  assertScaleFactor,
  boundedStep,
} from './threshold';

export interface SpotThresholdArgs {
  /** q: the probability that a normal score exceeds the threshold. */
  risk: number;
  /** n: scores used to find the initial threshold t and the first GPD fit. */
  calibration: number;
  /** The quantile of the calibration scores used as the peaks threshold t (e.g. 0.98). */
  level: number;
  /** Excesses kept for refitting (the oldest are forgotten); the counts stay exact. */
  maxPeaks: number;
  /** Largest relative rise of the threshold per GROWTH_UNIT normal scores (default 0.01). */
  maxGrowth?: number;
}

/**
 * Share of the kept peaks that must be new before the GPD is refitted. A refit is a
 * Nelder-Mead search over all kept peaks (up to maxPeaks): refitting on every new peak makes
 * the cost per score grow with the peaks kept. One new peak among thousands barely moves the
 * fit; z_q still follows the counts n and N_t at every peak, with the last shape and scale.
 */
const REFIT_SHARE = 1 / 64;

/** Peaks over t that a calibration keeps at least, however few its scores. */
const MIN_PEAKS = 10;

/** Peaks-over-threshold state shared by SPOT and DSPOT (on drift-corrected scores). */
export class PotModel {
  /** Initial (peaks) threshold t. */
  t = 0;
  /** Anomaly threshold z_q. */
  z = 0;
  params: GpdParams = { gamma: 0, sigma: 1 };
  /** Normal scores seen (n) and how many exceeded t (N_t), both since calibration began. */
  n = 0;
  nt = 0;
  /** Ring buffer of the last maxPeaks excesses. */
  peaks: number[] = [];
  /** For each kept excess, z_q - t when it was learned (it could not have been larger); -1 for none. */
  caps: number[] = [];
  private next = 0;

  /**
   * @param refitShare a new peak refits the GPD when N_t is a multiple of
   *   max(1, floor(refitShare x kept peaks)); 0 refits on every peak (tests compare both).
   */
  constructor(
    private readonly args: SpotThresholdArgs,
    private readonly refitShare = REFIT_SHARE,
  ) {
    if (!(args.risk > 0 && args.risk < 1))
      throw new RangeError(`spot: risk must be in (0,1), got ${args.risk}`);
    if (!(args.level > 0 && args.level < 1))
      throw new RangeError(`spot: level must be in (0,1), got ${args.level}`);
    if (!(args.calibration >= 10))
      throw new RangeError(`spot: calibration must be >= 10, got ${args.calibration}`);
    if (!(args.maxPeaks >= 3))
      throw new RangeError(`spot: maxPeaks must be >= 3, got ${args.maxPeaks}`);
    if (args.risk >= 1 - args.level) {
      throw new RangeError('spot: risk must be below 1 - level (z_q must lie above t)');
    }
    assertMaxGrowth('spot', args.maxGrowth);
  }

  /**
   * Sets t from the calibration scores and fits the first GPD (the paper's initialization).
   * On few scores t is lowered so that MIN_PEAKS of them exceed it: a GPD needs peaks to fit.
   */
  calibrate(scores: readonly number[]): void {
    const sorted = [...scores].sort((a, b) => a - b);
    const level = Math.min(this.args.level, 1 - MIN_PEAKS / sorted.length);
    this.t = sorted[Math.max(0, Math.min(sorted.length - 1, Math.floor(level * sorted.length)))]!;
    this.n = scores.length;
    this.nt = 0;
    this.peaks = [];
    this.caps = [];
    this.next = 0;
    for (const s of scores) if (s > this.t) this.addPeak(s - this.t, -1);
    this.refit();
  }

  /**
   * True when x is an anomaly (above z_q; nothing is learned). Otherwise x is learned and
   * z_q follows the new fit by at most `maxGrowth` of its value per GROWTH_UNIT normal scores.
   */
  judge(x: number): boolean {
    if (x > this.z) return true;
    const estimate = this.learn(x, this.z - this.t);
    if (estimate !== null) this.z = boundedStep(this.z, estimate, this.args.maxGrowth);
    return false;
  }

  /**
   * Learns a normal x known to lie below t + cap (the threshold of its time); when it is a
   * new peak, returns the new fit's z_q (unbounded), else null (z_q has not changed).
   */
  learn(x: number, cap: number): number | null {
    this.n++;
    if (!(x > this.t)) return null;
    this.addPeak(x - this.t, cap);
    const every = Math.max(1, Math.floor(this.refitShare * this.peaks.length));
    if (this.nt % every === 0) return this.fit();
    return gpdQuantile(this.t, this.params, this.args.risk, this.n, this.nt);
  }

  /** Excess statistics for scores `factor` times as large (the GPD shape does not change). */
  rescale(factor: number): void {
    this.t *= factor;
    this.z *= factor;
    this.params = { ...this.params, sigma: this.params.sigma * factor };
    this.peaks = this.peaks.map((e) => e * factor);
    this.caps = this.caps.map((c) => (c < 0 ? c : c * factor));
  }

  tail(x: number): number {
    return this.nt > 0 ? gpdTail(x, this.t, this.params, this.n, this.nt) : x > this.t ? 0 : 1;
  }

  private addPeak(e: number, cap: number): void {
    this.nt++;
    if (this.peaks.length < this.args.maxPeaks) {
      this.peaks.push(e);
      this.caps.push(cap);
    } else {
      this.peaks[this.next] = e;
      this.caps[this.next] = cap;
      this.next = (this.next + 1) % this.args.maxPeaks;
    }
  }

  private refit(): void {
    this.z = this.fit();
  }

  /** Refits the GPD to the kept peaks and returns its z_q. */
  private fit(): number {
    if (this.nt === 0) {
      // Nothing above t yet (constant calibration data): anything above t is anomalous.
      this.params = { gamma: 0, sigma: 1 };
      return this.t;
    }
    this.params = fitTruncatedGpd(this.peaks, this.caps, this.params);
    return gpdQuantile(this.t, this.params, this.args.risk, this.n, this.nt);
  }

  toJSON(): Record<string, unknown> {
    return {
      t: this.t,
      z: this.z,
      params: { ...this.params },
      n: this.n,
      nt: this.nt,
      peaks: [...this.peaks],
      caps: [...this.caps],
      next: this.next,
    };
  }

  load(data: Record<string, unknown>): void {
    this.t = data.t as number;
    this.z = data.z as number;
    this.params = { ...(data.params as GpdParams) };
    this.n = data.n as number;
    this.nt = data.nt as number;
    this.peaks = [...(data.peaks as number[])];
    this.caps = [...(data.caps as number[])];
    this.next = data.next as number;
  }
}

/**
 * SPOT (Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017):
 * after `calibration` scores, t is their `level` quantile and the excesses over t are fitted
 * with a generalized Pareto distribution; the threshold z_q is the score exceeded by a normal
 * score with probability `risk`. Scores above z_q are anomalies and are not learned; scores
 * between t and z_q are new peaks and refit the GPD, and z_q follows the fit by at most
 * `maxGrowth` of its value per GROWTH_UNIT normal scores. The probability is 1 - P(X > score) from
 * the fitted tail (for scores below t it is 1 - N_t / n, the tail model says no more).
 *
 * @example
 * const t = new SpotThreshold({ risk: 1e-4, calibration: 2000, level: 0.98, maxPeaks: 5000, maxGrowth: 0.01 });
 */
export class SpotThreshold implements Threshold {
  readonly kind = 'spot';
  private readonly args: SpotThresholdArgs;
  private readonly pot: PotModel;
  private calibrationScores: number[] | null = [];

  constructor(args: SpotThresholdArgs) {
    this.args = { ...args };
    this.pot = new PotModel(this.args);
  }

  get calibrated(): boolean {
    return this.calibrationScores === null;
  }

  get current(): number | null {
    return this.calibrated ? this.pot.z : null;
  }

  update(score: number): ThresholdResult {
    assertFiniteScore(score);
    if (this.calibrationScores !== null) {
      this.calibrationScores.push(score);
      if (this.calibrationScores.length >= this.args.calibration) {
        this.pot.calibrate(this.calibrationScores);
        this.calibrationScores = null;
      }
      return WARMING_UP;
    }
    const threshold = this.pot.z;
    const probability = 1 - this.pot.tail(score);
    const anomaly = this.pot.judge(score);
    return { threshold, verdict: anomaly ? 'anomaly' : 'normal', probability };
  }

  prime(scores: readonly number[]): void {
    assertPrimeScores(this.kind, scores, this.args.calibration);
    this.pot.calibrate(scores);
    this.calibrationScores = null;
  }

  rescale(factor: number): void {
    assertScaleFactor(factor);
    if (this.calibrationScores)
      this.calibrationScores = this.calibrationScores.map((s) => s * factor);
    else this.pot.rescale(factor);
  }

  snapshot(): ThresholdState {
    return {
      kind: this.kind,
      args: { ...this.args },
      calibrationScores: this.calibrationScores ? [...this.calibrationScores] : null,
      pot: this.pot.toJSON(),
    };
  }

  static restore(state: ThresholdState): SpotThreshold {
    const t = new SpotThreshold(state.args as SpotThresholdArgs);
    t.calibrationScores = state.calibrationScores
      ? [...(state.calibrationScores as number[])]
      : null;
    t.pot.load(state.pot as Record<string, unknown>);
    return t;
  }
}
