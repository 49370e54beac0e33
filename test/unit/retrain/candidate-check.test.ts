import { checkCandidate, type Reconstructor } from '../../../src/retrain/candidate-check';
import { seededRandom } from '../../../src/core/seeded-random';

const accept = { tolerance: 0.1, recentQuantile: 0.95, rateSlack: 0.02 };
const identity = (x: Float32Array) => x;

/** A fake model that reconstructs each value with a seeded error of std `noise`. */
function noisy(noise: number, seed: number): Reconstructor {
  const random = seededRandom(seed);
  return {
    reconstruct: (raw) =>
      Promise.resolve(raw.map((v) => v + noise * (random() - 0.5) * Math.sqrt(12))),
  };
}

const frames = (n: number, size: number, seed: number) => {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => random()));
};

describe('checkCandidate', () => {
  const heldBack = frames(200, 8, 1);
  const recent = frames(300, 8, 2).map((data) => ({ data, anomaly: false }));

  it('accepts a candidate as good as the current model and reports both errors', async () => {
    const check = await checkCandidate({
      current: noisy(0.1, 3),
      candidate: noisy(0.1, 4),
      heldBack,
      recent,
      scale: identity,
      accept,
    });
    expect(check.reasons).toEqual([]);
    expect(check.accepted).toBe(true);
    expect(check.heldBack.current).toBeCloseTo(0.01, 2);
    expect(check.heldBack.candidate).toBeCloseTo(0.01, 2);
    expect(check.heldBack.frames).toBe(200);
  });

  it('judges both models by the same flag rule, so a small held-back set does not reject', async () => {
    // With 20 held-back frames the 0.95 quantile is near their maximum: about 1 in 21 recent
    // frames of the same distribution lies above it, for either model.
    const check = await checkCandidate({
      current: noisy(0.1, 3),
      candidate: noisy(0.1, 4),
      heldBack: heldBack.slice(0, 20),
      recent,
      scale: identity,
      accept,
    });
    expect(check.recent.currentRate).toBeGreaterThan(0.01);
    expect(check.recent.candidateRate).toBeGreaterThan(0.01);
    expect(check.reasons).toEqual([]);
  });

  it('rejects a candidate whose held-back error is beyond the tolerance', async () => {
    const check = await checkCandidate({
      current: noisy(0.1, 3),
      candidate: noisy(0.2, 4),
      heldBack,
      recent,
      scale: identity,
      accept,
    });
    expect(check.accepted).toBe(false);
    expect(check.reasons[0]).toMatch(/^held-back error .* > .*current/);
    expect(check.heldBack.candidate / check.heldBack.current).toBeCloseTo(4, 0);
  });

  it('rejects a candidate that would flag more of the recent frames than the current model', async () => {
    // The candidate only reconstructs values in [0, 1] (what it was trained on); the recent
    // frames are at 3, which the current model judged normal.
    const base = noisy(0.1, 4);
    const candidate: Reconstructor = {
      reconstruct: async (raw, n) => (await base.reconstruct(raw, n)).map((v) => Math.min(1, v)),
    };
    const shifted = frames(100, 8, 5).map((f) => ({ data: f.map((v) => v + 3), anomaly: false }));
    const check = await checkCandidate({
      current: noisy(0.1, 3),
      candidate,
      heldBack,
      recent: shifted,
      scale: identity,
      accept,
    });
    // About 1 - 0.95 of the recent frames are above the current model's own 0.95 quantile.
    expect(check.recent.currentRate).toBeLessThan(0.15);
    expect(check.recent.candidateRate).toBe(1);
    expect(check.accepted).toBe(false);
    expect(check.reasons.join()).toMatch(
      /would flag 100\.0% of the recent frames > \d+\.\d% \(current \d+\.\d% \+ 2\.0 points\)/,
    );
  });

  it('rejects a candidate with non-finite reconstructions', async () => {
    const check = await checkCandidate({
      current: noisy(0.1, 3),
      candidate: { reconstruct: (raw) => Promise.resolve(raw.map(() => NaN)) },
      heldBack,
      recent,
      scale: identity,
      accept,
    });
    expect(check.accepted).toBe(false);
    expect(check.reasons[0]).toMatch(/not finite/);
  });
});
