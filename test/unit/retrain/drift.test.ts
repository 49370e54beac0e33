import { DriftMonitor, ksTwoSample } from '../../../src/retrain/drift';
import { seededRandom } from '../../../src/core/seeded-random';

function normal(random: () => number, mean: number, sd: number): number {
  const u = 1 - random();
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

describe('ksTwoSample', () => {
  it('gives D = 1 for disjoint samples and 0 for identical ones', () => {
    expect(ksTwoSample([1, 2, 3], [4, 5, 6], 0.05).d).toBe(1);
    expect(ksTwoSample([1, 2, 3], [1, 2, 3], 0.05).d).toBe(0);
  });

  it('has the asymptotic critical value c(alpha) * sqrt((n + m) / nm)', () => {
    const { critical } = ksTwoSample(new Array(100).fill(0), new Array(100).fill(0), 0.05);
    expect(critical).toBeCloseTo(1.358 * Math.sqrt(2 / 100), 3);
  });

  it('rejects for a shifted sample, not for one from the same distribution', () => {
    const random = seededRandom(4);
    const a = Array.from({ length: 500 }, () => normal(random, 0, 1));
    const same = Array.from({ length: 500 }, () => normal(random, 0, 1));
    const shifted = Array.from({ length: 500 }, () => normal(random, 1, 1));
    expect(ksTwoSample(a, same, 0.001).rejected).toBe(false);
    expect(ksTwoSample(a, shifted, 0.001).rejected).toBe(true);
  });
});

describe('DriftMonitor', () => {
  const config = { window: 200, checkEvery: 50, alpha: 0.001, sustain: 4 };

  it('builds a reference first, then stays stable on the same distribution', () => {
    const random = seededRandom(1);
    const m = new DriftMonitor(config);
    expect(m.add(1).kind).toBe('reference');
    const kinds = new Set<string>();
    for (let i = 0; i < 5000; i++) kinds.add(m.add(normal(random, 1, 0.2)).kind);
    expect(kinds.has('drift')).toBe(false);
  });

  it('ignores a short anomaly but declares drift on a sustained level shift', () => {
    const random = seededRandom(2);
    const m = new DriftMonitor(config);
    for (let i = 0; i < 600; i++) m.add(normal(random, 1, 0.2));
    // A 15-score anomaly: scores far above the usual.
    for (let i = 0; i < 15; i++) expect(m.add(50).kind).not.toBe('drift');
    for (let i = 0; i < 1000; i++) expect(m.add(normal(random, 1, 0.2)).kind).not.toBe('drift');
    // A level shift: every score from now on is higher.
    let at = -1;
    for (let i = 0; i < 1000 && at < 0; i++)
      if (m.add(normal(random, 3, 0.4)).kind === 'drift') at = i;
    // Needs the recent window to move and then `sustain` rejecting checks in a row.
    expect(at).toBeGreaterThan(config.checkEvery * (config.sustain - 1));
    expect(at).toBeLessThan(config.window + config.checkEvery * config.sustain);
  });

  it('starts over after reset', () => {
    const m = new DriftMonitor(config);
    for (let i = 0; i < 300; i++) m.add(i);
    m.reset();
    expect(m.state).toEqual({ kind: 'reference', have: 0, need: 200 });
  });
});
