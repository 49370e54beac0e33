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

/** A run of one source's events, each less than the match tail after the one before. */
export interface Incident {
  source: string;
  firstEvent: number;
  lastEvent: number;
  events: number;
  /** Events on no injected anomaly (outside it and its tail). */
  falseEvents: number;
  /** The injected anomalies its events fall on. */
  anomalies: InjectedAnomaly[];
}

/**
 * The incidents of a run: per source, events grouped while each is within `tailMs` of the one
 * before (as the demo counts them), each with its false events and the anomalies it is on.
 *
 * @example incidents(traces, gen.anomalies, match.tailMs)[0] // { source: 'sensor-0', events: 71, falseEvents: 0, ... }
 */
export function incidents(
  traces: readonly SourceTrace[],
  anomalies: readonly InjectedAnomaly[],
  tailMs: number,
): Incident[] {
  const out: Incident[] = [];
  for (const t of traces) {
    const own = anomalies.filter((a) => a.source === t.source);
    let current: Incident | undefined;
    for (const time of [...t.events].sort((a, b) => a - b)) {
      if (!current || time - current.lastEvent > tailMs) {
        current = {
          source: t.source,
          firstEvent: time,
          lastEvent: time,
          events: 0,
          falseEvents: 0,
          anomalies: [],
        };
        out.push(current);
      }
      current.lastEvent = time;
      current.events++;
      const on = own.find((a) => time >= a.startTime && time <= a.endTime + tailMs);
      if (!on) current.falseEvents++;
      else if (!current.anomalies.includes(on)) current.anomalies.push(on);
    }
  }
  return out.sort((a, b) => a.firstEvent - b.firstEvent);
}

/** `2026-01-01 10:04 UTC`: report times name their zone. */
const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

function duration(ms: number): string {
  const m = Math.round(ms / 60_000);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

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
        firstEvent === null ? 'missed' : `found after ${duration(firstEvent - a.startTime)}`;
      return `<tr><td>${esc(a.source)}</td><td>${esc(a.kind ?? '')}</td><td>${utc(a.startTime)}</td><td>${delay}</td></tr>`;
    })
    .join('\n');
  const found = incidents(input.traces, input.anomalies, input.match.tailMs);
  const incidentRows = found
    .map((i) => {
      const on = i.anomalies.map((a) => `${a.kind ?? 'anomaly'} at ${utc(a.startTime)}`);
      return `<tr><td>${esc(i.source)}</td><td>${utc(i.firstEvent)}</td><td>${duration(i.lastEvent - i.firstEvent)}</td><td>${i.events}</td><td>${i.falseEvents}</td><td>${esc(on.join(', ') || 'none (false alarm)')}</td></tr>`;
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
        markerRanges: found
          .filter((i) => i.source === t.source)
          .map((i): [number, number] => [i.firstEvent, i.lastEvent]),
        ticks: 6,
        rightScale: 'log',
        xLabel: 'event time (UTC)',
        formatX: (x) => new Date(x).toISOString().slice(0, 16).replace('T', ' '),
      });
    })
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-bottom:16px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f4f4f4}
svg{display:block;max-width:100%;height:auto}</style></head>
<body><h1>${esc(input.title)}</h1>
<table>${rows}</table>
<h2>Injected anomalies</h2>
<table><tr><th>source</th><th>kind</th><th>start</th><th>detection</th></tr>${anomalies}</table>
<h2>Incidents</h2>
<p>Runs of a source's anomaly events, each within ${duration(input.match.tailMs)} of the one before; false events are on no injected anomaly (nor within ${duration(input.match.tailMs)} after one).</p>
<table><tr><th>source</th><th>first event</th><th>duration</th><th>events</th><th>false events</th><th>on injected anomaly</th></tr>${incidentRows}</table>
<h2>Score vs threshold per source</h2>
<p>Shaded: injected anomalies. Red bars: incidents (from first to last event). Feature values on the left axis; score and threshold on the right, on a log scale. Times are event times in UTC.</p>
${plots}
</body></html>
`;
}
