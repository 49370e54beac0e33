import { Gauge, Registry } from 'prom-client';
import { OutageReport } from '../../../src/connectors/outage-report';
import { logger } from '../../../src/observability/logger';

/** An outage is logged when it starts, reminded of while it lasts, and logged when it ends. */
describe('OutageReport', () => {
  afterEach(() => jest.restoreAllMocks());

  it('warns once, reminds every 30 s with how long it lasts, and reports the recovery', () => {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    const up = new Gauge({
      name: 'test_up',
      help: 'up',
      labelNames: ['database'],
      registers: [new Registry()],
    });
    const outage = new OutageReport(
      up,
      { database: 'db' },
      'InfluxDB unavailable: holding points',
      'InfluxDB back',
    );
    const t0 = 1_000_000;
    const err = new Error('connect ECONNREFUSED');

    outage.failed(err, {}, t0);
    outage.failed(err, {}, t0 + 10_000);
    expect(warn.mock.calls.map((c) => c[1])).toEqual(['InfluxDB unavailable: holding points']);
    expect(outage.downForMs(t0 + 10_000)).toBe(10_000);

    outage.failed(err, {}, t0 + 31_000);
    outage.failed(err, {}, t0 + 40_000);
    outage.failed(err, {}, t0 + 62_000);
    expect(warn.mock.calls.map((c) => c[1])).toEqual([
      'InfluxDB unavailable: holding points',
      'InfluxDB unavailable for 31 s, still retrying',
      'InfluxDB unavailable for 62 s, still retrying',
    ]);

    outage.succeeded();
    expect(info.mock.calls.map((c) => c[1])).toEqual(['InfluxDB back']);
    expect(outage.isDown).toBe(false);
    expect(outage.downForMs()).toBe(0);
  });
});
