import { ANOMALY_KINDS, SyntheticSource } from '../../../src/connectors/synthetic-source';

describe('SyntheticSource', () => {
  const options = { seed: 42, sources: 3, length: 4_000, features: 2 };

  it('is reproducible from its seed, and differs across seeds', () => {
    const a = [...new SyntheticSource(options).frames()];
    const b = [...new SyntheticSource(options).frames()];
    const c = [...new SyntheticSource({ ...options, seed: 43 }).frames()];
    expect(a).toEqual(b);
    expect(a.map((f) => f.values[0])).not.toEqual(c.map((f) => f.values[0]));
    expect(new SyntheticSource(options).anomalies).toEqual(new SyntheticSource(options).anomalies);
  });

  it('interleaves sources in time order with the requested shape', () => {
    const gen = new SyntheticSource({ ...options, startTime: 0, intervalMs: 1000 });
    const frames = [...gen.frames()];
    expect(frames).toHaveLength(3 * 4_000);
    expect(frames.slice(0, 4).map((f) => [f.source, f.time, f.seq])).toEqual([
      ['sensor-0', 0, 0],
      ['sensor-1', 0, 0],
      ['sensor-2', 0, 0],
      ['sensor-0', 1000, 1],
    ]);
    expect(frames.every((f) => f.values.length === 2 && f.values.every(Number.isFinite))).toBe(
      true,
    );
  });

  it('injects every kind, outside the warm-up, without overlaps, and reports them', () => {
    const gen = new SyntheticSource({ ...options, anomaliesPerSource: 4 });
    expect(gen.anomalies).toHaveLength(12);
    expect(new Set(gen.anomalies.map((a) => a.kind))).toEqual(new Set(ANOMALY_KINDS));
    for (const s of gen.sources) {
      const mine = gen.anomalies.filter((a) => a.source === s).sort((x, y) => x.start - y.start);
      for (let i = 0; i < mine.length; i++) {
        expect(mine[i].start).toBeGreaterThanOrEqual(800);
        expect(mine[i].end).toBeGreaterThan(mine[i].start);
        if (i > 0) expect(mine[i].start).toBeGreaterThanOrEqual(mine[i - 1].end);
      }
    }
  });

  it('makes injected readings stand out from the normal signal', () => {
    // one feature, all kinds: the anomalous readings deviate from the clean signal far more than noise does
    const gen = new SyntheticSource({ seed: 3, sources: 1, length: 6_000, anomaliesPerSource: 8 });
    const clean = new SyntheticSource({
      seed: 3,
      sources: 1,
      length: 6_000,
      anomaliesPerSource: 0,
    });
    const a = [...gen.frames()].map((f) => f.values[0]);
    const b = [...clean.frames()].map((f) => f.values[0]);
    for (const anomaly of gen.anomalies) {
      let maxDev = 0;
      for (let t = anomaly.start; t < anomaly.end; t++)
        maxDev = Math.max(maxDev, Math.abs(a[t] - b[t]));
      expect({ kind: anomaly.kind, big: maxDev > 1 }).toEqual({ kind: anomaly.kind, big: true });
      expect(gen.isAnomalous('sensor-0', anomaly.start)).toBe(true);
    }
    // outside the windows the series equals the clean one except where the noise stream diverges
    const outside = a.map((v, t) => (gen.isAnomalous('sensor-0', t) ? 0 : Math.abs(v - b[t])));
    const typical = outside.slice(0, 1_000).reduce((s, x) => s + x, 0) / 1_000;
    expect(typical).toBeLessThan(1e-9);
  });
});
