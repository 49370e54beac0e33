import { Reservoir } from '../../../src/retrain/reservoir';

const frame = (i: number) => Float32Array.of(i);
const idsOf = (frames: Float32Array[]) => frames.map((f) => f[0] as number);

describe('Reservoir', () => {
  it('stays bounded and splits training and held-back frames disjointly', () => {
    const r = new Reservoir({ capacity: 200, halfLife: 1000, heldBack: 0.1, seed: 3 });
    for (let i = 0; i < 10_000; i++) r.add(frame(i));
    expect(r.seen).toBe(10_000);
    expect(r.size).toBe(200);
    expect(r.heldBack()).toHaveLength(20);
    expect(r.training()).toHaveLength(180);
    const train = new Set(idsOf(r.training()));
    for (const id of idsOf(r.heldBack())) expect(train.has(id)).toBe(false);
  });

  it('keeps every frame while it has room', () => {
    const r = new Reservoir({ capacity: 100, halfLife: 50, heldBack: 0.2, seed: 1 });
    for (let i = 0; i < 60; i++) r.add(frame(i));
    expect(r.size).toBe(60);
    expect([...idsOf(r.training()), ...idsOf(r.heldBack())].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
  });

  it('weights recent frames: a short half-life keeps mostly the newest', () => {
    const n = 20_000;
    const recentShare = (halfLife: number) => {
      const r = new Reservoir({ capacity: 500, halfLife, heldBack: 0.1, seed: 9 });
      for (let i = 0; i < n; i++) r.add(frame(i));
      const ids = [...idsOf(r.training()), ...idsOf(r.heldBack())];
      return ids.filter((id) => id >= n - 2000).length / ids.length;
    };
    // Uniform sampling would keep 10 % of its frames from the last 2,000.
    expect(recentShare(1e12)).toBeGreaterThan(0.05);
    expect(recentShare(1e12)).toBeLessThan(0.16);
    // Half-life 500 frames: the weight of a frame 2,000 back is 1/16 of the newest.
    expect(recentShare(500)).toBeGreaterThan(0.8);
  });

  it('is reproducible from its seed', () => {
    const run = (seed: number) => {
      const r = new Reservoir({ capacity: 50, halfLife: 300, heldBack: 0.1, seed });
      for (let i = 0; i < 2000; i++) r.add(frame(i));
      return idsOf(r.training()).sort((a, b) => a - b);
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});
