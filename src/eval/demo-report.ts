import type { InjectedAnomaly } from '../connectors/synthetic-source';
import type { MatchResult } from './event-matching';
import { linePlot } from './svg-plot';

/** What the demo recorded of one source: per reading its value, score and threshold. */
export interface SourceTrace {
  source: string;
  times: number[];
  /** The reading's values, one per feature. */
  values: number[][];
  scores: Array<number | null>;
  thresholds: Array<number | null>;
  events: number[];
}

export interface DemoReportInput {
  title: string;
  summary: Array<[string, string]>;
  match: MatchResult;
  traces: SourceTrace[];
  anomalies: readonly InjectedAnomaly[];
}

const featureColors = ['#4a6fa5', '#6aa56a', '#a56aa5', '#a5a56a'];

function featureSeries(values: number[][]) {
  const features = values[0]?.length ?? 0;
  return Array.from({ length: features }, (_, k) => ({
    name: `feature ${k}`,
    values: values.map((v) => v[k] ?? null),
    color: featureColors[k % featureColors.length],
  }));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A self-contained HTML report of a demo run: the summary table, the injected anomalies
 * (found or missed) and, per source, the first feature, the score and the threshold over
 * time with the anomalies shaded and the events marked.
 */
export function demoReport(input: DemoReportInput): string {
  const rows = input.summary
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
    .join('\n');
  const anomalies = input.match.perAnomaly
    .map(({ anomaly, firstEvent }) => {
      const a = anomaly as InjectedAnomaly;
      const delay =
        firstEvent === null
          ? 'missed'
          : `found after ${Math.round((firstEvent - a.startTime) / 1000)} s`;
      return `<tr><td>${esc(a.source)}</td><td>${esc(a.kind ?? '')}</td><td>${new Date(a.startTime).toISOString()}</td><td>${delay}</td></tr>`;
    })
    .join('\n');
  const plots = input.traces
    .map((t) => {
      const ranges = input.anomalies
        .filter((a) => a.source === t.source)
        .map((a): [number, number] => [a.startTime, a.endTime]);
      return linePlot({
        title: t.source,
        x: t.times,
        series: [
          ...featureSeries(t.values),
          { name: 'score', values: t.scores, color: '#222', rightAxis: true },
          { name: 'threshold', values: t.thresholds, color: '#d33', rightAxis: true },
        ],
        ranges,
        markers: t.events,
        formatX: (x) => new Date(x).toISOString().slice(5, 16).replace('T', ' '),
      });
    })
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-bottom:16px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f4f4f4}</style></head>
<body><h1>${esc(input.title)}</h1>
<table>${rows}</table>
<h2>Injected anomalies</h2>
<table><tr><th>source</th><th>kind</th><th>start</th><th>detection</th></tr>${anomalies}</table>
<h2>Score vs threshold per source</h2>
<p>Shaded: injected anomalies. Red ticks: anomaly events. Feature values on the left axis, score and threshold on the right.</p>
${plots}
</body></html>
`;
}
