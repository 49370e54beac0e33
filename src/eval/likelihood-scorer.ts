import type { StreamingScorer } from './streaming-scorer';

export interface AnomalyLikelihoodArgs {
  /** Past raw scores that define their normal range. */
  history: number;
  /** Raw scores averaged for the short-term level compared with that range. */
  short: number;
  /** Rows after a peak during which a score that does not beat it is halved (0 = off). */
  suppress: number;
}

export interface LikelihoodScorerArgs extends AnomalyLikelihoodArgs {
  /** Past values whose mean and sd define "expected" (a day of 5-minute rows by default). */
  window: number;
}

/** Chosen on nab-dev (see README, "Thresholds and NAB evaluation"). */
export const defaultLikelihoodArgs: LikelihoodScorerArgs = {
  window: 288,
  history: 5000,
  short: 1,
  suppress: 300,
};

/** A fixed-size window of past numbers with running sums (re-summed now and then). */
export class RollingWindow {
  private readonly buf: Float64Array;
  private n = 0;
  private next = 0;
  private sum = 0;
  private sumSq = 0;
  private pushes = 0;

  constructor(readonly size: number) {
    this.buf = new Float64Array(size);
  }

  push(x: number): void {
    if (this.n === this.size) {
      const old = this.buf[this.next]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.n++;
    this.buf[this.next] = x;
    this.next = (this.next + 1) % this.size;
    this.sum += x;
    this.sumSq += x * x;
    if (++this.pushes % 10000 === 0) this.resum(); // keep rounding drift out of the sums
  }

  get count(): number {
    return this.n;
  }

  get mean(): number {
    return this.n ? this.sum / this.n : 0;
  }

  get sd(): number {
    if (this.n < 2) return 0;
    return Math.sqrt(Math.max(0, (this.sumSq - (this.sum * this.sum) / this.n) / (this.n - 1)));
  }

  private resum(): void {
    this.sum = 0;
    this.sumSq = 0;
    for (let i = 0; i < this.n; i++) {
      this.sum += this.buf[i]!;
      this.sumSq += this.buf[i]! * this.buf[i]!;
    }
  }
}

/**
 * Turns a stream of raw anomaly scores (a z-score, a reconstruction error) into NAB-style
 * scores in [0, 1]: after Ahmad et al. 2017 ("anomaly likelihood"), the short-term mean of
 * the raw scores is compared with the mean and sd of the longer history, as a z value
 * mapped monotonically to z / (z + 10). An alarm is worth most on its first row, so a score
 * that does not beat the highest of the last `suppress` rows is halved: one alarm per
 * event, not one per row.
 */
export class AnomalyLikelihood {
  private readonly raws: RollingWindow;
  private readonly recent: RollingWindow;
  private readonly peaks: Float64Array;
  private row = 0;

  constructor(readonly args: AnomalyLikelihoodArgs) {
    this.raws = new RollingWindow(args.history);
    this.recent = new RollingWindow(args.short);
    this.peaks = new Float64Array(Math.max(1, args.suppress));
  }

  /** The score of the next raw score; `certain` (e.g. a spatial anomaly) scores 1 outright. */
  update(raw: number, certain = false): number {
    this.recent.push(raw);
    let score = 0;
    if (certain) score = 1;
    else if (this.raws.count >= Math.min(100, this.args.history)) {
      const z = (this.recent.mean - this.raws.mean) / Math.max(this.raws.sd, 1e-4);
      score = z > 0 ? z / (z + 10) : 0;
    }
    this.raws.push(raw);
    if (this.args.suppress <= 0) return score;
    let recentPeak = 0;
    for (const p of this.peaks) if (p > recentPeak) recentPeak = p;
    this.peaks[this.row++ % this.peaks.length] = score;
    return score > recentPeak ? score : score / 2;
  }
}

/**
 * A value outside everything seen so far, by more than `tolerance` times the range seen:
 * the "spatial anomaly" rule of numenta's NAB detector (same 5 % tolerance), which catches
 * level breaks a model of local shape scores only mildly.
 *
 * @example
 * const spatial = new SpatialAnomaly();
 * spatial.check(value); // true when value leaves [min - 5 % range, max + 5 % range]
 */
export class SpatialAnomaly {
  private min = Infinity;
  private max = -Infinity;

  constructor(readonly tolerance = 0.05) {}

  /** Whether the value breaks the range of all earlier values; then learns it. */
  check(value: number): boolean {
    const range = this.max - this.min;
    const outside =
      range > 0 &&
      (value > this.max + this.tolerance * range || value < this.min - this.tolerance * range);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    return outside;
  }
}

/**
 * The baseline streaming detector (needs no model): the raw score of a row is its distance
 * from the mean of the previous `window` values in their standard deviations, turned into
 * a score by {@link AnomalyLikelihood}; a {@link SpatialAnomaly} scores 1.
 *
 * @example
 * const s = new LikelihoodScorer();
 * const score = s.score(42.1, Date.parse('2014-04-10T07:15:00Z'));
 */
export class LikelihoodScorer implements StreamingScorer {
  private readonly values: RollingWindow;
  private readonly likelihood: AnomalyLikelihood;
  private readonly spatial = new SpatialAnomaly();

  constructor(readonly args: LikelihoodScorerArgs = defaultLikelihoodArgs) {
    this.values = new RollingWindow(args.window);
    this.likelihood = new AnomalyLikelihood(args);
  }

  score(value: number, _timestamp: number): number {
    let raw = 0;
    if (this.values.count >= 2) {
      const sd = this.values.sd;
      const scale = sd > 0 ? sd : Math.max(1e-6, Math.abs(this.values.mean) * 1e-3);
      raw = Math.abs(value - this.values.mean) / scale;
    }
    this.values.push(value);
    return this.likelihood.update(raw, this.spatial.check(value));
  }
}
