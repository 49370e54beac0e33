import { map, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { Scored } from '../core/model-input';

/** Optional rules between the model's score and the threshold, per source (sensor pipelines). */
export const scoreRulesSchema = z
  .strictObject({
    likelihood: z
      .strictObject({
        history: z
          .int()
          .min(10)
          .max(1_000_000)
          .default(5000)
          .describe('Past scores of the source that define their normal mean and spread.'),
        short: z
          .int()
          .min(1)
          .max(10_000)
          .default(1)
          .describe('Latest scores averaged for the level compared with that history.'),
        suppress: z
          .int()
          .min(0)
          .max(1_000_000)
          .default(0)
          .describe(
            'Windows after a peak in which a likelihood that does not beat it is halved (0 = off).',
          ),
      })
      .optional()
      .describe(
        'Judge the anomaly likelihood of the score (Ahmad et al. 2017: z of the short-term mean against the history, as z / (z + 10), in [0, 1)) instead of the raw score.',
      ),
    range: z
      .strictObject({
        tolerance: z
          .number()
          .min(0)
          .max(10)
          .default(0.05)
          .describe('Share of the range seen so far a reading may lie beyond it.'),
      })
      .optional()
      .describe(
        "A reading of any channel outside the range the source's readings have covered so far (widened by tolerance x that range) is an anomaly, whatever the score.",
      ),
  })
  .describe(
    "Rules on scores before the threshold; the score written and judged is the rules' result.",
  );

export type ScoreRulesConfig = z.infer<typeof scoreRulesSchema>;

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

export interface AnomalyLikelihoodArgs {
  history: number;
  short: number;
  suppress: number;
}

/**
 * Turns a stream of raw anomaly scores into scores in [0, 1): after Ahmad et al. 2017
 * ("anomaly likelihood"), the short-term mean of the raw scores is compared with the mean
 * and sd of the longer history, as a z value mapped monotonically to z / (z + 10). With
 * `suppress`, a score that does not beat the highest of the last `suppress` is halved: one
 * alarm per incident, not one per row.
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

  /** The score of the next raw score; `certain` (e.g. a broken range) scores 1 outright. */
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
 * A value outside everything seen so far, by more than `tolerance` times the range seen,
 * per channel: the "spatial anomaly" rule of numenta's NAB detector, which catches level
 * breaks a model of local shape scores only mildly.
 *
 * @example
 * const range = new RangeRule(1);
 * range.check([value]); // true when value leaves [min - 5 % range, max + 5 % range]
 */
export class RangeRule {
  private readonly min: Float64Array;
  private readonly max: Float64Array;

  constructor(
    readonly channels: number,
    readonly tolerance = 0.05,
  ) {
    this.min = new Float64Array(channels).fill(Infinity);
    this.max = new Float64Array(channels).fill(-Infinity);
  }

  /** Whether a reading breaks the range of all earlier ones on any channel; then learns it. */
  check(values: ArrayLike<number>, offset = 0): boolean {
    let outside = false;
    for (let c = 0; c < this.channels; c++) {
      const v = values[offset + c]!;
      const lo = this.min[c]!;
      const hi = this.max[c]!;
      const range = hi - lo;
      if (range > 0 && (v > hi + this.tolerance * range || v < lo - this.tolerance * range))
        outside = true;
      if (v < lo) this.min[c] = v;
      if (v > hi) this.max[c] = v;
    }
    return outside;
  }
}

interface SourceState {
  likelihood: AnomalyLikelihood | null;
  range: RangeRule | null;
}

/**
 * Applies the score rules to each scored sensor window, per source and in stream order:
 * the range rule checks the readings the window brought in (the last `covered` rows), the
 * likelihood replaces the score. A broken range makes the score +Infinity, which the
 * threshold step flags and keeps out of its statistics. Without rules it passes batches on.
 *
 * @example scored$.pipe(scoreRules({ likelihood: { history: 5000, short: 1, suppress: 0 } }, 1))
 */
export function scoreRules<F>(
  rules: ScoreRulesConfig | undefined,
  features: number,
): OperatorFunction<Scored<F>[], Scored<F>[]> {
  if (!rules || (!rules.likelihood && !rules.range)) return (batches) => batches;
  const sources = new Map<string, SourceState>();
  const stateOf = (key: string): SourceState => {
    let s = sources.get(key);
    if (!s) {
      s = {
        likelihood: rules.likelihood ? new AnomalyLikelihood(rules.likelihood) : null,
        range: rules.range ? new RangeRule(features, rules.range.tolerance) : null,
      };
      sources.set(key, s);
    }
    return s;
  };
  return map((batch) => {
    for (const scored of batch) {
      const s = stateOf(scored.key);
      let broken = false;
      if (s.range) {
        const rows = scored.data.length / features;
        const fresh = Math.min(scored.covered.length, rows);
        for (let r = rows - fresh; r < rows; r++) {
          if (s.range.check(scored.data, r * features)) broken = true;
        }
      }
      // A padded window lacks context: it teaches the range but neither raises nor enters the history.
      if (scored.partial || !Number.isFinite(scored.score)) continue;
      if (s.likelihood) scored.score = s.likelihood.update(scored.score, broken);
      if (broken) scored.score = Infinity;
    }
    return batch;
  });
}
