import { CloseStack } from '../../../src/core/lifecycle';
import { watchSinks } from '../../../src/app/wiring';
import { Health } from '../../../src/observability/health-server';

/** /readyz follows the sinks a detector cannot commit without, after a grace period. */
describe('watchSinks', () => {
  it('is ready while sinks work or fail within the grace, not ready with the reason beyond it', async () => {
    const health = new Health();
    health.set('consumer', true);
    const influx = { downForMs: 0 };
    const events = { downForMs: 0 };
    const stack = new CloseStack();
    const check = watchSinks(
      health,
      { influxdb: influx, 'anomaly topic': events, 'dead-letter topic': null },
      30_000,
      stack,
    );
    expect(health.isReady).toBe(true);

    influx.downForMs = 29_000; // an outage still within its grace
    check();
    expect(health.isReady).toBe(true);

    influx.downForMs = 31_000;
    check();
    expect(health.isReady).toBe(false);
    expect(health.isLive).toBe(true); // /healthz stays up: the process resumes when InfluxDB is back
    expect(health.report().reasons).toEqual({
      'sink influxdb': 'influxdb writes have failed for 31 s (grace 30 s)',
    });

    influx.downForMs = 0; // back
    check();
    expect(health.isReady).toBe(true);
    expect(health.report().reasons).toEqual({});
    await stack.close();
  });
});
