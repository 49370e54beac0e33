import { normalCdf } from '../thresholds/normal-cdf';
import type { StreamingScorer } from './streaming-scorer';

export interface LikelihoodScorerArgs {
  /** Past values whose mean and sd define "expected" (a day of 5-minute rows by default). */
  window: number;
  /** Past raw scores that define their normal distribution (the anomaly likelihood). */
  history: number;
  /** Raw scores averaged for the short-term level compared with that history. */
  short: number;
}

export const defaultLikelihoodArgs: LikelihoodScorerArgs = { window: 288, history: 2880, short: 5 };

/** A fixed-size window of past numbers with its running sums (re-summed now and then). */
class Window {
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
 * The baseline streaming detector (needs no model): the raw score of a row is its distance
 * from the mean of the previous `window` values in their standard deviations; the anomaly
 * score is the anomaly likelihood of Ahmad et al. 2017 on those raw scores: how improbable
 * the average of the last `short` raw scores is under the Gaussian of the last `history`
 * raw scores, log-scaled as NAB's numenta detector does so that the tail keeps its
 * resolution: log(tail + 1e-10) / log(1e-10).
 *
 * @example
 * const s = new LikelihoodScorer();
 * const score = s.score(42.1, Date.parse('2014-04-10T07:15:00Z'));
 */
export class LikelihoodScorer implements StreamingScorer {
  private readonly values: Window;
  private readonly raws: Window;
  private readonly recent: Window;

  constructor(readonly args: LikelihoodScorerArgs = defaultLikelihoodArgs) {
    this.values = new Window(args.window);
    this.raws = new Window(args.history);
    this.recent = new Window(args.short);
  }

  score(value: number, _timestamp: number): number {
    let raw = 0;
    if (this.values.count >= 2) {
      const sd = this.values.sd;
      const scale = sd > 0 ? sd : Math.max(1e-6, Math.abs(this.values.mean) * 1e-3);
      raw = Math.abs(value - this.values.mean) / scale;
    }
    this.values.push(value);
    this.recent.push(raw);
    let score = 0;
    if (this.raws.count >= Math.min(100, this.args.history)) {
      const sd = Math.max(this.raws.sd, 1e-4);
      const tail = 1 - normalCdf((this.recent.mean - this.raws.mean) / sd);
      score = Math.min(1, Math.max(0, Math.log(Math.max(0, tail) + 1e-10) / Math.log(1e-10)));
    }
    this.raws.push(raw);
    return score;
  }
}
