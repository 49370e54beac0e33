import { Health, startHealthServer } from '../../../src/observability/health-server';
import { detectorMetrics } from '../../../src/observability/metrics';

describe('health server', () => {
  it('is not ready until every check is, and serves the metrics', async () => {
    const health = new Health();
    const server = await startHealthServer(health, 0, '127.0.0.1');
    const url = (p: string) => `http://127.0.0.1:${server.port}${p}`;
    try {
      expect((await fetch(url('/healthz'))).status).toBe(200);
      expect((await fetch(url('/readyz'))).status).toBe(503);

      health.set('consumer', true);
      health.set('model', false);
      expect((await fetch(url('/readyz'))).status).toBe(503);
      health.set('model', true);
      const ready = await fetch(url('/readyz'));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        ready: true,
        checks: { consumer: true, model: true },
      });

      const metrics = detectorMetrics();
      metrics.framesIn.inc({ pipeline: 'health-test' }, 3);
      const text = await (await fetch(url('/metrics'))).text();
      expect(text).toMatch(/aestream_frames_in_total\{pipeline="health-test"\} 3/);
      // the process's own figures, for memory and event-loop dashboards
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
      expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);

      health.fail('model store unreadable');
      expect((await fetch(url('/healthz'))).status).toBe(503);
      expect((await fetch(url('/nope'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('serves extra JSON endpoints such as /thresholds, and names them on a 404', async () => {
    let threshold = 0.5;
    const server = await startHealthServer(new Health(), 0, '127.0.0.1', {
      '/thresholds': () => ({ thresholds: [{ key: 'a', threshold }] }),
    });
    try {
      const url = `http://127.0.0.1:${server.port}`;
      expect(await (await fetch(`${url}/thresholds`)).json()).toEqual({
        thresholds: [{ key: 'a', threshold: 0.5 }],
      });
      threshold = 0.7; // served live, not a copy taken at start
      expect(await (await fetch(`${url}/thresholds`)).json()).toEqual({
        thresholds: [{ key: 'a', threshold: 0.7 }],
      });
      expect(await (await fetch(`${url}/nope`)).text()).toContain('/thresholds');
    } finally {
      await server.close();
    }
  });

  it('gives the same metric objects to every caller', () => {
    expect(detectorMetrics().framesScored).toBe(detectorMetrics().framesScored);
  });
});
