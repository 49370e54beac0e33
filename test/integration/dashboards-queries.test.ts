import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { ModelRelease, SensorFrame } from '../../src/core/records';
import { allDashboards, DASHBOARD_DIR } from '../../deploy/grafana/generator/dashboards';
import { alertInfluxQueries } from '../../deploy/grafana/generator/alerts';
import { queriesOf, type DashboardQuery } from '../../deploy/grafana/generator/influxql';
import { ScoreSink } from '../../src/outputs/score-sink';
import type { Judged } from '../../src/core/model-input';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { packRelease } from '../../src/registry/model-release';
import { ModelStore } from '../../src/registry/model-store';
import { startDetector, type Detector } from '../../src/app/detect';
import { waitFor } from '../helpers/wait-for';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/**
 * The dashboards against real data: a short detect pipeline (real Kafka, real InfluxDB,
 * the code of `aestream detect`, a model swap and some undecodable records on the way)
 * writes its points; then every InfluxQL query of the committed dashboard JSON (panels,
 * annotations, variables) runs with its template variables filled in as Grafana would,
 * and must return rows of the shape its panel expects. A query that returns nothing fails.
 */

type Cell = string | number | boolean | null;
interface Series {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: Cell[][];
}

/** What a panel's query must return: its columns after `time`, its GROUP BY tags, cell kinds. */
interface Shape {
  columns: string[];
  tags?: string[];
  /** Columns holding strings (others numbers). */
  text?: string[];
  /** Columns where at least one row must be > 0. */
  positive?: string[];
  /** No time column (SHOW TAG VALUES). */
  keyValue?: boolean;
}

const SHAPES: Record<string, Shape> = {
  // Overview
  'variable: pipeline': { columns: ['key', 'value'], keyValue: true, text: ['key', 'value'] },
  'Anomaly events': { columns: ['events'], positive: ['events'] },
  'Anomalies per pipeline and source': {
    columns: ['anomalies'],
    tags: ['pipeline', 'source'],
    positive: ['anomalies'],
  },
  'Top sources by anomalies': {
    columns: ['anomalies', 'source', 'pipeline'],
    text: ['source', 'pipeline'],
    positive: ['anomalies'],
  },
  'Dead letters by reason': { columns: ['records'], tags: ['reason'], positive: ['records'] },
  'Current model per pipeline': {
    columns: ['frames_per_s', 'model', 'engine', 'backend'],
    tags: ['pipeline'],
    text: ['model', 'engine', 'backend'],
  },
  // Source detail
  'variable: source': { columns: ['key', 'value'], keyValue: true, text: ['key', 'value'] },
  'annotation: Anomalies (event time)': {
    columns: ['score', 'threshold', 'model'],
    text: ['model'],
    positive: ['score', 'threshold'],
  },
  'annotation: Model swaps (wall clock)': {
    columns: ['event', 'previous', 'model'],
    text: ['event', 'previous', 'model'],
  },
  'Reconstruction error vs threshold': {
    columns: ['error', 'threshold'],
    positive: ['error', 'threshold'],
  },
  'Anomaly probability': { columns: ['p'], positive: ['p'] },
  'Top contributing features of recent anomaly events': {
    columns: ['score', 'threshold', 'p', 'top', 'model'],
    text: ['top', 'model'],
    positive: ['score', 'threshold', 'p'],
  },
  // Pipeline health
  'Frames per second': {
    columns: ['in', 'scored'],
    tags: ['pipeline'],
    positive: ['in', 'scored'],
  },
  'Consumer lag': { columns: ['lag'], tags: ['pipeline'] },
  'Batch size': { columns: ['batch size'], tags: ['pipeline'], positive: ['batch size'] },
  'Inference latency': { columns: ['inference'], tags: ['pipeline'], positive: ['inference'] },
  'End-to-end latency': { columns: ['end to end'], tags: ['pipeline'], positive: ['end to end'] },
  // Alert rules (deploy/grafana/provisioning/alerting), over the same range
  'alert: Anomaly rate per source': {
    columns: ['anomalies'],
    tags: ['pipeline', 'source'],
    positive: ['anomalies'],
  },
  'alert: Consumer lag': { columns: ['lag'], tags: ['pipeline'] },
  Backend: {
    columns: ['backend', 'engine', 'model'],
    tags: ['pipeline'],
    text: ['backend', 'engine', 'model'],
  },
};

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The query as Grafana sends it: variables, $timeFilter and $__interval filled in. */
function substitute(
  q: DashboardQuery,
  vars: { pipeline: string; source: string; from: number; to: number },
): string {
  return q.query
    .replace(/\/\^\$pipeline\$\//g, `/^${escapeRegex(vars.pipeline)}$/`)
    .replace(/\$pipeline/g, vars.pipeline)
    .replace(/\$source/g, vars.source)
    .replace(/\$timeFilter/g, `time >= ${vars.from}ms AND time <= ${vars.to}ms`)
    .replace(/\$__interval/g, '5s');
}

describe('dashboard queries against data written by a detect pipeline (real Kafka and InfluxDB)', () => {
  let f: PipelineFixture;
  let detector: Detector | undefined;
  beforeAll(async () => {
    f = await pipelineFixture('dash', {
      influx: true,
      yaml: {
        model: { train: { epochs: 3, seed: 1 } },
        threshold: { k: 4 },
      },
    });
  });
  afterAll(async () => {
    await detector?.stop();
    await f?.teardown();
  });

  it('every panel, annotation and variable query returns rows of its expected shape', async () => {
    // The committed JSON is what Grafana loads; the unit test keeps it equal to the generator.
    const boards = allDashboards().map(
      ({ file }) =>
        JSON.parse(
          readFileSync(resolve(__dirname, '..', '..', DASHBOARD_DIR, file), 'utf8'),
        ) as dashboard.Dashboard,
    );
    const queries = [...boards.flatMap((b) => queriesOf(b)), ...alertInfluxQueries()];
    expect([...new Set(queries.map((q) => q.where))].sort()).toEqual(Object.keys(SHAPES).sort());

    const { config, name, topics, influx } = f;
    // Two model versions trained on normal readings of the same generator; v1 first, v2 later.
    const length = 600;
    const normal = new SyntheticSource({ seed: 11, sources: 1, length, anomaliesPerSource: 0 });
    const values = [...normal.frames()].map((x) => x.values[0]!);
    await f.train({ rows: values.length, value: (i) => values[i]! });
    await f.train({ rows: values.length, value: (i) => values[i]!, seed: 2 });
    const store = new ModelStore(config.model.store);

    const startedAt = Date.now();
    detector = await startDetector(config, {
      metricsPort: null,
      modelVersion: 1,
      reportIntervalMs: 300,
    });

    // Event times end now, so the scores and the detector's own reports share a time range.
    const intervalMs = 100;
    const gen = new SyntheticSource({
      seed: 5,
      sources: 3,
      length,
      intervalMs,
      startTime: startedAt - length * intervalMs,
      anomaliesPerSource: 2,
      magnitude: 4,
      warmup: 150,
    });
    const frames = [...gen.frames()];
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const produce = (part: SensorFrame[]) => f.produce(part);
    const scorePoints = () => f.points();

    const half = Math.floor(frames.length / 2);
    await produce(frames.slice(0, half));
    // Undecodable records: the DLQ-by-reason panel needs dead letters.
    await f.produce(
      ['sensor-0', 'sensor-1', 'sensor-2'].map((key) => ({
        key,
        value: Buffer.from([0xff, 0xfe, 0xfd]),
        headers: codec.headers,
      })),
    );
    await waitFor(async () => (await scorePoints()) === half, {
      what: `${half} score points from v000001`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });

    const releaseCodec = createAvroCodec<ModelRelease>('ModelRelease');
    await f.produce(
      [
        {
          key: name,
          value: releaseCodec.encode(await packRelease(store, 2, name)),
          headers: releaseCodec.headers,
        },
      ],
      topics.releases,
    );
    await waitFor(() => detector!.model.version === 'v000002', {
      what: 'the detector to swap to v000002',
      timeoutMs: 30_000,
    });
    await produce(frames.slice(half));
    await waitFor(async () => (await scorePoints()) === frames.length, {
      what: `all ${frames.length} score points`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    // The reporter's next tick records the swap (model point) and the dead letters (dlq points).
    await waitFor(
      async () =>
        (await influx.query(`SELECT "event" FROM "model" WHERE "event" = 'swapped'`)).length > 0 &&
        (await influx.query('SELECT "records" FROM "dlq"')).length > 0,
      { what: 'the model swap and the dead letters in InfluxDB', timeoutMs: 30_000 },
    );
    await detector.stop();
    detector = undefined;

    // The source detail is looked at for a source that had anomaly events.
    const bySource = await influx.query<{ source: string; n: number }>(
      'SELECT count("score") AS "n" FROM "anomaly" GROUP BY "source"',
    );
    const source = [...bySource].sort((a, b) => b.n - a.n)[0]?.source;
    expect(source).toBeDefined();
    const vars = {
      pipeline: name,
      source: source!,
      from: startedAt - length * intervalMs - 1000,
      to: Date.now() + 1000,
    };

    // Points of an `aestream replay` run (same measurements, tagged run=<id>) at the same times
    // stay out of every panel: run each query before and after writing some.
    const before = new Map<string, string>();
    for (const q of queries)
      before.set(q.where, JSON.stringify(await influx.queryRaw(substitute(q, vars))));
    const replayed = await influx.query<{ time: Date; score: number }>(
      `SELECT "score" FROM "anomaly" WHERE "source" = '${source}' LIMIT 5`,
    );
    expect(replayed.length).toBeGreaterThan(0);
    await new ScoreSink<SensorFrame>(
      {
        writePoints: (points) =>
          influx.writePoints(
            points.map((p) => ({ ...p, tags: { ...p.tags, run: 'replay-test' } })),
            { precision: 'ms' },
          ),
      },
      name,
    ).write(
      replayed.map((r) => ({
        key: source!,
        data: new Float32Array(16),
        last: { value: { time: r.time.getTime() } },
        covered: [],
        score: r.score * 10,
        contributions: [{ index: 0, error: r.score * 10 }],
        modelVersion: 'v000009',
        threshold: r.score / 2,
        verdict: 'anomaly',
        probability: 1,
      })) as unknown as Judged<SensorFrame>[],
    );
    expect(
      (
        await influx.query(
          `SELECT count("score") AS "n" FROM "anomaly" WHERE "run" = 'replay-test'`,
        )
      ).length,
    ).toBe(1);
    for (const q of queries)
      expect({
        where: q.where,
        rows: JSON.stringify(await influx.queryRaw(substitute(q, vars))),
      }).toEqual({
        where: q.where,
        rows: before.get(q.where),
      });

    const failures: string[] = [];
    for (const q of queries) {
      const text = substitute(q, vars);
      const shape = SHAPES[q.where]!;
      const raw = (await influx.queryRaw(text, { precision: 'ms' })) as {
        results: Array<{ series?: Series[]; error?: string }>;
      };
      const result = raw.results[0]!;
      const series = result.series ?? [];
      const rows = series.flatMap((s) => s.values);
      if (result.error) failures.push(`${q.where}: ${result.error}`);
      else if (rows.length === 0) failures.push(`${q.where}: no rows for ${text}`);
      for (const s of series) {
        const columns = shape.keyValue ? shape.columns : ['time', ...shape.columns];
        if (JSON.stringify(s.columns) !== JSON.stringify(columns))
          failures.push(
            `${q.where}: columns ${s.columns.join(',')}, expected ${columns.join(',')}`,
          );
        const tags = Object.keys(s.tags ?? {}).sort();
        if (JSON.stringify(tags) !== JSON.stringify([...(shape.tags ?? [])].sort()))
          failures.push(
            `${q.where}: tags ${tags.join(',')}, expected ${(shape.tags ?? []).join(',')}`,
          );
        if (shape.tags?.includes('pipeline') && s.tags?.pipeline !== name)
          failures.push(`${q.where}: series of pipeline ${s.tags?.pipeline}`);
        for (const [i, column] of s.columns.entries()) {
          if (column === 'time' && !shape.keyValue) continue;
          const kind = shape.text?.includes(column) ? 'string' : 'number';
          const bad = s.values.find((row) => row[i] !== null && typeof row[i] !== kind);
          if (bad)
            failures.push(`${q.where}: ${column} = ${JSON.stringify(bad[i])}, expected a ${kind}`);
          if (s.values.every((row) => row[i] === null))
            failures.push(`${q.where}: ${column} is null in every row`);
        }
      }
      for (const column of shape.positive ?? []) {
        const values = series.flatMap((s) => s.values.map((row) => row[s.columns.indexOf(column)]));
        if (!values.some((v) => typeof v === 'number' && v > 0))
          failures.push(`${q.where}: no ${column} above 0`);
      }
    }
    expect(failures).toEqual([]);

    // Variables list what was written; the swap annotation names both versions.
    const valuesOf = async (where: string) =>
      (
        await influx.query<{ value: string }>(
          substitute(
            queries.find((q) => q.where === where)!,
            vars,
          ),
        )
      ).map((r) => r.value);
    expect(await valuesOf('variable: pipeline')).toEqual([name]);
    expect((await valuesOf('variable: source')).sort()).toEqual(gen.sources.slice().sort());
    const swaps = await influx.query<{ event: string; previous: string; model: string }>(
      substitute(
        queries.find((q) => q.where === 'annotation: Model swaps (wall clock)')!,
        vars,
      ),
    );
    expect(swaps.map((s) => [s.event, s.previous, s.model])).toEqual([
      ['loaded', '', 'v000001'],
      ['swapped', 'v000001', 'v000002'],
    ]);
    // Top contributions read as index:error pairs.
    const recent = await influx.query<{ top: string }>(
      substitute(
        queries.find((q) => q.where === 'Top contributing features of recent anomaly events')!,
        vars,
      ),
    );
    expect(recent.every((r) => /^\d+:[0-9.e+-]+( \d+:[0-9.e+-]+)*$/.test(r.top))).toBe(true);
    const reasons = await influx.query<{ reason: string; records: number }>(
      'SELECT sum("records") AS "records" FROM "dlq" GROUP BY "reason"',
    );
    expect(reasons.map((r) => [r.reason, r.records])).toEqual([['AE_ERR_AVRO_DECODE', 3]]);
  });
});
