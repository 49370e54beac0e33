import {
  AnomalyLikelihood,
  RangeRule,
  RollingWindow,
  type AnomalyLikelihoodArgs,
} from '../operators/score-rules';
import type { StreamingScorer } from './streaming-scorer';

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

/**
 * The baseline streaming detector (needs no model): the raw score of a row is its distance
 * from the mean of the previous `window` values in their standard deviations, turned into
 * a score by {@link AnomalyLikelihood}; a value that breaks the range seen so far ({@link RangeRule}) scores 1.
 *
 * @example
 * const s = new LikelihoodScorer();
 * const score = s.score(42.1, Date.parse('2014-04-10T07:15:00Z'));
 */
export class LikelihoodScorer implements StreamingScorer {
  private readonly values: RollingWindow;
  private readonly likelihood: AnomalyLikelihood;
  private readonly range = new RangeRule(1);

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
    return this.likelihood.update(raw, this.range.check([value]));
  }
}
