import type { DriftConfig } from './retrain-config';

export interface KsResult {
  /** The KS statistic: the largest gap between the two empirical CDFs. */
  d: number;
  /** The critical value of D at `alpha` for these sample sizes. */
  critical: number;
  /** D > critical: the samples come from different distributions at level `alpha`. */
  rejected: boolean;
}

/**
 * Two-sample Kolmogorov-Smirnov test with the asymptotic critical value
 * c(α)·sqrt((n+m)/(n·m)), c(α) = sqrt(-ln(α/2)/2).
 *
 * @example ksTwoSample([1, 2, 3], [7, 8, 9], 0.05) // { d: 1, critical: 1.11, rejected: false }
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, alpha: number): KsResult {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return { d: 0, critical: Infinity, rejected: false };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i] as number, y[j] as number);
    while (i < n && (x[i] as number) <= v) i++;
    while (j < m && (y[j] as number) <= v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const critical = Math.sqrt(-Math.log(alpha / 2) / 2) * Math.sqrt((n + m) / (n * m));
  return { d, critical, rejected: d > critical };
}

export type DriftState =
  | { kind: 'reference'; have: number; need: number }
  | { kind: 'stable'; ks: KsResult | null }
  | { kind: 'drifting'; ks: KsResult; run: number; sustain: number }
  | { kind: 'drift'; ks: KsResult; run: number };

/**
 * Watches the current model's scores for a sustained change of their distribution.
 * The first `window` scores after the model became current are the reference; the last
 * `window` scores are the recent sample. Every `checkEvery` scores the two are compared
 * with a two-sample KS test at `alpha`; drift is declared when `sustain` consecutive
 * checks reject. A short anomaly moves a few scores of the recent sample and at most one
 * or two checks; a level shift moves the whole recent sample and keeps every check
 * rejecting, so only the latter is drift.
 *
 * @example
 * const drift = new DriftMonitor(config.retrain.drift);
 * for (const s of scores) if (drift.add(s).kind === 'drift') retrain();
 */
export class DriftMonitor {
  private readonly reference: number[] = [];
  private readonly recent: Float64Array;
  private recentCount = 0;
  private sinceCheck = 0;
  private run = 0;
  private last: DriftState;

  constructor(
    private readonly config: Pick<DriftConfig, 'window' | 'checkEvery' | 'alpha' | 'sustain'>,
  ) {
    this.recent = new Float64Array(config.window);
    this.last = { kind: 'reference', have: 0, need: config.window };
  }

  /** The state after the latest score. */
  get state(): DriftState {
    return this.last;
  }

  /** Adds one score and returns the state; `drift` is returned once per sustained run. */
  add(score: number): DriftState {
    const { window } = this.config;
    if (!Number.isFinite(score)) return this.last;
    if (this.reference.length < window) {
      this.reference.push(score);
      this.last = { kind: 'reference', have: this.reference.length, need: window };
      return this.last;
    }
    this.recent[this.recentCount % window] = score;
    this.recentCount++;
    if (this.recentCount < window || ++this.sinceCheck < this.config.checkEvery) {
      if (this.last.kind === 'drift') this.last = { kind: 'stable', ks: this.last.ks };
      return this.last;
    }
    this.sinceCheck = 0;
    const ks = ksTwoSample(this.reference, this.recent, this.config.alpha);
    this.run = ks.rejected ? this.run + 1 : 0;
    if (this.run === 0) this.last = { kind: 'stable', ks };
    else if (this.run < this.config.sustain)
      this.last = { kind: 'drifting', ks, run: this.run, sustain: this.config.sustain };
    else {
      this.last = { kind: 'drift', ks, run: this.run };
      this.run = 0;
    }
    return this.last;
  }

  /** Starts over (a new model is current: its scores need a reference of their own). */
  reset(): void {
    this.reference.length = 0;
    this.recentCount = 0;
    this.sinceCheck = 0;
    this.run = 0;
    this.last = { kind: 'reference', have: 0, need: this.config.window };
  }
}
