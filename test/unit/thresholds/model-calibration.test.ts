import { createThreshold } from '../../../src/thresholds/create-threshold';
import { ModelAwareJudge } from '../../../src/thresholds/model-aware-judge';
import { thresholdSchema, type ThresholdSpec } from '../../../src/thresholds/threshold-config';
import { createThresholdRegistry } from '../../../src/thresholds/threshold-registry';
import {
  decodeRegistryState,
  encodeRegistryState,
} from '../../../src/thresholds/threshold-state-codec';
import { exponential, seeded } from './random';

/** A model's scores on held-back normal windows: Exp(1). */
const reference = exponential(seeded(51), 3000);

const specs: ThresholdSpec[] = [
  { kind: 'ksigma', k: 4, halfLife: 500, calibration: 200 },
  { kind: 'quantile', q: 0.999, epsilon: 0.0001, calibration: 500 },
  { kind: 'spot', risk: 1e-3, calibration: 500, level: 0.95, maxPeaks: 500 },
  { kind: 'dspot', risk: 1e-3, calibration: 500, level: 0.95, maxPeaks: 500, depth: 20 },
];

describe.each(specs.map((s) => [s.kind, s] as const))(
  '%s primed from reference scores',
  (_k, spec) => {
    it('gives verdicts from the first score, at the threshold its own calibration would reach', () => {
      const primed = createThreshold(spec);
      primed.prime(reference);
      expect(primed.calibrated).toBe(true);
      expect(primed.update(0.5).verdict).toBe('normal');
      expect(primed.update(40).verdict).toBe('anomaly');
      // The same scores streamed through calibration give about the same threshold.
      const streamed = createThreshold(spec);
      for (const x of reference) streamed.update(x);
      expect(primed.current! / streamed.current!).toBeGreaterThan(0.7);
      expect(primed.current! / streamed.current!).toBeLessThan(1.4);
    });

    it('primes from the few dozen windows a model trained on a few hundred readings holds back', () => {
      const full = createThreshold(spec);
      full.prime(reference);
      const short = createThreshold(spec);
      short.prime(reference.slice(0, 45));
      expect(short.calibrated).toBe(true);
      expect(short.update(0.5).verdict).toBe('normal');
      expect(short.update(40).verdict).toBe('anomaly');
      expect(short.current! / full.current!).toBeGreaterThan(0.4);
      expect(short.current! / full.current!).toBeLessThan(2.5);
      expect(() => createThreshold(spec).prime(reference.slice(0, 10))).toThrow(/priming needs/);
    });
  },
);

describe('the threshold registry with a model calibration', () => {
  const config = thresholdSchema.parse({
    kind: 'ksigma',
    k: 4,
    halfLife: 500,
    calibration: 1000,
    maxGrowth: 0.1,
  });

  it('starts every new source calibrated, adapts it per source, and re-primes it on reset', () => {
    const registry = createThresholdRegistry(config);
    registry.useReference(reference);
    const first = registry.apply('new-pump', 30);
    expect(first).toMatchObject({ verdict: 'anomaly', kind: 'ksigma' });
    const start = registry.current('new-pump')!;
    // Per source from there: a quieter source's threshold comes down (at most 10 % per 1,000).
    for (const x of exponential(seeded(52), 5000)) registry.apply('new-pump', x / 2);
    expect(registry.current('new-pump')!).toBeLessThan(0.8 * start);
    registry.command({ action: 'reset', key: 'new-pump' });
    expect(registry.apply('new-pump', 1)!.threshold).toBeCloseTo(start, 9);
  });

  it('calibrates from the source when told to, or when the reference is too short for the kind', () => {
    const own = createThresholdRegistry({ ...config, calibrate: 'source' });
    own.useReference(reference);
    expect(own.apply('a', 30)).toBeNull();
    const short = createThresholdRegistry(
      thresholdSchema.parse({ kind: 'dspot', risk: 1e-3, calibration: 1000, depth: 50 }),
    );
    short.useReference(reference.slice(0, 30));
    expect(short.apply('a', 30)).toBeNull();
  });

  it('keeps the calibration setting in its state', () => {
    const own = createThresholdRegistry({ ...config, calibrate: 'source' });
    const again = decodeRegistryState(encodeRegistryState(own));
    again.useReference(reference);
    expect(again.apply('a', 30)).toBeNull();
  });

  it("follows the model in use: a swap rescales the reference, or takes the new model's", () => {
    const registry = createThresholdRegistry(config);
    const judge = new ModelAwareJudge(registry, 'mse');
    judge.addModel('v1', 1, { scores: reference });
    judge.addModel('v2', 4);
    judge.addModel('v3', 4, { scores: reference.map((s) => s * 10) });
    judge.useModel('v1');
    judge.apply('a', 1);
    const t1 = registry.current('a')!;
    judge.useModel('v2');
    judge.apply('b', 1);
    expect(registry.current('b')).toBeCloseTo(4 * t1, 6);
    judge.useModel('v3');
    judge.apply('c', 1);
    expect(registry.current('c')).toBeCloseTo(10 * t1, 6);
  });

  it("judges a likelihood rule's scores on their own: no model calibration, no rescale on a swap", () => {
    const registry = createThresholdRegistry(config);
    const judge = ModelAwareJudge.of(registry, {
      model: { error: 'mse' },
      rules: { likelihood: { history: 5000 } },
    });
    judge.addModel('v1', 1, { scores: reference });
    judge.useModel('v1');
    // Calibrates from the source's own likelihoods, as a raw-score reference says nothing of them.
    expect(judge.apply('a', 0.5)).toBeNull();
    for (let i = 0; i < 1200; i++) judge.apply('a', 0.5 + 0.01 * Math.sin(i));
    const before = registry.current('a')!;
    judge.addModel('v2', 4, { scores: reference.map((s) => s * 4) });
    judge.useModel('v2');
    expect(registry.current('a')).toBe(before);
  });

  it('tells the ratio of two models’ raw scores under a likelihood rule too (its history follows a swap)', () => {
    const scaleFree = (error: 'mse' | 'mae') =>
      ModelAwareJudge.of(createThresholdRegistry(config), {
        model: { error },
        rules: { likelihood: { history: 5000 } },
      });
    const mse = scaleFree('mse');
    mse.addModel('v1', 0.01);
    mse.addModel('v2', 0.04);
    expect(mse.scoreRatio('v1', 'v2')).toBeCloseTo(4, 12);
    expect(mse.scoreRatio('v2', 'v2')).toBe(1);
    expect(mse.scoreRatio('v1', 'v9')).toBeUndefined();
    const mae = scaleFree('mae');
    mae.addModel('v1', 0.01);
    mae.addModel('v2', 0.04);
    expect(mae.scoreRatio('v1', 'v2')).toBeCloseTo(2, 12);
  });
});
