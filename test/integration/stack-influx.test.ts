import { InfluxDB, type IPoint } from 'influx';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/** The local InfluxDB stores what we write and gives it back, point for point. */
describe('local InfluxDB', () => {
  let f: PipelineFixture;
  let influx: InfluxDB;

  beforeAll(async () => {
    f = await pipelineFixture('stack-influx', { influx: true, createTopics: false });
    influx = f.influx;
    await influx.createDatabase(f.database);
  });

  afterAll(() => f?.teardown());

  it('writes 10,000 points and queries them back', async () => {
    const sources = 10;
    const perSource = 1000;
    const start = Date.UTC(2026, 0, 1);
    const points: IPoint[] = [];
    for (let s = 0; s < sources; s++) {
      for (let i = 0; i < perSource; i++) {
        points.push({
          measurement: 'score',
          tags: { pipeline: 'stack-test', source: `source-${s}` },
          fields: { error: s + i / perSource, anomaly: i % 100 === 0 ? 1 : 0 },
          timestamp: new Date(start + i * 1000),
        });
      }
    }
    for (let i = 0; i < points.length; i += 5000) {
      await influx.writePoints(points.slice(i, i + 5000), { precision: 'ms' });
    }

    const total = await influx.query<{ count: number }>(
      'SELECT count("error") AS "count" FROM "score"',
    );
    expect(total[0].count).toBe(sources * perSource);

    const perTag = await influx.query<{ source: string; count: number; anomalies: number }>(
      'SELECT count("error") AS "count", sum("anomaly") AS "anomalies" FROM "score" GROUP BY "source"',
    );
    expect(perTag).toHaveLength(sources);
    for (const row of perTag) {
      expect(row.count).toBe(perSource);
      expect(row.anomalies).toBe(perSource / 100);
    }

    const one = await influx.query<{ error: number }>(
      `SELECT "error" FROM "score" WHERE "source" = 'source-3' AND time = ${(start + 500 * 1000) * 1e6}`,
    );
    expect(one).toHaveLength(1);
    expect(one[0].error).toBeCloseTo(3.5, 10);
  });
});
