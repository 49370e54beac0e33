import { Reservoir } from '../../../src/retrain/reservoir';
import { RecentFrames, sample, trainingSet } from '../../../src/retrain/training-set';
import { seededRandom } from '../../../src/core/seeded-random';

const frame = (i: number) => Float32Array.of(i);
const ids = (frames: readonly Float32Array[]) => frames.map((f) => f[0] as number);

describe('RecentFrames', () => {
  it('keeps the newest frames, oldest first', () => {
    const recent = new RecentFrames(3);
    for (let i = 0; i < 5; i++) recent.push({ data: frame(i), anomaly: i === 4 });
    expect(recent.size).toBe(3);
    expect(ids(recent.all().map((r) => r.data))).toEqual([2, 3, 4]);
    expect(recent.all().map((r) => r.anomaly)).toEqual([false, false, true]);
    recent.clear();
    expect(recent.all()).toEqual([]);
  });
});

describe('sample', () => {
  it('draws distinct items, at most as many as there are', () => {
    const drawn = sample([1, 2, 3, 4, 5, 6, 7, 8], 5, seededRandom(1));
    expect(new Set(drawn).size).toBe(5);
    expect(sample([1, 2], 5, seededRandom(1)).sort()).toEqual([1, 2]);
  });
});

describe('trainingSet', () => {
  const rc = {
    validation: 0.1,
    drift: {
      window: 400,
      checkEvery: 50,
      sustain: 4,
      reservoirShare: 0.2,
    },
  } as Parameters<typeof trainingSet>[3];

  function filled() {
    const reservoir = new Reservoir({ capacity: 1000, halfLife: 1000, heldBack: 0.1, seed: 2 });
    for (let i = 0; i < 1000; i++) reservoir.add(frame(i));
    const recent = new RecentFrames(400);
    for (let i = 10_000; i < 10_400; i++) recent.push({ data: frame(i), anomaly: false });
    return { reservoir, recent };
  }

  it('trains on the reservoir after a count or schedule trigger', () => {
    const { reservoir, recent } = filled();
    const set = trainingSet({ trigger: 'frames' }, reservoir, recent, rc, seededRandom(3));
    expect(set.train).toHaveLength(reservoir.training().length);
    expect(set.heldBack).toHaveLength(reservoir.heldBack().length);
    expect(set.recent).toHaveLength(400);
  });

  it('after a drift trains mostly on the frames since the change, with a share of the reservoir', () => {
    const { reservoir, recent } = filled();
    const set = trainingSet({ trigger: 'drift' }, reservoir, recent, rc, seededRandom(3));
    // sustain x checkEvery = 200 frames since the change.
    expect(ids(set.recent.map((r) => r.data))).toEqual(
      Array.from({ length: 200 }, (_, i) => 10_200 + i),
    );
    const fresh = ids(set.train).filter((i) => i >= 10_000).length;
    const old = set.train.length - fresh;
    expect(fresh + ids(set.heldBack).filter((i) => i >= 10_000).length).toBe(200);
    expect(old / set.train.length).toBeCloseTo(0.2, 1);
  });

  it('trains on frames handed in, validating on the reservoir held-back part', () => {
    const { reservoir, recent } = filled();
    const handed = [frame(-1), frame(-2)];
    const set = trainingSet({ frames: handed }, reservoir, recent, rc, seededRandom(3));
    expect(ids(set.train)).toEqual([-1, -2]);
    expect(set.heldBack).toHaveLength(reservoir.heldBack().length);
  });
});
