import { z } from 'zod';
import type { Judged } from '../core/model-input';

/** `output.events` in a pipeline file: which anomalous windows become events. */
export const eventRulesSchema = z
  .strictObject({
    rule: z
      .enum(['every', 'k-of-n', 'incident'])
      .default('every')
      .describe(
        'every: an event per anomalous window; k-of-n: only when k of the last n windows of the source are anomalous; incident: one event when an incident starts (k of n) and an end event when the last n windows are normal again.',
      ),
    k: z
      .int()
      .min(1)
      .default(3)
      .describe('Anomalous windows among the last n that raise an event.'),
    n: z.int().min(1).default(5).describe('Windows of a source the rule looks back on.'),
  })
  .refine((r) => r.k <= r.n, { message: 'k must not exceed n' })
  .describe('Event rules: how anomalous windows of a source become anomaly events.');

export type EventRulesConfig = z.infer<typeof eventRulesSchema>;

/** One source's event rule state as the state changelog keeps it: its last n verdicts and an open incident. */
export interface EventRulesState {
  /** The last n verdicts of full windows, oldest first (true = anomaly). */
  last: boolean[];
  open: boolean;
}

/** What an event rule makes of one judged window: no event, an event, or an incident's end. */
export type EventDecision = 'none' | 'event' | 'end';

/**
 * Per-source event rules over the verdicts of its full windows, in stream order (partial
 * and warming-up windows are not counted). `every` passes each anomaly; `k-of-n` passes an
 * anomaly when at least k of the source's last n verdicts are anomalies; `incident` passes
 * the anomaly that makes k of n (the incident's start), nothing while it lasts, and `end` at
 * the first window after which the last n verdicts are all normal.
 *
 * @example
 * const rules = new EventRules({ rule: 'k-of-n', k: 2, n: 3 });
 * rules.decide(judged); // 'event' on the second anomaly within three windows
 */
export class EventRules {
  /** Per source: the last n verdicts (true = anomaly), oldest first, and an open incident. */
  private readonly sources = new Map<string, { last: boolean[]; open: boolean }>();

  constructor(private readonly config: EventRulesConfig) {}

  /** True when a decision depends on the window alone (`every`), not on the source's earlier ones. */
  get stateless(): boolean {
    return this.config.rule === 'every';
  }

  decide<F>(judged: Judged<F>): EventDecision {
    const anomaly = judged.verdict === 'anomaly';
    if (this.config.rule === 'every') return anomaly ? 'event' : 'none';
    if (judged.partial || (judged.verdict !== 'normal' && !anomaly)) return 'none';
    let state = this.sources.get(judged.key);
    if (!state) {
      state = { last: [], open: false };
      this.sources.set(judged.key, state);
    }
    state.last.push(anomaly);
    if (state.last.length > this.config.n) state.last.shift();
    const count = state.last.reduce((c, a) => c + (a ? 1 : 0), 0);
    const met = anomaly && count >= this.config.k;
    if (this.config.rule === 'k-of-n') return met ? 'event' : 'none';
    if (!state.open) {
      if (!met) return 'none';
      state.open = true;
      return 'event';
    }
    if (count === 0 && state.last.length === this.config.n) {
      state.open = false;
      return 'end';
    }
    return 'none';
  }

  /** A source's state; null when the rule keeps none (`every`) or the source is unknown. */
  snapshotKey(key: string): EventRulesState | null {
    const s = this.sources.get(key);
    if (!s || this.config.rule === 'every') return null;
    return { last: [...s.last], open: s.open };
  }

  /** Puts a source's state back (null: it starts over); a longer history keeps its last n. */
  restoreKey(key: string, state: EventRulesState | null): void {
    this.sources.delete(key);
    if (state === null || this.config.rule === 'every') return;
    this.sources.set(key, { last: state.last.slice(-this.config.n), open: state.open });
  }

  forgetKey(key: string): void {
    this.sources.delete(key);
  }
}
