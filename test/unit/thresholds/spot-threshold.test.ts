import { DspotThreshold } from '../../../src/thresholds/dspot-threshold';
import { fitGpd } from '../../../src/thresholds/gpd-fit';
import { SpotThreshold } from '../../../src/thresholds/spot-threshold';
import { exponential, gaussian, pareto, seeded } from './random';

/** Fraction of judged scores that were anomalies, over all seeds pooled. */
function exceedanceRate(
  make: () => SpotThreshold,
  data: (seed: number) => number[],
  seeds: number[],
): number {
  let judged = 0;
  let anomalies = 0;
  for (const seed of seeds) {
    const t = make();
    for (const x of data(seed)) {
      const r = t.update(x);
      if (r.verdict === 'warming-up') continue;
      judged++;
      if (r.verdict === 'anomaly') anomalies++;
    }
  }
  return anomalies / judged;
}

describe('GPD fit (Grimshaw)', () => {
  it('recovers the shape of exponential (0) and Pareto alpha=3 (1/3) excesses', () => {
    const exp = fitGpd(exponential(seeded(11), 4000, 2));
    expect(exp.gamma).toBeCloseTo(0, 1);
    expect(exp.sigma).toBeCloseTo(0.5, 1);
    const par = fitGpd(pareto(seeded(12), 4000, 3).map((x) => x - 1));
    expect(Math.abs(par.gamma - 1 / 3)).toBeLessThan(0.08);
    expect(Math.abs(par.sigma - 1 / 3)).toBeLessThan(0.05);
  });
});

describe('SpotThreshold', () => {
  const q = 1e-3;
  const make = () => new SpotThreshold({ risk: q, calibration: 5000, level: 0.98, maxPeaks: 2000 });
  // 100,000 judged scores: about 100 expected exceedances (sd ~10%) plus the error of z_q
  // estimated from at most 2,000 peaks; observed ratios 0.7-1.3 per seed.
  const tolerance: [number, number] = [0.6 * q, 1.5 * q];

  it('exceeds at a rate close to q on exponential data', () => {
    const rate = exceedanceRate(make, (s) => exponential(seeded(s), 55000), [1, 2]);
    expect(rate).toBeGreaterThan(tolerance[0]);
    expect(rate).toBeLessThan(tolerance[1]);
  });

  it('exceeds at a rate close to q on heavy-tailed Pareto data', () => {
    const rate = exceedanceRate(make, (s) => pareto(seeded(s), 55000, 3), [1, 2]);
    expect(rate).toBeGreaterThan(tolerance[0]);
    expect(rate).toBeLessThan(tolerance[1]);
  });

  it('puts z_q near the true 1 - q quantile', () => {
    const t = make();
    for (const x of exponential(seeded(3), 30000)) t.update(x);
    expect(Math.abs(t.current! - Math.log(1 / q))).toBeLessThan(0.6);
  });

  it('gives a probability that grows with the score and is 1 - q at z_q', () => {
    const t = make();
    for (const x of exponential(seeded(4), 6000)) t.update(x);
    const z = t.current!;
    const p = [z - 2, z - 1, z, z + 2];
    const probs = p.map((s) => SpotThreshold.restore(t.snapshot()).update(s).probability);
    expect(probs[0]).toBeLessThan(probs[1]!);
    expect(probs[1]).toBeLessThan(probs[2]!);
    expect(probs[2]).toBeCloseTo(1 - q, 4);
    expect(probs[3]).toBeGreaterThan(1 - q);
    expect(probs[3]).toBeLessThanOrEqual(1);
  });
});

describe('DspotThreshold', () => {
  it('follows a drifting level as fast as maxGrowth lets it and still catches spikes', () => {
    // The level rises by 2 per 1,000 scores, half the threshold at the start: maxGrowth 1.
    const t = new DspotThreshold({
      risk: 1e-3,
      calibration: 2000,
      level: 0.98,
      maxPeaks: 1000,
      depth: 50,
      maxGrowth: 1,
    });
    const noise = gaussian(seeded(5), 12000, 0, 1);
    const verdicts: string[] = [];
    noise.forEach((e, i) => {
      const drift = i * 0.002; // level rises by 24 noise sd over the stream
      const spike = i % 1000 === 999 ? 15 : 0;
      verdicts.push(t.update(drift + e + spike).verdict);
    });
    const judged = verdicts.slice(2050);
    const falseAlarms = judged.filter(
      (v, i) => v === 'anomaly' && (i + 2050) % 1000 !== 999,
    ).length;
    const spikesCaught = judged.filter(
      (v, i) => v === 'anomaly' && (i + 2050) % 1000 === 999,
    ).length;
    expect(spikesCaught).toBe(10);
    expect(falseAlarms / judged.length).toBeLessThan(5e-3);
    // SPOT on the same series would flag the drift itself once it leaves the calibration range
    const spot = new SpotThreshold({ risk: 1e-3, calibration: 2000, level: 0.98, maxPeaks: 1000 });
    const spotAnomalies = noise.filter(
      (e, i) => spot.update(i * 0.002 + e).verdict === 'anomaly',
    ).length;
    expect(spotAnomalies).toBeGreaterThan(1000);
  });
});
