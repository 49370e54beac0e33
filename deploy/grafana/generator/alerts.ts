import { stringify } from 'yaml';
import { NOT_REPLAYED } from './board-parts';
import { INFLUX_DATASOURCE, PROMETHEUS_DATASOURCE, type DashboardQuery } from './influxql';

/** Where `npm run dashboards` writes the alert rules; Grafana provisions every file of the folder. */
export const ALERTS_FILE = 'deploy/grafana/provisioning/alerting/aestream-alerts.yaml';

const EXPRESSIONS = { type: '__expr__', uid: '__expr__' };

/** One query of a rule: InfluxQL or PromQL over the last `seconds`. */
type Source =
  | { influxql: string; seconds: number; resultFormat: 'time_series' | 'table' }
  | { promql: string; seconds: number };

interface RuleSpec {
  uid: string;
  title: string;
  source: Source;
  /** The value per series that fires the rule. */
  above?: number;
  below?: number;
  for: string;
  summary: string;
  description: string;
}

/**
 * The alert rules: anomaly rate per source and consumer lag from InfluxDB (what the
 * dashboards read), sinks down from the detectors' Prometheus metrics. Each fires per
 * series (pipeline and source, pipeline, topic, database), so one alert names its culprit.
 */
const RULES: RuleSpec[] = [
  {
    uid: 'aestream-anomaly-rate',
    title: 'Anomaly rate per source',
    source: {
      influxql: `SELECT count("score") AS "anomalies" FROM "anomaly" WHERE ${NOT_REPLAYED} AND $timeFilter GROUP BY "pipeline", "source"`,
      seconds: 600,
      resultFormat: 'time_series',
    },
    above: 20,
    for: '5m',
    summary: 'Many anomaly events from {{ $labels.source }} ({{ $labels.pipeline }})',
    description:
      "More than 20 anomaly events in the last 10 minutes of event time from one source. Anomaly points carry the frame's event time: data produced late or replayed counts at its own time.",
  },
  {
    uid: 'aestream-consumer-lag',
    title: 'Consumer lag',
    source: {
      influxql: `SELECT max("lag") AS "lag" FROM "pipeline" WHERE $timeFilter GROUP BY "pipeline"`,
      seconds: 300,
      resultFormat: 'time_series',
    },
    above: 10_000,
    for: '10m',
    summary: 'Detectors of {{ $labels.pipeline }} are falling behind',
    description:
      "More than 10,000 messages behind the end of the input topic for 10 minutes (the detectors' own reports, wall clock). Start more detectors (up to the partition count) or look at the sinks.",
  },
  {
    uid: 'aestream-kafka-sink-down',
    title: 'Kafka sink down',
    source: { promql: 'min by (topic) (aestream_kafka_sink_up)', seconds: 120 },
    below: 1,
    for: '2m',
    summary: 'Writes to {{ $labels.topic }} are failing',
    description:
      'A detector has been retrying produces to this topic for 2 minutes; its input offsets are not committed meanwhile (aestream_kafka_sink_up = 0).',
  },
  {
    uid: 'aestream-influx-sink-down',
    title: 'InfluxDB sink down',
    source: { promql: 'min by (database) (aestream_influx_up)', seconds: 120 },
    below: 1,
    for: '2m',
    summary: 'Writes to InfluxDB database {{ $labels.database }} are failing',
    description:
      'A detector has been retrying InfluxDB writes for 2 minutes; its input offsets are not committed meanwhile (aestream_influx_up = 0).',
  },
];

function queryOf(source: Source): Record<string, unknown> {
  const relativeTimeRange = { from: source.seconds, to: 0 };
  if ('influxql' in source) {
    return {
      refId: 'A',
      relativeTimeRange,
      datasourceUid: INFLUX_DATASOURCE.uid,
      model: {
        refId: 'A',
        datasource: INFLUX_DATASOURCE,
        query: source.influxql,
        rawQuery: true,
        resultFormat: source.resultFormat,
      },
    };
  }
  return {
    refId: 'A',
    relativeTimeRange,
    datasourceUid: PROMETHEUS_DATASOURCE.uid,
    model: {
      refId: 'A',
      datasource: PROMETHEUS_DATASOURCE,
      expr: source.promql,
      instant: true,
      range: false,
    },
  };
}

function ruleOf(spec: RuleSpec): Record<string, unknown> {
  const evaluator =
    spec.above !== undefined
      ? { type: 'gt', params: [spec.above] }
      : { type: 'lt', params: [spec.below!] };
  return {
    uid: spec.uid,
    title: spec.title,
    condition: 'C',
    data: [
      queryOf(spec.source),
      {
        refId: 'B',
        datasourceUid: EXPRESSIONS.uid,
        model: {
          refId: 'B',
          datasource: EXPRESSIONS,
          type: 'reduce',
          expression: 'A',
          reducer: 'last',
        },
      },
      {
        refId: 'C',
        datasourceUid: EXPRESSIONS.uid,
        model: {
          refId: 'C',
          datasource: EXPRESSIONS,
          type: 'threshold',
          expression: 'B',
          conditions: [{ evaluator }],
        },
      },
    ],
    // No series means no anomalies, no lag reported or no detector metrics: not an alert.
    noDataState: 'OK',
    execErrState: 'Error',
    for: spec.for,
    labels: { service: 'aestream' },
    annotations: { summary: spec.summary, description: spec.description },
  };
}

/** The provisioning file (Grafana's file format for alert rules), as an object. */
export function alertProvisioning(): Record<string, unknown> {
  return {
    apiVersion: 1,
    groups: [
      { orgId: 1, name: 'aestream', folder: 'aestream', interval: '1m', rules: RULES.map(ruleOf) },
    ],
  };
}

/** The provisioning file's text: what `npm run dashboards` writes. */
export function renderAlerts(): string {
  return (
    '# Generated by deploy/grafana/generator (npm run dashboards): edit alerts.ts, not this file.\n' +
    stringify(alertProvisioning(), { lineWidth: 0, aliasDuplicateObjects: false })
  );
}

/** The InfluxQL of the rules, as the query test runs them (`where` = `alert: <title>`). */
export function alertInfluxQueries(): DashboardQuery[] {
  return RULES.flatMap((r) =>
    'influxql' in r.source
      ? [
          {
            where: `alert: ${r.title}`,
            query: r.source.influxql,
            resultFormat: r.source.resultFormat,
          },
        ]
      : [],
  );
}

/** The PromQL of the rules. */
export function alertPromQueries(): Array<{ where: string; expr: string }> {
  return RULES.flatMap((r) =>
    'promql' in r.source ? [{ where: `alert: ${r.title}`, expr: r.source.promql }] : [],
  );
}
