import { runDemo } from '../../src/app/demo';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/** `aestream demo --kafka`: the same demo, through the real broker and InfluxDB. */
describe('aestream demo --kafka (real Kafka and InfluxDB)', () => {
  // The demo names its own topics and database; the fixture gives the report folder.
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('demo-kafka', { createTopics: false });
  });
  afterAll(() => f?.teardown());

  it('scores every frame through the broker, finds the anomalies, and writes scores to InfluxDB', async () => {
    const brokers = f.brokers.join(',');
    const summary = await runDemo({
      seed: 3,
      sources: 2,
      length: 3000,
      out: f.dir,
      kafka: { brokers, influxUrl: f.influxUrl },
    });
    expect(summary.via).toContain(`Kafka at ${brokers}`);
    expect(summary.frames).toBe(2 * 2250);
    expect(summary.scored).toBe(summary.frames);
    expect(summary.match.recall).toBeGreaterThanOrEqual(5 / 6);
    expect(summary.match.precision).toBeGreaterThanOrEqual(0.9);
    // One point per streamed frame (readings 750 to 2999 of each sensor, one a minute from
    // 2026-01-01); a rerun writes the same points again, so the count is exact.
    const rows = await f.influx.query<{ count: number }>(
      `SELECT count("error") AS "count" FROM "score" WHERE "pipeline" = 'demo' AND ("source" = 'sensor-0' OR "source" = 'sensor-1') AND time >= '2026-01-01T12:30:00Z' AND time < '2026-01-03T02:00:00Z'`,
      { database: 'aestream' },
    );
    expect(rows[0]?.count).toBe(summary.frames);
  });
});
