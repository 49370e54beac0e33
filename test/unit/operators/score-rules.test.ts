import { from, lastValueFrom, toArray } from 'rxjs';
import type { Scored } from '../../../src/core/model-input';
import { parsePipeline } from '../../../src/config/load-pipeline';
import { createAvroCodec } from '../../../src/codecs/avro-codec';
import {
  AnomalyLikelihood,
  BlockWindow,
  RangeRule,
  ScoreRules,
  scoreRules,
  scoreRulesSchema,
} from '../../../src/operators/score-rules';
import type { SourceStateRecord } from '../../../src/operators/source-states';

describe('AnomalyLikelihood', () => {
  it('halves a score that does not beat the peak of the suppression span', () => {
    const plain = new AnomalyLikelihood({ history: 200, short: 1, suppress: 0 });
    const damped = new AnomalyLikelihood({ history: 200, short: 1, suppress: 20 });
    const raws = Array.from({ length: 300 }, (_, i) =>
      i === 250 ? 10 : i === 255 ? 8 : (i % 7) / 7,
    );
    const p = raws.map((r) => plain.update(r));
    const d = raws.map((r) => damped.update(r));
    expect(d[250]).toBe(p[250]);
    expect(p[255]).toBeGreaterThan(0.3);
    expect(d[255]).toBeCloseTo(p[255]! / 2, 12);
  });

  it("with newest, judges the larger of the window's and its newest reading's likelihood", () => {
    const args = { history: 200, short: 1, suppress: 0 };
    const plain = new AnomalyLikelihood(args);
    const both = new AnomalyLikelihood({ ...args, newest: true });
    // A break in the newest reading that the window's mean error barely shows.
    const window = (i: number) => (i === 300 ? 1.02 : 1 + 0.05 * Math.sin(i * 1.7));
    const newest = (i: number) => (i === 300 ? 5 : 1 + 0.3 * Math.sin(i * 1.3));
    const p = Array.from({ length: 301 }, (_, i) => plain.update(window(i)));
    const b = Array.from({ length: 301 }, (_, i) => both.update(window(i), false, newest(i)));
    expect(p[300]).toBeLessThan(0.1);
    expect(b[300]).toBeGreaterThan(0.5);
    for (let i = 0; i < 300; i++) expect(b[i]).toBeGreaterThanOrEqual(p[i]!);
    // Without a newest score (NaN: images, or a model that gives none) it is the plain rule.
    const none = new AnomalyLikelihood({ ...args, newest: true });
    expect(Array.from({ length: 301 }, (_, i) => none.update(window(i)))).toEqual(p);
  });

  it('with daily, expects a spike that came at this time of day yesterday, and still flags a new one', () => {
    const args = { history: 2000, short: 1, suppress: 0 };
    const plain = new AnomalyLikelihood(args);
    const daily = new AnomalyLikelihood({ ...args, daily: true });
    // Five days of 5-minute readings: from day 2 on, a job's spike every day at 03:10
    // (within 15 minutes either way), and on day 4 a first spike at 15:00.
    const start = Date.UTC(2026, 0, 1);
    const perDay = 288;
    const jitter = [0, 3, -2, 1];
    const spikes = new Set(jitter.map((j, d) => (d + 1) * perDay + 38 + j));
    const fresh = 3 * perDay + 180;
    const n = 5 * perDay;
    const raw = (i: number) =>
      spikes.has(i) ? 6 : i === fresh ? 6 : 1 + 0.2 * Math.sin(i * 1.3) + ((i * 37) % 11) / 50;
    const p: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < n; i++) {
      p.push(plain.update(raw(i), false, NaN, start + i * 300_000));
      d.push(daily.update(raw(i), false, NaN, start + i * 300_000));
    }
    const [first, ...later] = [...spikes].sort((a, b) => a - b);
    expect(p[first!]).toBeGreaterThan(0.5);
    expect(d[first!]).toBe(p[first!]); // nothing came at 03:10 the day before
    for (const i of later) {
      expect(p[i]).toBeGreaterThan(0.5);
      expect(d[i]).toBeLessThan(0.5);
    }
    expect(d[fresh]).toBeGreaterThan(0.5);
    // Elsewhere the two agree or daily is lower: it only ever takes off.
    for (let i = 0; i < n; i++) expect(d[i]).toBeLessThanOrEqual(p[i]! + 1e-12);
  });

  it('with profile, flags a day unlike yesterday although each window of it scores as normal', () => {
    const args = { history: 2000, short: 1, suppress: 0 };
    const plain = new AnomalyLikelihood(args);
    const profile = new AnomalyLikelihood({ ...args, profile: true });
    // Six days of 5-minute readings, low at night and high from 08:00 to 18:00 (as NAB's
    // art_daily series); on day 4 the day stays flat at 40. The model's raw score is the
    // same noise throughout: each window of the flat day is a shape it knows.
    const start = Date.UTC(2026, 0, 1);
    const perDay = 288;
    const flat = (i: number) => Math.floor(i / perDay) === 4;
    const reading = (i: number) => {
      const noise = ((i * 37) % 11) / 10 - 0.5;
      if (flat(i)) return 40 + noise;
      const hour = (i % perDay) / 12;
      return (hour >= 8 && hour < 18 ? 80 : 20) + noise;
    };
    const raw = (i: number) => 1 + 0.2 * Math.sin(i * 1.3) + ((i * 37) % 11) / 50;
    const p: number[] = [];
    const q: number[] = [];
    for (let i = 0; i < 6 * perDay; i++) {
      const time = start + i * 300_000;
      p.push(plain.update(raw(i), false, NaN, time));
      q.push(profile.update(raw(i), false, NaN, time, { values: [reading(i)], from: 0, rows: 1 }));
    }
    expect(p.every((x) => x < 0.5)).toBe(true);
    const flagged = q.flatMap((x, i) => (x > 0.5 ? [i] : []));
    // From the flat day's first complete slot, at the reading that opens the next one (then
    // its distances widen the history, as any anomaly's scores do); the day after, each slot
    // is again unlike the one before (the flat day): the daily memory
    // (rules.likelihood.daily) is what expects that.
    expect(flagged[0]).toBe(4 * perDay + 3);
    expect(flagged.every((i) => i >= 4 * perDay && i < 6 * perDay)).toBe(true);
  });

  it('scores 1 outright when certain, and stays in [0, 1) otherwise', () => {
    const l = new AnomalyLikelihood({ history: 200, short: 1, suppress: 0 });
    const scores = Array.from({ length: 400 }, (_, i) => l.update(i === 300 ? 1e6 : (i % 5) / 5));
    expect(scores.every((s) => s >= 0 && s < 1)).toBe(true);
    expect(l.update(0, true)).toBe(1);
  });
});

/** Mean and sample sd of numbers, computed directly. */
function stats(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, sd: Math.sqrt(v) };
}

describe('BlockWindow', () => {
  const xs = Array.from({ length: 25_000 }, (_, i) => 5 + Math.sin(i / 37) * 3 + (i % 11) / 4);

  it('is exactly the last `size` values up to 100', () => {
    const w = new BlockWindow(60);
    xs.slice(0, 1000).forEach((x) => w.push(x));
    const last = stats(xs.slice(940, 1000));
    expect(w.count).toBe(60);
    expect(w.mean).toBeCloseTo(last.mean, 9);
    expect(w.sd).toBeCloseTo(last.sd, 9);
  });

  it('holds 100 blocks of a long history: the last `size` values and at most one block more', () => {
    const w = new BlockWindow(10_000);
    expect(w.blockSize).toBe(100);
    for (let i = 0; i < xs.length; i++) {
      w.push(xs[i]!);
      const n = w.count;
      if (i % 997 !== 996) continue;
      expect(n).toBeGreaterThanOrEqual(Math.min(i + 1, 10_000));
      expect(n).toBeLessThan(10_100);
      const last = stats(xs.slice(i + 1 - n, i + 1));
      expect(w.mean).toBeCloseTo(last.mean, 9);
      expect(w.sd).toBeCloseTo(last.sd, 9);
    }
  });

  it('prefilled, holds the prior in its free blocks until the numbers pushed after push it out', () => {
    const w = new BlockWindow(1000);
    const held = xs.slice(0, 50);
    w.prefill(2, 0.25, held.length);
    held.forEach((x) => w.push(x));
    // 950 numbers of mean 2 and variance 0.25 (the prior), then the 50 pushed.
    const h = stats(held);
    const n = 1000;
    const mean = (950 * 2 + 50 * h.mean) / n;
    const sumSq = 950 * (0.25 + 4) + held.reduce((a, x) => a + x * x, 0);
    expect(w.count).toBe(n);
    expect(w.mean).toBeCloseTo(mean, 9);
    expect(w.sd).toBeCloseTo(Math.sqrt((sumSq - n * mean * mean) / (n - 1)), 9);
    // A full history of pushed numbers leaves nothing of the prior.
    xs.slice(50, 1050).forEach((x) => w.push(x));
    const last = stats(xs.slice(50, 1050));
    expect(w.mean).toBeCloseTo(last.mean, 9);
    expect(w.sd).toBeCloseTo(last.sd, 9);
  });

  it('continues exactly from a snapshot, and refuses one of another size', () => {
    const a = new BlockWindow(5000);
    xs.slice(0, 7777).forEach((x) => a.push(x));
    const b = new BlockWindow(5000);
    expect(b.restore(a.snapshot())).toBe(true);
    for (const x of xs.slice(7777, 9000)) {
      a.push(x);
      b.push(x);
    }
    expect([b.count, b.mean, b.sd]).toEqual([a.count, a.mean, a.sd]);
    expect(new BlockWindow(10_000).restore(a.snapshot())).toBe(false);
  });
});

describe('RangeRule', () => {
  it('flags a value beyond all earlier ones by more than 5 % of their range, and then learns it', () => {
    const s = new RangeRule(1);
    expect([0, 10, 5, 10.4, 11, 11, -0.5, -1.2].map((v) => s.check([v]))).toEqual([
      false, // nothing seen yet
      false, // no range yet
      false,
      false, // within 10 + 5 % of 10
      true, // beyond 10.4 + 0.52
      false, // the range now ends at 11
      false, // within 0 - 0.55
      true, // beyond -0.5 - 0.575
    ]);
  });

  it('checks every channel of a reading on its own range', () => {
    const s = new RangeRule(2, 0);
    s.check([0, 100]);
    s.check([1, 200]);
    expect(s.check([0.5, 150])).toBe(false);
    expect(s.check([0.5, 201])).toBe(true);
    expect(s.check([1.5, 150])).toBe(true);
  });

  /** Readings near 15, a spike to 76, then a shift to 27 at reading 300 (as NAB's rds_cpu e47b3b). */
  const shifted = (i: number) => (i === 100 ? 76 : i >= 300 ? 27 : 15) + ((i * 7) % 5) / 5;
  /** Which sliding windows of 24 such readings each rule flags. */
  const flagged = (median: boolean) => {
    const s = new RangeRule(1, 0.05, median);
    const out = { readings: [] as number[], medians: [] as number[] };
    for (let i = 0; i < 400; i++) {
      if (s.check([shifted(i)])) out.readings.push(i);
      if (i < 23) continue; // the flow checks medians of full windows only
      const window = Array.from({ length: 24 }, (_, k) => shifted(i - k));
      if (s.checkMedian(window, 24)) out.medians.push(i);
    }
    return out;
  };

  it("with median, flags a level shift once that an earlier spike hides from the readings' range", () => {
    const { readings, medians } = flagged(true);
    expect(readings).toEqual([2, 100]); // the spike, then nothing: 27 lies inside 15..76
    // The window's (lower) median moves to the new level when half the window has it, once.
    expect(medians).toEqual([300 + 12]);
    expect(flagged(false)).toEqual({ readings: [2, 100], medians: [] });
  });

  it('with median, lets spikes and noise pass: a spike hardly moves a median', () => {
    const s = new RangeRule(1, 0.05, true);
    const level = (i: number) => 15 + ((i * 7) % 5) / 5 + (i % 50 === 0 ? 60 : 0);
    const hits = [];
    for (let i = 24; i < 1000; i++) {
      const window = Array.from({ length: 24 }, (_, k) => level(i - k));
      if (s.checkMedian(window, 24)) hits.push(i);
    }
    expect(hits).toEqual([]);
  });
});

/** A scored window of one channel whose last reading is `value`. */
function scored(key: string, value: number, score: number, partial = false): Scored<null> {
  return {
    key,
    data: Float32Array.of(0, value),
    last: null as never,
    covered: [null as never],
    partial,
    score,
    contributions: [],
    modelVersion: 'v',
  };
}

describe('scoreRules', () => {
  const rules = scoreRulesSchema.parse({ range: {}, likelihood: { history: 50 } });

  it('passes batches on untouched without rules', async () => {
    const batch = [scored('a', 1, 0.5)];
    const out = await lastValueFrom(from([batch]).pipe(scoreRules(undefined, 1), toArray()));
    expect(out[0]![0]!.score).toBe(0.5);
  });

  it('replaces scores by their likelihood per source, and a broken range by +Infinity', async () => {
    const batches = [
      // readings 0 and 9 first, so the range is 0..9 before any other reading
      Array.from({ length: 120 }, (_, i) => scored('a', i === 1 ? 9 : i % 10, 1 + (i % 3) / 10)),
      [scored('b', 50, 1), scored('a', 5, 1.1), scored('a', 30, 1.1), scored('a', 5, 9)],
    ];
    const out = await lastValueFrom(from(batches).pipe(scoreRules(rules, 1), toArray()));
    const first = out[0]!.map((s) => s.score);
    expect(first.every((s) => s >= 0 && s < 1)).toBe(true);
    const [b, normal, broken, high] = out[1]!.map((s) => s.score);
    expect(b).toBe(0); // a new source: no history, no range yet
    expect(normal).toBeLessThan(0.5);
    expect(broken).toBe(Infinity); // 30 is beyond a's range 0..9
    expect(high).toBeGreaterThan(0.5); // a raw score far above a's history
  });

  it('lets a padded window teach the range but never raise', async () => {
    const out = await lastValueFrom(
      from([[scored('a', 0, 1, true), scored('a', 10, 1, true), scored('a', 100, 1, true)]]).pipe(
        scoreRules(scoreRulesSchema.parse({ range: {} }), 1),
        toArray(),
      ),
    );
    expect(out[0]!.map((s) => s.score)).toEqual([1, 1, 1]);
  });

  it('is a pipeline-file section', () => {
    const config = parsePipeline(
      `
name: r
input: { kafka: { brokers: 'b:9092', topic: t, group: g }, schema: schemas/sensor-frame.avsc }
frame: { kind: sensor, features: 1, window: 8 }
model: { kind: dense-ae, hidden: [4], store: ./m }
rules: { likelihood: { history: 1000 }, range: { tolerance: 0.1 } }
threshold: { kind: static, value: 0.5 }
output: {}
`,
      'r.yaml',
      { env: {}, baseDir: process.cwd() },
    );
    expect(config.rules).toEqual({
      likelihood: {
        history: 1000,
        short: 1,
        suppress: 0,
        newest: false,
        daily: false,
        profile: false,
        prior: 'off',
      },
      range: { tolerance: 0.1, median: false },
    });
  });
});

describe('ScoreRules across a model swap', () => {
  const rules = () => new ScoreRules(scoreRulesSchema.parse({ likelihood: { history: 500 } }), 1);
  /** Normal scores of a model whose errors run `scale` times those of v1. */
  const window = (i: number, version: string, scale: number) =>
    ({
      key: 'pump-1',
      data: new Float32Array([0]),
      covered: [{}],
      score: scale * (1 + 0.1 * Math.sin(i * 1.7)),
      partial: false,
      modelVersion: version,
    }) as unknown as Scored<unknown>;
  const likelihoods = (r: ScoreRules, ratio?: (from: string, to: string) => number) => {
    const models = ratio && { ratio, reference: () => undefined };
    for (let i = 0; i < 600; i++) r.apply([window(i, 'v1', 1)], models);
    return Array.from({ length: 50 }, (_, i) => r.apply([window(i, 'v2', 2)], models)[0]!.score);
  };

  it('carries the history over by the ratio of the two models: normal scores stay normal', () => {
    const carried = likelihoods(rules(), (from, to) => (from === 'v1' && to === 'v2' ? 2 : 1));
    // A sine peaks at √2 of its sd: z ≤ 1.42, a likelihood ≤ 0.124.
    expect(Math.max(...carried)).toBeLessThan(0.125);
    // Without the ratio, every one of the new model's first 50 normal scores would be an
    // alarm at the multivariate preset's level (0.16).
    expect(Math.min(...likelihoods(rules()))).toBeGreaterThan(0.16);
  });

  it("starts a new source's history from the model's held-back scores: it judges its first window", () => {
    const heldBack = Array.from({ length: 200 }, (_, i) => 1 + 0.1 * Math.sin(i * 1.7));
    const models = {
      ratio: () => undefined,
      reference: (v: string) => (v === 'v1' ? heldBack : undefined),
    };
    const anomalous = { ...window(0, 'v1', 1), score: 3 } as Scored<unknown>;
    expect(rules().apply([{ ...anomalous }], models)[0]!.score).toBeGreaterThan(0.5);
    // Without a stored calibration it waits for 100 scores of its own.
    expect(rules().apply([{ ...anomalous }])[0]!.score).toBe(0);
  });

  it('with prior, keeps flagging a long shift at a new source until it is a fifth of the history, not of what it saw', () => {
    const heldBack = Array.from({ length: 40 }, (_, i) => 1 + 0.1 * Math.sin(i * 1.7));
    const models = { ratio: () => undefined, reference: () => heldBack };
    const run = (prior: 'off' | 'held-back') => {
      const r = new ScoreRules(scoreRulesSchema.parse({ likelihood: { history: 5000, prior } }), 1);
      // 300 normal windows, then 400 shifted to 1.5 (five sds of the normal scores).
      return Array.from({ length: 700 }, (_, i) => {
        const w = window(i, 'v1', i < 300 ? 1 : 1.5);
        return r.apply([w], models)[0]!.score;
      });
    };
    const flagged = (scores: number[]) => scores.slice(300).filter((s) => s >= 0.16).length;
    const without = run('off');
    const withPrior = run('held-back');
    // Without the prior the shift is a fifth of the 740 scores seen after about 90 windows.
    expect(flagged(without)).toBeLessThan(150);
    expect(flagged(withPrior)).toBe(400);
    // Normal windows stay normal either way.
    expect(Math.max(...withPrior.slice(0, 300))).toBeLessThan(0.16);
  });

  it('with prior: training, takes the spread over all training windows when the held-back one is narrower', () => {
    // Held-back scores of a narrow spread (sd 0.01); over all training windows it was 0.05.
    const heldBack = Array.from({ length: 40 }, (_, i) => 1 + 0.014 * Math.sin(i * 1.7));
    const models = {
      ratio: () => undefined,
      reference: () => heldBack,
      referenceSpread: () => ({ scores: 0.05 }),
    };
    const first = (prior: 'held-back' | 'training') =>
      new ScoreRules(scoreRulesSchema.parse({ likelihood: { history: 5000, prior } }), 1).apply(
        [{ ...window(0, 'v1', 1), score: 1.06 }],
        models,
      )[0]!.score;
    // 1.06 is six held-back sds above their mean, but about one sd of the training spread.
    expect(first('held-back')).toBeGreaterThan(0.3);
    expect(first('training')).toBeLessThan(0.16);
  });

  it("starts the newest reading's history from the model's held-back newest scores", () => {
    const newestRules = () =>
      new ScoreRules(scoreRulesSchema.parse({ likelihood: { history: 500, newest: true } }), 1);
    const heldBack = Array.from({ length: 200 }, (_, i) => 1 + 0.1 * Math.sin(i * 1.7));
    const models = {
      ratio: () => undefined,
      reference: (v: string) => (v === 'v1' ? heldBack : undefined),
      referenceNewest: (v: string) => (v === 'v1' ? heldBack : undefined),
    };
    // The window's score is normal, its newest reading is not.
    const breaking = { ...window(0, 'v1', 1), score: 1, newest: 3 } as Scored<unknown>;
    expect(newestRules().apply([{ ...breaking }], models)[0]!.score).toBeGreaterThan(0.5);
    expect(rules().apply([{ ...breaking }], models)[0]!.score).toBeLessThan(0.1);
  });
});

describe.each([
  [false, false, false, false],
  [true, false, false, false],
  [false, true, false, false],
  [false, false, true, false],
  [false, true, false, true],
])(
  'ScoreRules state (newest reading judged too: %s, daily: %s, median: %s, profile: %s)',
  (newest, daily, median, profile) => {
    const config = scoreRulesSchema.parse({
      likelihood: { history: 40, short: 3, suppress: 5, newest, daily, profile },
      range: { tolerance: 0.05, median },
    });
    const codec = createAvroCodec<SourceStateRecord>('SourceState');
    /** One scored window per reading of two channels, with a level break at reading 120. */
    const windowsOf = (key: string, n: number) =>
      Array.from({ length: n }, (_, i) => {
        const v = i >= 120 ? 9 : Math.sin(i / 4) + (i % 11) / 30;
        return {
          key,
          data: new Float32Array([v, -v, v * 0.5, v]),
          covered: [{}],
          // A reading every 10 minutes: past reading 144 the daily memory holds a day.
          last: { value: { time: Date.UTC(2026, 0, 1) + i * 600_000 } },
          score: Math.abs(Math.cos(i / 3)) + (i === 70 || i === 214 ? 5 : 0) + (i % 13) / 50,
          newest: Math.abs(Math.sin(i / 2)) + (i === 90 ? 7 : 0),
          partial: i < 2,
        } as unknown as Scored<unknown>;
      });
    const run = (rules: ScoreRules, windows: Scored<unknown>[]) =>
      windows.map((w) => rules.apply([{ ...w }])[0]!.score);

    it('continues exactly from a snapshot taken through the changelog schema', () => {
      const windows = windowsOf('s', 240);
      const whole = run(new ScoreRules(config, 2), windows);
      for (const cut of [1, 30, 45, 121, 170, 214]) {
        const first = new ScoreRules(config, 2);
        const before = run(first, windows.slice(0, cut));
        const record = {
          ...baseRecord,
          rules: first.snapshotKey('s'),
        };
        const decoded = codec.decode(codec.encode(record));
        const again = new ScoreRules(config, 2);
        expect(again.restoreKey('s', decoded.rules)).toBeNull();
        // Bit for bit: the same sums, ring and peaks as the uninterrupted rules.
        expect([...before, ...run(again, windows.slice(cut))]).toEqual(whole);
      }
      expect(whole.slice(121).every((s) => s === Infinity || s < 1)).toBe(true);
      expect(whole[120]).toBe(Infinity); // the level break, caught by the range rule
    });

    it('refuses the state of other rules and starts a source over without one', () => {
      const first = new ScoreRules(config, 2);
      run(first, windowsOf('s', 60));
      const state = first.snapshotKey('s')!;
      const longer = new ScoreRules(
        { ...config, likelihood: { ...config.likelihood!, history: 80 } },
        2,
      );
      expect(longer.restoreKey('s', state)).toMatch(/likelihood/);
      expect(longer.snapshotKey('s')).toBeNull();
      expect(new ScoreRules(config, 3).restoreKey('s', state)).toMatch(/channel count/);
      const fresh = new ScoreRules(config, 2);
      expect(fresh.restoreKey('s', null)).toBeNull();
      expect(run(fresh, windowsOf('s', 10))).toEqual(
        run(new ScoreRules(config, 2), windowsOf('s', 10)),
      );
    });
  },
);

const baseRecord: SourceStateRecord = {
  pipeline: 'p',
  source: 's',
  modelVersion: 'v000001',
  partition: 0,
  offset: 0,
  readings: 0,
  window: 0,
  features: 0,
  values: [],
  times: [],
  threshold: null,
  rules: null,
  events: null,
  writtenAt: 0,
};
