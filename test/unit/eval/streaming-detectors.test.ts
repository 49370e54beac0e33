import { scoreWithAutoencoder } from '../../../src/eval/autoencoder-nab-detector';
import {
  AnomalyLikelihood,
  LikelihoodScorer,
  SpatialAnomaly,
} from '../../../src/eval/likelihood-scorer';
import { initBackend } from '../../../src/training/backend';

/** A daily cycle with a little deterministic jitter. */
function series(n: number, spikeAt: number | null = null): Float64Array {
  return Float64Array.from(
    { length: n },
    (_, i) =>
      10 + 3 * Math.sin((2 * Math.PI * i) / 48) + ((i * 7919) % 11) / 22 + (i === spikeAt ? 12 : 0),
  );
}

describe('LikelihoodScorer', () => {
  const score = (values: Float64Array) => {
    const s = new LikelihoodScorer({ window: 48, history: 300, short: 3, suppress: 50 });
    return Array.from(values, (v, i) => s.score(v, i * 300_000));
  };

  it('scores in [0,1] and puts its highest score on a spike', () => {
    const scores = score(series(800, 600));
    expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    // after the first cycle (the range of values is known by then)
    const later = scores.slice(100);
    const top = later.indexOf(Math.max(...later)) + 100;
    expect(top).toBeGreaterThanOrEqual(600);
    expect(top).toBeLessThanOrEqual(602);
  });

  it('is causal: a row never depends on later rows', () => {
    const a = score(series(800, 600));
    const b = score(series(800, 700));
    expect(b.slice(0, 600)).toEqual(a.slice(0, 600));
    expect(b[600]).not.toBe(a[600]);
  });
});

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
});

describe('SpatialAnomaly', () => {
  it('flags a value beyond all earlier ones by more than 5 % of their range, and then learns it', () => {
    const s = new SpatialAnomaly();
    expect([0, 10, 5, 10.4, 11, 11, -0.5, -1.2].map((v) => s.check(v))).toEqual([
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

  it('makes the likelihood score 1 outright', () => {
    const l = new AnomalyLikelihood({ history: 200, short: 1, suppress: 0 });
    expect(l.update(0, true)).toBe(1);
  });
});

describe('scoreWithAutoencoder', () => {
  beforeAll(async () => {
    await initBackend('auto');
  });

  it('is causal and flags a spike after the probation', async () => {
    const args = {
      window: 8,
      hidden: [4, 2],
      epochs: 5,
      retrainEpochs: 2,
      retrainEvery: 100,
      trainSize: 300,
      seed: 1,
      likelihood: { history: 200, short: 1, suppress: 20 },
    };
    const a = await scoreWithAutoencoder(series(500, 420), 100, args);
    const b = await scoreWithAutoencoder(series(500, 480), 100, args);
    // identical inputs up to row 419 give identical scores up to row 419
    expect(Array.from(b.scores.subarray(0, 420))).toEqual(Array.from(a.scores.subarray(0, 420)));
    expect(a.scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    const errors = Array.from(a.errors.subarray(100));
    expect(errors.indexOf(Math.max(...errors)) + 100).toBeGreaterThanOrEqual(420);
    expect(errors.indexOf(Math.max(...errors)) + 100).toBeLessThan(428); // the spike is in these windows
  }, 60_000);
});
