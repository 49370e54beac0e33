import { LikelihoodScorer } from '../../../src/eval/likelihood-scorer';

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
