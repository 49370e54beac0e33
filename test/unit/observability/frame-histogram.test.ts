import { Histogram, Registry } from 'prom-client';
import { FrameHistogram } from '../../../src/observability/frame-histogram';

describe('FrameHistogram', () => {
  const buckets = [0.001, 0.01, 0.1, 1, 10];
  const values = [0, 0.0005, 0.001, 0.05, 0.05, 0.7, 3, 42, 1e-9, 10];

  it('serves on /metrics the text prom-client serves for a histogram of the same values', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const h = new FrameHistogram('x_seconds', 'From a to b.', ['pipeline'], buckets, ours);
    const p = new Histogram({
      name: 'x_seconds',
      help: 'From a to b.',
      labelNames: ['pipeline'],
      buckets,
      registers: [theirs],
    });
    const a = h.labels({ pipeline: 'a' });
    values.forEach((v, i) => {
      a.observe(v);
      p.observe({ pipeline: 'a' }, v);
      if (i % 3 === 0) {
        h.observe({ pipeline: 'b "quoted"' }, v * 2);
        p.observe({ pipeline: 'b "quoted"' }, v * 2);
      }
    });
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toMatch(/^x_seconds_bucket\{le="0.1",pipeline="a"\} 6$/m);
    expect(text).toMatch(/^x_seconds_count\{pipeline="a"\} 10$/m);
    // What the pipeline reporter reads (exemplars left out: this histogram keeps none).
    const json = async (r: Registry) =>
      (await r.getMetricsAsJSON()).map((m) => ({
        ...m,
        values: m.values.map((v) => ({
          labels: v.labels,
          value: v.value,
          metricName: (v as { metricName?: string }).metricName,
        })),
      }));
    expect(await json(ours)).toEqual(await json(theirs));

    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuses labels it was not given and values that are not numbers, as prom-client does', () => {
    const h = new FrameHistogram('y_seconds', 'help', ['pipeline'], buckets, new Registry());
    expect(() => h.labels({ pipeline: 'a', other: 'b' } as { pipeline: string })).toThrow(
      /not included/,
    );
    expect(() => h.labels({ pipeline: 'a' }).observe(NaN)).toThrow(TypeError);
  });
});
