import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { IPoint } from 'influx';
import { parse } from 'yaml';
import { AeError, ErrorCodes } from '../../src/core/errors';
import {
  alertInfluxQueries,
  alertPromQueries,
  alertProvisioning,
  ALERTS_FILE,
  renderAlerts,
} from '../../deploy/grafana/generator/alerts';
import {
  allDashboards,
  DASHBOARD_DIR,
  renderDashboard,
} from '../../deploy/grafana/generator/dashboards';
import {
  INFLUX_DATASOURCE,
  PROMETHEUS_DATASOURCE,
  queriesOf,
} from '../../deploy/grafana/generator/influxql';
import { DlqSink } from '../../src/outputs/dlq-sink';
import { MemoryTopic } from '../../src/connectors/kafka/memory-io';
import { ScoreSink } from '../../src/outputs/score-sink';
import type { Judged } from '../../src/core/model-input';
import { detectorMetrics } from '../../src/observability/metrics';
import { startPipelineReporter } from '../../src/observability/pipeline-reporter';

const ROOT = resolve(__dirname, '..', '..');

/** Every point kind the code writes to InfluxDB, produced by the code itself. */
async function writtenPoints(): Promise<IPoint[]> {
  const points: IPoint[] = [];
  const writer = { writePoints: async (p: readonly IPoint[]) => void points.push(...p) };
  const judged = (verdict: 'anomaly' | 'normal', threshold: number | null) =>
    ({
      key: 'pump-1',
      last: { value: { time: 1_000 }, record: { timestamp: 1_000 } },
      score: 0.9,
      contributions: [
        { index: 1, error: 0.8 },
        { index: 0, error: 0.1 },
      ],
      modelVersion: 'v000001',
      threshold,
      verdict,
      probability: 0.99,
      partial: threshold === null,
    }) as unknown as Judged<never>;
  await new ScoreSink<never>(writer, 'p').write([judged('anomaly', 0.5), judged('normal', null)]);
  const dlq = new DlqSink({ topic: 'dash-unit.dlq', send: async () => undefined });
  const stop = startPipelineReporter(
    'dash-unit',
    writer,
    {
      lag: async () => [{ partition: 0, lag: 1 }],
      model: () => ({ version: 'v1', engine: 'onnx', backend: 'wasm' }),
      dlqTopic: 'dash-unit.dlq',
    },
    60_000,
  );
  detectorMetrics().framesIn.inc({ pipeline: 'dash-unit' });
  await dlq.send(
    new MemoryTopic('dash-unit.frames', 1).record('k', Buffer.from([1]), {}),
    new AeError(ErrorCodes.AVRO_DECODE, 'x'),
  );
  await stop();
  return points;
}

describe('Grafana dashboards (generated with the foundation SDK)', () => {
  const boards = allDashboards();

  it('the committed JSON is what `npm run dashboards` generates (no drift, no strays)', () => {
    const dir = join(ROOT, DASHBOARD_DIR);
    const committed = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(committed.sort()).toEqual(boards.map((b) => b.file).sort());
    for (const { file, dashboard } of boards) {
      const text = readFileSync(join(dir, file), 'utf8');
      // A failure here means: run `npm run dashboards` and commit the result.
      expect({ file, text }).toEqual({ file, text: renderDashboard(dashboard) });
    }
    // Generating twice gives the same bytes (nothing time- or order-dependent).
    expect(allDashboards().map((b) => renderDashboard(b.dashboard))).toEqual(
      boards.map((b) => renderDashboard(b.dashboard)),
    );
  });

  it('has the dashboards and panels the product describes, each with a unique uid and ids', () => {
    const titles = Object.fromEntries(
      boards.map(({ dashboard }) => [
        dashboard.uid,
        (dashboard.panels ?? []).map((p) => (p as { title?: string }).title),
      ]),
    );
    expect(titles).toEqual({
      'aestream-overview': [
        'Which clock',
        'Anomaly events',
        'Anomalies per pipeline and source',
        'Top sources by anomalies',
        'Dead letters by reason',
        'Current model per pipeline',
      ],
      'aestream-source': [
        'Which clock',
        'Reconstruction error vs threshold',
        'Anomaly probability',
        'Top contributing features of recent anomaly events',
      ],
      'aestream-pipeline-health': [
        'Frames per second',
        'Consumer lag',
        'Batch size',
        'Inference latency',
        'End-to-end latency',
        'Frames and anomalies per second (Prometheus)',
        'Backend',
      ],
    });
    const source = boards.find((b) => b.dashboard.uid === 'aestream-source')!.dashboard;
    expect(source.templating?.list?.map((v) => v.name)).toEqual(['pipeline', 'source']);
    // event-time and wall-clock annotations share the board: each names its clock
    expect(source.annotations?.list?.map((a) => a.name)).toEqual([
      'Anomalies (event time)',
      'Model swaps (wall clock)',
    ]);
    for (const { dashboard } of boards) {
      const ids = (dashboard.panels ?? []).map((p) => (p as { id?: number }).id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of dashboard.panels ?? []) {
        const { x, w } = (p as { gridPos: { x: number; w: number } }).gridPos;
        expect(x + w).toBeLessThanOrEqual(24);
      }
    }
  });

  it('uses only datasources the provisioning creates', () => {
    const provisioned = parse(
      readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/datasources.yaml'), 'utf8'),
    ) as { datasources: Array<{ uid: string; type: string; jsonData?: { dbName?: string } }> };
    const uids = provisioned.datasources.map((d) => `${d.type}/${d.uid}`).sort();
    expect(uids).toEqual(
      [INFLUX_DATASOURCE, PROMETHEUS_DATASOURCE].map((d) => `${d.type}/${d.uid}`).sort(),
    );
    for (const { dashboard } of boards) {
      const text = JSON.stringify(dashboard);
      for (const [, uid] of text.matchAll(/"uid":"([^"]+)"/g)) {
        if (uid === dashboard.uid) continue;
        expect(provisioned.datasources.map((d) => d.uid)).toContain(uid);
      }
    }
  });

  it('queries only measurements, tags and fields the code writes', async () => {
    const points = await writtenPoints();
    const measurements = new Set(points.map((p) => p.measurement!));
    expect([...measurements].sort()).toEqual(['anomaly', 'dlq', 'model', 'pipeline', 'score']);
    const names = new Set<string>(measurements);
    for (const p of points) {
      for (const k of Object.keys(p.tags ?? {})) names.add(k);
      for (const k of Object.keys(p.fields ?? {})) names.add(k);
    }
    // `aestream replay` adds a `run` tag to the score sink's points; the dashboards leave them out.
    expect(readFileSync(join(ROOT, 'src/app/replay.ts'), 'utf8')).toMatch(
      /new ScoreSink<Frame>\(taggedWriter\(influx, \{ run: /,
    );
    names.add('run');
    const queries = [
      ...boards.flatMap(({ dashboard }) => queriesOf(dashboard)),
      ...alertInfluxQueries(),
    ];
    expect(queries.length).toBeGreaterThanOrEqual(20);
    for (const q of queries) {
      if (/FROM "(score|anomaly)"/.test(q.query) && !q.query.startsWith('SHOW'))
        expect({ where: q.where, query: q.query }).toEqual({
          where: q.where,
          query: expect.stringContaining(`"run" = ''`),
        });
    }
    for (const q of queries) {
      const aliases = new Set([...q.query.matchAll(/AS "([^"]+)"/g)].map((m) => m[1]!));
      const unknown = [...q.query.matchAll(/"([^"]+)"/g)]
        .map((m) => m[1]!)
        .filter((id) => !names.has(id) && !aliases.has(id));
      expect({ where: q.where, unknown }).toEqual({ where: q.where, unknown: [] });
      for (const [, from] of q.query.matchAll(/FROM "([^"]+)"/g)) {
        expect(measurements).toContain(from);
      }
      // Every query is bounded by the dashboard's time range, except tag listings.
      if (!q.query.startsWith('SHOW TAG VALUES')) expect(q.query).toContain('$timeFilter');
    }
  });

  it('boards that show event-time points say which clock each panel uses', () => {
    for (const uid of ['aestream-overview', 'aestream-source']) {
      const board = boards.find((b) => b.dashboard.uid === uid)!.dashboard;
      const note = (board.panels ?? [])[0] as { type?: string; options?: { content?: string } };
      expect(note.type).toBe('text');
      expect(note.options?.content).toMatch(/\*\*event time\*\*.*\*\*wall clock\*\*/s);
      expect(note.options?.content).toMatch(/pick the range of the data/);
    }
  });

  it('the Prometheus panel and alert rules query only metrics the detector registers', () => {
    const sources = [
      'src/observability/metrics.ts',
      'src/connectors/kafka/kafka-sink.ts',
      'src/connectors/influx/influx-sink.ts',
    ]
      .map((f) => readFileSync(join(ROOT, f), 'utf8'))
      .join('\n');
    const registered = new Set([...sources.matchAll(/'(aestream_[a-z_]+)'/g)].map((m) => m[1]!));
    const health = boards.find((b) => b.dashboard.uid === 'aestream-pipeline-health')!.dashboard;
    const panelExprs = (health.panels ?? []).flatMap((p) =>
      ((p as { targets?: Array<{ expr?: string; datasource?: { uid?: string } }> }).targets ?? [])
        .filter((t) => t.datasource?.uid === PROMETHEUS_DATASOURCE.uid)
        .map((t) => t.expr ?? ''),
    );
    expect(panelExprs.length).toBeGreaterThan(0);
    const exprs = [...panelExprs, ...alertPromQueries().map((q) => q.expr)];
    for (const expr of exprs) {
      const metrics = [...expr.matchAll(/\b(aestream_[a-z_]+)/g)].map((m) => m[1]!);
      expect(metrics.length).toBeGreaterThan(0);
      for (const m of metrics)
        expect({ expr, metric: m, registered: registered.has(m) }).toEqual({
          expr,
          metric: m,
          registered: true,
        });
    }
  });

  it('provisions alert rules for anomaly rate, sinks down and consumer lag, as generated', () => {
    // A failure here means: run `npm run dashboards` and commit the result.
    expect(readFileSync(join(ROOT, ALERTS_FILE), 'utf8')).toBe(renderAlerts());
    const file = parse(readFileSync(join(ROOT, ALERTS_FILE), 'utf8')) as ReturnType<
      typeof alertProvisioning
    > & {
      groups: Array<{
        rules: Array<{
          uid: string;
          title: string;
          condition: string;
          data: Array<{ refId: string; datasourceUid: string; model: { expression?: string } }>;
        }>;
      }>;
    };
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.title)).toEqual([
      'Anomaly rate per source',
      'Consumer lag',
      'Kafka sink down',
      'InfluxDB sink down',
    ]);
    expect(new Set(rules.map((r) => r.uid)).size).toBe(rules.length);
    const provisioned = parse(
      readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/datasources.yaml'), 'utf8'),
    ) as { datasources: Array<{ uid: string }> };
    const uids = [...provisioned.datasources.map((d) => d.uid), '__expr__'];
    for (const rule of rules) {
      const refIds = rule.data.map((d) => d.refId);
      expect(refIds).toContain(rule.condition);
      for (const d of rule.data) {
        expect(uids).toContain(d.datasourceUid);
        if (d.model.expression !== undefined) expect(refIds).toContain(d.model.expression);
      }
    }
  });
});
