import fc from 'fast-check';
import { createThreshold } from '../../../src/thresholds/create-threshold';
import { QuantileThreshold } from '../../../src/thresholds/quantile-threshold';
import type { ThresholdSpec } from '../../../src/thresholds/threshold-config';
import type { Threshold } from '../../../src/thresholds/threshold';
import { exponential, gaussian, seeded } from './random';

/**
 * Thresholds that cannot ratchet: an anomaly never moves a threshold, so a ramp, a level
 * shift or a burst stays flagged, while on normal data the alarm rate stays near nominal.
 * Each kind with its nominal false-alarm rate q and a normal score distribution.
 */
interface Case {
  spec: ThresholdSpec;
  /** The kind's nominal rate of normal scores above the threshold. */
  q: number;
  normal: (seed: number, n: number) => number[];
  /** Scores before verdicts start. */
  warmup: number;
}

const cases: Case[] = [
  {
    spec: { kind: 'ksigma', k: 3, halfLife: 1000, calibration: 2000 },
    q: 0.0013499, // 1 - Phi(3) for Gaussian scores
    normal: (seed, n) => gaussian(seeded(seed), n, 10, 1),
    warmup: 2000,
  },
  {
    spec: { kind: 'quantile', q: 0.99, epsilon: 0.001, calibration: 5000 },
    q: 0.01,
    normal: (seed, n) => exponential(seeded(seed), n),
    warmup: 5000,
  },
  {
    spec: { kind: 'spot', risk: 0.01, calibration: 5000, level: 0.9, maxPeaks: 5000 },
    q: 0.01,
    normal: (seed, n) => exponential(seeded(seed), n),
    warmup: 5000,
  },
  {
    spec: { kind: 'dspot', risk: 0.01, calibration: 5000, level: 0.9, maxPeaks: 5000, depth: 50 },
    q: 0.01,
    normal: (seed, n) => exponential(seeded(seed), n),
    warmup: 5050,
  },
];

/** A threshold calibrated and run on `extra` normal scores of seed `seed`. */
function warmed(c: Case, seed: number, extra = 3000): { t: Threshold; normal: number[] } {
  const t = createThreshold(c.spec);
  const normal = c.normal(seed, c.warmup + extra);
  for (const x of normal) t.update(x);
  return { t, normal };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const runs = { numRuns: 12 };

describe.each(cases.map((c) => [c.spec.kind, c] as const))('%s cannot ratchet', (_kind, c) => {
  it('a linear ramp of any slope leaves the threshold within 1 % and stays flagged once above it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        // Steps the ramp takes from the normal level to the threshold: 1 to 500.
        fc.double({ min: 0, max: Math.log(500), noNaN: true }),
        (seed, logSteps) => {
          const { t, normal } = warmed(c, seed);
          const before = t.current!;
          const base = mean(normal);
          const slope = (before - base) / Math.exp(logSteps);
          const length = Math.ceil((3 * before - base) / slope);
          let above = false;
          for (let i = 1; i <= length; i++) {
            const score = base + slope * i;
            const { verdict } = t.update(score);
            if (above) expect(verdict).toBe('anomaly');
            if (verdict === 'anomaly') above = true;
            if (score > 1.01 * before) expect(verdict).toBe('anomaly');
            expect(Math.abs(t.current! / before - 1)).toBeLessThanOrEqual(0.01);
          }
          expect(above).toBe(true);
        },
      ),
      runs,
    );
  });

  it('a level shift of any size stays flagged and leaves the threshold where it was', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        fc.double({ min: 0, max: Math.log(1000), noNaN: true }),
        (seed, logSize) => {
          const { t } = warmed(c, seed);
          const before = t.current!;
          // The shift lifts every normal score (>= min) above the threshold.
          const shifted = c.normal(seed + 1, 2000);
          const lift = before - Math.min(...shifted) + before * (Math.exp(logSize) - 1) + 1e-9;
          for (const x of shifted) expect(t.update(x + lift).verdict).toBe('anomaly');
          expect(t.current).toBe(before);
        },
      ),
      runs,
    );
  });

  it('a burst of 300 anomalies changes nothing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        fc.array(fc.double({ min: 1.001, max: 1000, noNaN: true }), {
          minLength: 300,
          maxLength: 300,
        }),
        (seed, factors) => {
          const { t } = warmed(c, seed);
          const state = JSON.stringify(t.snapshot());
          const before = t.current!;
          for (const f of factors) expect(t.update(before * f).verdict).toBe('anomaly');
          expect(JSON.stringify(t.snapshot())).toBe(state);
        },
      ),
      runs,
    );
  });

  it('keeps the false-alarm rate on purely normal data within [q/2, 2q]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const t = createThreshold(c.spec);
        // Enough normal scores for about 70 expected false alarms or more.
        const n = Math.max(20000, Math.ceil(70 / c.q));
        const verdicts = c.normal(seed, c.warmup + n).map((x) => t.update(x).verdict);
        const alarms = verdicts.filter((v) => v === 'anomaly').length;
        const rate = alarms / n;
        expect(rate).toBeGreaterThanOrEqual(c.q / 2);
        expect(rate).toBeLessThanOrEqual(2 * c.q);
      }),
      { numRuns: 5 },
    );
  });
});

describe('quantile with a short calibration', () => {
  it('does not learn flagged scores: each one above the threshold stays flagged, the threshold stays', () => {
    // q 0.999 over 300 scores is the largest score so far; a flagged score that is learned
    // becomes the next threshold, and a slowly growing fault is flagged only at new highs.
    const t = new QuantileThreshold({ q: 0.999, epsilon: 0.0001, calibration: 300 });
    for (const x of exponential(seeded(41), 300)) t.update(x);
    const before = t.current!;
    for (let i = 1; i <= 50; i++) {
      const r = t.update(before * (1 + 0.02 * i));
      expect(r.verdict).toBe('anomaly');
      expect(r.threshold).toBe(before);
    }
    // A fault that grows by 1 % per reading, interleaved with normal readings, is flagged
    // at every one of its readings.
    const normal = exponential(seeded(42), 200);
    for (let i = 0; i < 200; i++) {
      t.update(normal[i]!);
      expect(t.update(before * (1.2 + 0.01 * i)).verdict).toBe('anomaly');
    }
    expect(t.current!).toBeLessThanOrEqual(before * 1.01);
  });
});
