import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { runDemo } from '../../src/app/demo';
import { INFLUX_URL, KAFKA_BROKERS } from '../helpers/stack';

/** `aestream demo --kafka`: the same demo, through the real broker and InfluxDB. */
describe('aestream demo --kafka (real Kafka and InfluxDB)', () => {
  it('scores every frame through the broker, finds the anomalies, and writes scores to InfluxDB', async () => {
    const out = mkdtempSync(join(tmpdir(), 'aestream-demo-kafka-'));
    const influx = new InfluxDB({
      host: new URL(INFLUX_URL).hostname,
      port: Number(new URL(INFLUX_URL).port),
      database: 'aestream',
    });
    const summary = await runDemo({
      seed: 3,
      sources: 2,
      length: 3000,
      out,
      kafka: { brokers: KAFKA_BROKERS.join(','), influxUrl: INFLUX_URL },
    });
    expect(summary.via).toContain(`Kafka at ${KAFKA_BROKERS.join(',')}`);
    expect(summary.frames).toBe(2 * 2250);
    expect(summary.scored).toBe(summary.frames);
    expect(summary.match.recall).toBeGreaterThanOrEqual(5 / 6);
    expect(summary.match.precision).toBeGreaterThanOrEqual(0.9);
    // One point per streamed frame (readings 750 to 2999 of each sensor, one a minute from
    // 2026-01-01); a rerun writes the same points again, so the count is exact.
    const rows = await influx.query<{ count: number }>(
      `SELECT count("error") AS "count" FROM "score" WHERE "pipeline" = 'demo' AND ("source" = 'sensor-0' OR "source" = 'sensor-1') AND time >= '2026-01-01T12:30:00Z' AND time < '2026-01-03T02:00:00Z'`,
    );
    expect(rows[0]?.count).toBe(summary.frames);
  });
});
