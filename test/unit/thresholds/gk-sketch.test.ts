import { GkSketch } from '../../../src/thresholds/gk-sketch';
import { exponential, gaussian, seeded } from './random';

/** The true rank interval [first, last] (1-based) that value occupies in the sorted data. */
function rankInterval(sorted: number[], value: number): [number, number] {
  let below = 0;
  let atOrBelow = 0;
  for (const x of sorted) {
    if (x < value) below++;
    if (x <= value) atOrBelow++;
  }
  return [below + 1, atOrBelow];
}

describe('GkSketch', () => {
  const cases: Array<[string, number[]]> = [
    ['gaussian', gaussian(seeded(1), 20000)],
    ['exponential', exponential(seeded(2), 20000)],
    ['sorted ascending', Array.from({ length: 20000 }, (_, i) => i)],
    ['sorted descending', Array.from({ length: 20000 }, (_, i) => 20000 - i)],
    ['many duplicates', Array.from({ length: 20000 }, (_, i) => (i * 7919) % 13)],
  ];

  it.each(cases)('answers every quantile of %s within epsilon * n ranks', (_name, data) => {
    const epsilon = 0.005;
    const sketch = new GkSketch(epsilon);
    for (const x of data) sketch.insert(x);
    const sorted = [...data].sort((a, b) => a - b);
    const n = data.length;
    for (let phi = 0.001; phi < 1; phi += 0.0137) {
      const target = Math.max(1, Math.ceil(phi * n));
      const [lo, hi] = rankInterval(sorted, sketch.quantile(phi));
      // the value's rank range must come within epsilon * n of the target rank
      expect(lo).toBeLessThanOrEqual(target + epsilon * n);
      expect(hi).toBeGreaterThanOrEqual(target - epsilon * n);
    }
    for (const phi of [0.99, 0.999]) {
      const [lo, hi] = rankInterval(sorted, sketch.quantile(phi));
      expect(lo).toBeLessThanOrEqual(Math.ceil(phi * n) + epsilon * n);
      expect(hi).toBeGreaterThanOrEqual(Math.ceil(phi * n) - epsilon * n);
    }
  });

  it('uses far less memory than the data', () => {
    const sketch = new GkSketch(0.001);
    for (const x of gaussian(seeded(3), 50000)) sketch.insert(x);
    expect(sketch.count).toBe(50000);
    expect(sketch.size).toBeLessThan(5000);
  });

  it('estimates the CDF within epsilon', () => {
    const data = exponential(seeded(4), 10000);
    const sketch = new GkSketch(0.002);
    for (const x of data) sketch.insert(x);
    for (const v of [0.1, 0.5, 1, 2, 4]) {
      const truth = data.filter((x) => x <= v).length / data.length;
      expect(Math.abs(sketch.cdf(v) - truth)).toBeLessThanOrEqual(0.004 + 1e-12);
    }
  });

  it('round-trips through JSON to the same answers', () => {
    const sketch = new GkSketch(0.01);
    for (const x of gaussian(seeded(5), 3000)) sketch.insert(x);
    const again = GkSketch.fromJSON(JSON.parse(JSON.stringify(sketch.toJSON())));
    for (const x of gaussian(seeded(6), 500)) {
      sketch.insert(x);
      again.insert(x);
    }
    for (const phi of [0.1, 0.5, 0.9, 0.99]) expect(again.quantile(phi)).toBe(sketch.quantile(phi));
  });
});
