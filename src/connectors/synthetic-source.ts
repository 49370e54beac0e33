import { from, type Observable } from 'rxjs';
import type { SensorFrame } from '../core/records';
import { seededRandom } from '../core/seeded-random';

/** The kinds of anomalies the generator injects. */
export type AnomalyKind = 'spike' | 'level-shift' | 'drift' | 'noise-burst';
export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  'spike',
  'level-shift',
  'drift',
  'noise-burst',
];

export interface SyntheticOptions {
  /** Seed of every random choice: the same options give the same frames and anomalies. */
  seed?: number;
  /** Source ids, or how many (named `sensor-0`, `sensor-1`, ...). Default 1. */
  sources?: number | string[];
  /** Readings per source. Default 10,000. */
  length?: number;
  /** Values per reading (D). Default 1. */
  features?: number;
  /** Event time of the first reading (ms) and the step between readings. Defaults 2026-01-01, 60 s. */
  startTime?: number;
  intervalMs?: number;
  /** Seasonal components: period in readings and amplitude. Default a day (1440 min) and an hour-ish ripple. */
  seasons?: Array<{ period: number; amplitude: number }>;
  /** Standard deviation of the Gaussian noise. Default 0.1. */
  noise?: number;
  /** Anomalies injected per source. Default 4. */
  anomaliesPerSource?: number;
  /** Kinds to draw from, in rotation per source. Default all four. */
  kinds?: readonly AnomalyKind[];
  /** Size of an anomaly in units of the signal's amplitude. Default 3. */
  magnitude?: number;
  /** Readings at the start of each source kept free of anomalies (for calibration). Default 20 % of length. */
  warmup?: number;
}

/** Where an anomaly was injected: readings [start, end) of one source. */
export interface InjectedAnomaly {
  source: string;
  kind: AnomalyKind;
  /** Index of the first and one past the last affected reading of the source. */
  start: number;
  end: number;
  /** Event times of the first and the last affected reading. */
  startTime: number;
  endTime: number;
  /** Features affected. */
  features: number[];
}

function gaussian(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - random();
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Seeded synthetic sensor data: per source and feature a sum of seasonal sine waves with
 * random phases plus Gaussian noise, with anomalies injected at known positions (spikes,
 * level shifts, drifts, noise bursts). `anomalies` is known before any frame is read,
 * so a demo or an evaluation can score a detector against it.
 *
 * @example
 * const gen = new SyntheticSource({ seed: 7, sources: 3, length: 5000 });
 * gen.anomalies;            // [{ source: 'sensor-0', kind: 'spike', start: 1234, end: 1235, ... }, ...]
 * for (const frame of gen.frames()) producer.send(frame);   // time order, sources interleaved
 * gen.isAnomalous('sensor-0', 1234);   // true
 */
export class SyntheticSource {
  readonly sources: readonly string[];
  readonly anomalies: readonly InjectedAnomaly[];
  readonly length: number;
  readonly features: number;
  private readonly opts: Required<Omit<SyntheticOptions, 'sources'>>;
  private readonly bySource: Map<string, InjectedAnomaly[]>;

  constructor(options: SyntheticOptions = {}) {
    const sources = options.sources ?? 1;
    this.sources =
      typeof sources === 'number'
        ? Array.from({ length: sources }, (_, i) => `sensor-${i}`)
        : [...sources];
    this.opts = {
      seed: options.seed ?? 1,
      length: options.length ?? 10_000,
      features: options.features ?? 1,
      startTime: options.startTime ?? Date.UTC(2026, 0, 1),
      intervalMs: options.intervalMs ?? 60_000,
      seasons: options.seasons ?? [
        { period: 1440, amplitude: 1 },
        { period: 60, amplitude: 0.3 },
      ],
      noise: options.noise ?? 0.1,
      anomaliesPerSource: options.anomaliesPerSource ?? 4,
      kinds: options.kinds ?? ANOMALY_KINDS,
      magnitude: options.magnitude ?? 3,
      warmup: options.warmup ?? Math.floor((options.length ?? 10_000) * 0.2),
    };
    this.length = this.opts.length;
    this.features = this.opts.features;
    this.bySource = new Map(this.sources.map((s, i) => [s, this.plan(s, i)]));
    this.anomalies = [...this.bySource.values()].flat();
  }

  /** True when reading `index` of `source` lies inside an injected anomaly. */
  isAnomalous(source: string, index: number): boolean {
    return (this.bySource.get(source) ?? []).some((a) => index >= a.start && index < a.end);
  }

  /** Every frame in event-time order, sources interleaved; each frame's seq is its index. */
  *frames(): Generator<SensorFrame> {
    const series = this.sources.map((s, i) => this.series(s, i));
    for (let t = 0; t < this.length; t++) {
      for (const s of series) {
        const next = s.next();
        if (!next.done) yield next.value;
      }
    }
  }

  /** frames() as an Observable. */
  source(): Observable<SensorFrame> {
    return from(this.frames());
  }

  /** The readings of one source, in order. */
  *series(source: string, sourceIndex = this.sources.indexOf(source)): Generator<SensorFrame> {
    const o = this.opts;
    const random = seededRandom(o.seed * 7919 + sourceIndex * 104_729 + 1);
    const noise = gaussian(random);
    const phases = Array.from({ length: o.features }, () =>
      o.seasons.map(() => random() * 2 * Math.PI),
    );
    const offsets = Array.from({ length: o.features }, () => (random() - 0.5) * 2);
    const amplitude = o.seasons.reduce((a, s) => a + s.amplitude, 0) || 1;
    const anomalies = this.bySource.get(source) ?? [];
    for (let t = 0; t < o.length; t++) {
      const values = new Array<number>(o.features);
      for (let f = 0; f < o.features; f++) {
        let v = offsets[f];
        for (let k = 0; k < o.seasons.length; k++) {
          v +=
            o.seasons[k].amplitude *
            Math.sin((2 * Math.PI * t) / o.seasons[k].period + phases[f][k]);
        }
        let sigma = o.noise;
        for (const a of anomalies) {
          if (t < a.start || t >= a.end || !a.features.includes(f)) continue;
          const size = o.magnitude * amplitude;
          const progress = (t - a.start + 1) / (a.end - a.start);
          if (a.kind === 'spike') v += (a.start % 2 === 0 ? 1 : -1) * size * 1.5;
          else if (a.kind === 'level-shift') v += size;
          else if (a.kind === 'drift') v += size * progress;
          else sigma = o.noise * 10 + amplitude * 0.5;
        }
        values[f] = v + sigma * noise();
      }
      yield { source, time: o.startTime + t * o.intervalMs, values, seq: t, attributes: {} };
    }
  }

  /** Non-overlapping anomaly windows of one source, after the warm-up, drawn from the seed. */
  private plan(source: string, sourceIndex: number): InjectedAnomaly[] {
    const o = this.opts;
    const random = seededRandom(o.seed * 31 + sourceIndex * 7 + 12_345);
    const count = o.anomaliesPerSource;
    const usable = o.length - o.warmup;
    if (count === 0 || usable <= 0) return [];
    // One slot per anomaly, so windows never overlap and spread over the series.
    const slot = Math.floor(usable / count);
    const out: InjectedAnomaly[] = [];
    for (let i = 0; i < count; i++) {
      const kind = o.kinds[(i + sourceIndex) % o.kinds.length];
      const maxLen = Math.max(1, Math.floor(slot / 2));
      const len =
        kind === 'spike'
          ? 1
          : Math.min(maxLen, 20 + Math.floor(random() * Math.max(1, Math.min(200, maxLen) - 20)));
      const slotStart = o.warmup + i * slot;
      const start = slotStart + Math.floor(random() * Math.max(1, slot - len));
      const end = Math.min(o.length, start + len);
      const nFeatures = 1 + Math.floor(random() * o.features);
      const all = Array.from({ length: o.features }, (_, f) => f);
      for (let k = all.length - 1; k > 0; k--) {
        const j = Math.floor(random() * (k + 1));
        [all[k], all[j]] = [all[j], all[k]];
      }
      const features = all.slice(0, nFeatures).sort((a, b) => a - b);
      out.push({
        source,
        kind,
        start,
        end,
        startTime: o.startTime + start * o.intervalMs,
        endTime: o.startTime + (end - 1) * o.intervalMs,
        features,
      });
    }
    return out;
  }
}
