import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addCounts,
  figuresOf,
  segmentsOf,
  type SeriesCounts,
  type SeriesFigures,
} from './series-metrics';
import { linePlot } from './svg-plot';

/** The outcome of one labelled series. */
export interface SeriesFileResult extends SeriesFigures {
  name: string;
  channels: number;
  trainRows: number;
  testRows: number;
  anomalousRows: number;
  counts: SeriesCounts;
  modelVersion: string;
  trainSeconds: number;
  streamSeconds: number;
  deadLetters: number;
}

export interface SeriesReport {
  pipeline: string;
  data: string;
  layout: string;
  /** How a row's verdict is derived from the detector's outputs. */
  rowVerdict: string;
  files: SeriesFileResult[];
  pooled: SeriesFigures & { counts: SeriesCounts };
  seconds: number;
}

/** What one series looked like through the detector, for its plot. */
export interface SeriesTrace {
  name: string;
  /** Test rows x channels, row-major. */
  values: Float64Array;
  channels: number;
  /** Per test row (NaN where the detector gave no score or threshold). */
  scores: Float64Array;
  thresholds: Float64Array;
  labels: Uint8Array;
  /** Test rows with an anomaly event. */
  events: number[];
}

export const ROW_VERDICT =
  'a row is flagged when the window that ends at it (its last reading) is judged an anomaly; ' +
  'with stride > 1, the rows a window first covers share its verdict; ' +
  'a window judged while its threshold calibrates (warming-up) or a partial window is not flagged';

/** Pooled figures: every file's counts summed, so each row and segment weighs the same. */
export function pooledOf(files: readonly SeriesFileResult[]): SeriesReport['pooled'] {
  const counts = addCounts(files.map((f) => f.counts));
  return { ...figuresOf(counts), counts };
}

const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`);

/** The per-file table with the pooled row, as printed and written to report.md. */
export function formatSeriesTable(report: SeriesReport): string {
  const head =
    '| file | test rows | anomalous | segments | point P | point R | **point F1** | event R | **composite F1** | false alarms | PA F1 (for comparison with the literature; inflated) |';
  const row = (name: string, rows: number, f: SeriesFigures, c: SeriesCounts) =>
    `| ${name} | ${rows} | ${c.tp + c.fn} | ${c.segmentsFound}/${c.segments} | ${fmt(f.pointPrecision)} | ${fmt(f.pointRecall)} | ${fmt(f.pointF1)} | ${fmt(f.eventRecall)} | ${fmt(f.compositeF1)} | ${pct(f.falseAlarmRate)} | ${fmt(f.pointAdjustedF1)} |`;
  const p = report.pooled;
  return [
    head,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...report.files.map((f) => row(f.name, f.testRows, f, f.counts)),
    row(`**pooled (${report.files.length})**`, p.counts.rows, p, p.counts),
  ].join('\n');
}

/**
 * Writes `report.md`, `results.json` and one SVG per series under `outDir`; returns the
 * report's path.
 */
export function writeSeriesReport(
  outDir: string,
  report: SeriesReport,
  traces: readonly SeriesTrace[],
): string {
  const plots = join(outDir, 'plots');
  mkdirSync(plots, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(report, null, 2) + '\n');
  const sections = [
    `# Labelled series: ${report.data}`,
    '',
    `pipeline ${report.pipeline}, layout ${report.layout}, ${report.files.length} files, ${report.seconds.toFixed(0)} s`,
    '',
    `Row verdicts: ${ROW_VERDICT}.`,
    'Point-wise figures count rows without point adjustment; event recall is the share of labelled segments with a flagged row;',
    'composite F1 is the harmonic mean of point precision and event recall (Garg et al. 2021); false alarms are flagged normal rows over normal rows.',
    '',
    formatSeriesTable(report),
    '',
  ];
  for (const t of traces) {
    const file = `${t.name.replace(/[^A-Za-z0-9._-]/g, '_')}.svg`;
    writeFileSync(join(plots, file), seriesPlot(t));
    sections.push(`### ${t.name}`, '', `![${t.name}](plots/${file})`, '');
  }
  const path = join(outDir, 'report.md');
  writeFileSync(path, sections.join('\n'));
  return path;
}

const PALETTE = ['#9ecae1', '#a1d99b', '#bcbddc', '#fdae6b', '#c7c7c7', '#9edae5'];

/**
 * Two panels of the test rows: every channel, then the score and threshold (log10, so a
 * jump does not flatten the rest); labelled segments shaded, anomaly events marked.
 */
export function seriesPlot(t: SeriesTrace): string {
  const n = t.scores.length;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const ranges = segmentsOf(t.labels).map(([a, b]) => [a, b - 1] as [number, number]);
  const channel = (c: number) =>
    Float64Array.from({ length: n }, (_, i) => t.values[i * t.channels + c]!);
  const log = (a: Float64Array) => Array.from(a, (v) => (v > 0 ? Math.log10(v) : null));
  const top = linePlot({
    title: `${t.name}: ${t.channels} channels (labelled anomalies shaded)`,
    x,
    series: Array.from({ length: t.channels }, (_, c) => ({
      name: c === 0 ? 'channels' : '',
      values: channel(c),
      color: PALETTE[c % PALETTE.length]!,
    })),
    ranges,
    formatX: (i) => `row ${Math.round(i)}`,
  });
  const bottom = linePlot({
    title: `${t.name}: log10 score and threshold (events marked)`,
    x,
    series: [
      { name: 'log10 score', values: log(t.scores), color: '#ff7f0e' },
      { name: 'log10 threshold', values: log(t.thresholds), color: '#d62728' },
    ],
    ranges,
    markers: t.events,
    formatX: (i) => `row ${Math.round(i)}`,
  });
  const inner = (svg: string, y: number) =>
    svg.replace(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /, `<svg y="${y}" `);
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="960" height="520" viewBox="0 0 960 520">',
    inner(top, 0),
    inner(bottom, 260),
    '</svg>',
  ].join('\n');
}
