import { createThreshold, restoreThreshold } from '../../../src/thresholds/create-threshold';
import { KSigmaThreshold } from '../../../src/thresholds/ksigma-threshold';
import { QuantileThreshold } from '../../../src/thresholds/quantile-threshold';
import { thresholdSchema, type ThresholdSpec } from '../../../src/thresholds/threshold-config';
import {
  createThresholdRegistry,
  type ThresholdDecision,
} from '../../../src/thresholds/threshold-registry';
import {
  decodeRegistryState,
  encodeRegistryState,
} from '../../../src/thresholds/threshold-state-codec';
import {
  parseThresholdCommand,
  thresholdCommandFromRecord,
} from '../../../src/thresholds/threshold-command';
import { AeError } from '../../../src/core/errors';
import { exponential, gaussian, seeded } from './random';

const specs: ThresholdSpec[] = [
  { kind: 'static', value: 3 },
  { kind: 'ksigma', k: 4, halfLife: 500, calibration: 200 },
  { kind: 'quantile', q: 0.99, epsilon: 0.001, calibration: 500 },
  { kind: 'spot', risk: 1e-3, calibration: 500, level: 0.95, maxPeaks: 200 },
  { kind: 'dspot', risk: 1e-3, calibration: 500, level: 0.95, maxPeaks: 200, depth: 20 },
];

describe.each(specs.filter((s) => s.kind !== 'static').map((s) => [s.kind, s] as const))(
  '%s threshold after a model swap',
  (_kind, spec) => {
    it('rescale(c) carries what it learned over: it judges c times the scores as it judged the scores', () => {
      const c = 4;
      const learned = createThreshold(spec);
      for (const x of exponential(seeded(31), 1500)) learned.update(x);
      const scaled = restoreThreshold(learned.snapshot());
      scaled.rescale(c);
      expect(scaled.current).toBeCloseTo(c * learned.current!, 9);
      const next = [...exponential(seeded(32), 1000), 9, 12, 30];
      let same = 0;
      for (const x of next) {
        const a = learned.update(x);
        const b = scaled.update(c * x);
        if (a.verdict === b.verdict) same++;
        // Exact with c a power of two: the tail refits (spot, dspot) fit in units of the scale.
        expect(Math.abs(b.threshold! / a.threshold! / c - 1)).toBeLessThan(1e-9);
      }
      expect(same).toBe(next.length);
    });
  },
);

it('a static threshold keeps its hand-set value across a model swap', () => {
  const t = createThreshold({ kind: 'static', value: 3 });
  t.rescale(4);
  expect(t.current).toBe(3);
});

it('a registry rescales every key it has learned, and lists them', () => {
  const registry = createThresholdRegistry(
    thresholdSchema.parse({ kind: 'ksigma', k: 3, calibration: 50 }),
  );
  for (const x of gaussian(seeded(33), 100, 1, 0.1)) {
    registry.apply('a', x);
    registry.apply('b', 2 * x);
  }
  const before = registry.list();
  expect(before.map((k) => k.key)).toEqual(['a', 'b']);
  registry.rescale(0.5);
  const after = registry.list();
  for (const [i, k] of after.entries()) {
    expect(k.calibrated).toBe(true);
    expect(k.threshold).toBeCloseTo(before[i]!.threshold! * 0.5, 9);
  }
  expect(() => registry.rescale(Number.NaN)).toThrow(/rescale factor/);
});

describe.each(specs.map((s) => [s.kind, s] as const))('%s threshold', (_kind, spec) => {
  it('gives no verdict before calibration, then verdicts with a threshold and a probability in [0,1]', () => {
    const t = createThreshold(spec);
    const data = exponential(seeded(21), 2000);
    const results = data.map((x) => t.update(x));
    const warm = results.findIndex((r) => r.verdict !== 'warming-up');
    const expectedWarmup =
      spec.kind === 'static'
        ? 0
        : spec.kind === 'dspot'
          ? spec.calibration + spec.depth
          : spec.calibration;
    expect(warm).toBe(expectedWarmup);
    expect(results.slice(0, warm).every((r) => r.threshold === null && r.probability === 0)).toBe(
      true,
    );
    for (const r of results.slice(warm)) {
      expect(r.threshold).not.toBeNull();
      expect(r.probability).toBeGreaterThanOrEqual(0);
      expect(r.probability).toBeLessThanOrEqual(1);
      expect(['normal', 'anomaly']).toContain(r.verdict);
    }
  });

  it('does not move its threshold during a burst of anomalies', () => {
    const t = createThreshold(spec);
    for (const x of exponential(seeded(22), 1500)) t.update(x);
    const before = t.current!;
    const burst = Array.from({ length: 300 }, (_, i) => 50 + i);
    expect(burst.map((x) => t.update(x).verdict).every((v) => v === 'anomaly')).toBe(true);
    expect(t.current).toBe(before);
  });

  it('restores from JSON state to identical verdicts, thresholds and probabilities', () => {
    const data = exponential(seeded(23), 1800).map((x, i) => (i % 97 === 0 ? x + 20 : x));
    for (const cut of [100, 700, 1200]) {
      const original = createThreshold(spec);
      data.slice(0, cut).forEach((x) => original.update(x));
      const registry = createThresholdRegistry({
        ...spec,
        perKey: true,
        warmup: 'flag',
        overrides: {},
      } as never);
      data.slice(0, cut).forEach((x) => registry.apply('k', x));
      const restored = decodeRegistryState(
        JSON.parse(JSON.stringify(encodeRegistryState(registry))),
      );
      const rest = data.slice(cut);
      const a = rest.map((x) => registry.apply('k', x));
      const b = rest.map((x) => restored.apply('k', x));
      expect(b).toEqual(a);
      expect(a.map((d) => d?.verdict)).toEqual(rest.map((x) => original.update(x).verdict));
    }
  });
});

describe('ksigma', () => {
  it('follows a slow level shift through its EWMA, as fast as maxGrowth lets it', () => {
    // The level rises by about 10 % of the threshold per 1,000 scores.
    const data = gaussian(seeded(24), 20000).map((e, i) => e + i * 0.0005);
    const t = new KSigmaThreshold({ k: 5, halfLife: 200, calibration: 200, maxGrowth: 0.2 });
    const anomalies = data.filter((x) => t.update(x).verdict === 'anomaly').length;
    expect(anomalies).toBeLessThan(20);
    expect(t.current! - 10).toBeGreaterThan(3); // mean ~10 at the end, threshold ~ mean + 5 sd
    expect(t.current! - 10).toBeLessThan(7);
    // With the default bound (about 1 % per 1,000 normal scores) the drift is an anomaly.
    const bounded = new KSigmaThreshold({ k: 5, halfLife: 200, calibration: 200 });
    const flagged = data.filter((x) => bounded.update(x).verdict === 'anomaly').length;
    expect(flagged).toBeGreaterThan(5000);
  });
});

describe('quantile', () => {
  it('sets its threshold at the q quantile of the calibration scores and keeps it on normal data', () => {
    const t = new QuantileThreshold({ q: 0.99, epsilon: 0.0005, calibration: 20000 });
    exponential(seeded(25), 20000).forEach((x) => t.update(x));
    // Exp(1): quantile 0.99 = ln 100; the sketch is within 0.0005 in rank.
    expect(t.current!).toBeGreaterThan(Math.log(1 / 0.0106));
    expect(t.current!).toBeLessThan(Math.log(1 / 0.0094));
    const calibrated = t.current;
    exponential(seeded(26), 20000).forEach((x) => t.update(x));
    expect(t.current).toBe(calibrated);
  });
});

describe('ThresholdRegistry', () => {
  const config = thresholdSchema.parse({
    kind: 'ksigma',
    k: 3,
    halfLife: 100,
    calibration: 50,
    overrides: { 'pump-7': { kind: 'static', value: 0.4 } },
  });

  it('is built from the pipeline config: per-key states, overrides, suppressed warm-up', () => {
    const registry = createThresholdRegistry(config);
    expect(registry.apply('pump-7', 0.5)).toMatchObject({
      verdict: 'anomaly',
      threshold: 0.4,
      kind: 'static',
    });
    const data = gaussian(seeded(26), 60, 1, 0.1);
    const decisions = data.map((x) => registry.apply('pump-1', x));
    expect(decisions.slice(0, 50).every((d) => d === null)).toBe(true);
    expect(decisions[50]).toMatchObject({ key: 'pump-1', kind: 'ksigma', verdict: 'normal' });
    // another key calibrates on its own
    expect(registry.apply('pump-2', 1)).toBeNull();
  });

  it('flags warm-up scores when warmup is flag', () => {
    const registry = createThresholdRegistry({ ...config, warmup: 'flag' });
    expect(registry.apply('a', 1)).toMatchObject({
      verdict: 'warming-up',
      threshold: null,
      probability: 0,
    });
  });

  it('shares one state between keys when perKey is false (overrides keep their own)', () => {
    const registry = createThresholdRegistry({ ...config, perKey: false });
    gaussian(seeded(27), 50, 1, 0.1).forEach((x, i) => registry.apply(i % 2 ? 'a' : 'b', x));
    expect(registry.apply('c', 1)).not.toBeNull();
    expect(registry.apply('pump-7', 0.1)).toMatchObject({ threshold: 0.4, verdict: 'normal' });
    expect(registry.current('pump-7')).toBe(0.4);
  });

  it('applies ThresholdCommands to a running registry: set, override, reset; per key or all', () => {
    const registry = createThresholdRegistry(config);
    const feed = (key: string, n: number, seed = 28): Array<ThresholdDecision | null> =>
      gaussian(seeded(seed), n, 1, 0.1).map((x) => registry.apply(key, x));
    feed('a', 100);
    feed('b', 100);
    const learnedB = registry.current('b')!;

    // set: new parameters for the same kind; the key recalibrates with them
    registry.command(parseThresholdCommand({ action: 'set', key: 'a', params: { k: 6 } }));
    expect(registry.current('a')).toBeNull();
    expect(registry.current('b')).toBe(learnedB);
    expect(feed('a', 50).every((d) => d === null)).toBe(true);
    const k6 = registry.apply('a', 1)!;
    const reference = createThresholdRegistry(
      thresholdSchema.parse({ kind: 'ksigma', k: 6, halfLife: 100, calibration: 50 }),
    );
    gaussian(seeded(28), 50, 1, 0.1).forEach((x) => reference.apply('a', x));
    expect(k6).toEqual(reference.apply('a', 1));

    // override: another kind for one key, then for all keys
    registry.command(
      parseThresholdCommand({ action: 'override', key: 'b', spec: { kind: 'static', value: 9 } }),
    );
    expect(registry.apply('b', 8)).toMatchObject({
      verdict: 'normal',
      threshold: 9,
      kind: 'static',
    });
    registry.command(
      parseThresholdCommand({ action: 'override', spec: { kind: 'static', value: 2 } }),
    );
    expect(registry.apply('new-key', 3)).toMatchObject({ verdict: 'anomaly', threshold: 2 });
    expect(registry.apply('new-key', 1)).toMatchObject({ verdict: 'normal', threshold: 2 });
    expect(registry.apply('a', 1)).toMatchObject({ kind: 'ksigma' }); // 'a' has its own spec since the set
    expect(registry.apply('b', 3)).toMatchObject({ threshold: 9 }); // its own override stays
    expect(registry.apply('pump-7', 0.5)).toMatchObject({ threshold: 0.4 }); // config override stays

    // set for all changes the default spec's parameters
    registry.command(parseThresholdCommand({ action: 'set', key: '*', params: { value: 5 } }));
    expect(registry.apply('new-key', 3)).toMatchObject({ verdict: 'normal', threshold: 5 });

    // reset: learned state is dropped and the key calibrates again
    registry.command(
      parseThresholdCommand({
        action: 'override',
        key: 'c',
        spec: { kind: 'ksigma', calibration: 20 },
      }),
    );
    feed('c', 30);
    expect(registry.current('c')).not.toBeNull();
    registry.command(parseThresholdCommand({ action: 'reset', key: 'c' }));
    expect(registry.apply('c', 1)).toBeNull();
    feed('c', 30);
    registry.command(parseThresholdCommand({ action: 'reset' }));
    expect(registry.current('c')).toBeNull();
  });

  it('reads commands from ThresholdCommand records (string parameters)', () => {
    expect(
      thresholdCommandFromRecord({
        key: 'pump-7',
        action: 'OVERRIDE',
        parameters: { kind: 'static', value: '0.4' },
      }),
    ).toEqual({ action: 'override', key: 'pump-7', spec: { kind: 'static', value: 0.4 } });
    expect(
      thresholdCommandFromRecord({ key: null, action: 'SET', parameters: { risk: '1e-4' } }),
    ).toEqual({
      action: 'set',
      key: undefined,
      params: { risk: 1e-4 },
    });
    expect(thresholdCommandFromRecord({ key: 'a', action: 'RESET', parameters: {} })).toEqual({
      action: 'reset',
      key: 'a',
    });
    // an override gets the kind's defaults
    expect(
      thresholdCommandFromRecord({
        key: null,
        action: 'OVERRIDE',
        parameters: { kind: 'spot', risk: '0.001' },
      }),
    ).toMatchObject({
      spec: { kind: 'spot', risk: 0.001, calibration: 2000, level: 0.98 },
    });
    expect(() =>
      thresholdCommandFromRecord({ key: 'a', action: 'SET', parameters: { risk: 'high' } }),
    ).toThrow(/AE_ERR_THRESHOLD_COMMAND|not a number/);
    expect(() =>
      thresholdCommandFromRecord({ key: 'a', action: 'OVERRIDE', parameters: { kind: 'nope' } }),
    ).toThrow(AeError);
  });

  it('refuses a spec that cannot work when the registry is built or a command arrives, not at the first score', () => {
    const bad = thresholdSchema.parse({ kind: 'spot', risk: 0.05, level: 0.98 });
    expect(() => createThresholdRegistry(bad)).toThrow(
      /threshold: spot: risk must be below 1 - level/,
    );
    const registry = createThresholdRegistry(
      thresholdSchema.parse({
        kind: 'spot',
        risk: 0.01,
        level: 0.98,
        calibration: 100,
        maxPeaks: 100,
      }),
    );
    const attempt = () => registry.command({ action: 'set', params: { risk: 0.05 } });
    expect(attempt).toThrow(AeError);
    expect(attempt).toThrow(/risk must be below 1 - level/);
    expect(() => registry.command({ action: 'set', params: { k: 3 } })).toThrow(
      /threshold command|Unrecognized|unknown/i,
    );
  });

  it('refuses invalid commands and state', () => {
    expect(() => parseThresholdCommand({ action: 'override', key: 'a' })).toThrow(AeError);
    expect(() => parseThresholdCommand({ action: 'set', params: { risk: 'x' } })).toThrow(
      /invalid threshold command/,
    );
    expect(() => decodeRegistryState('{')).toThrow(AeError);
    expect(() => decodeRegistryState('{"version":2}')).toThrow(
      /unusable threshold state: not a registry snapshot/,
    );
  });
});
