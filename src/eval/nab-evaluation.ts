import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNabTime, type NabFile } from './nab-corpus';
import { NAB_PROFILES, type NabProfileName } from './nab-profiles';
import { nabResultPath, writeNabResult } from './nab-results';
import { probationaryLength, scoreNabCorpus, type NabProfileResult } from './nab-scorer';
import type { StreamingScorerFactory } from './streaming-scorer';
import { linePlot } from './svg-plot';

/** A detector's anomaly scores for every file, by NAB file name. */
export type NabDetectorOutput = Map<string, Float64Array>;

/**
 * Runs a streaming detector over every file in row order: each row is scored before the
 * detector sees the next one, so no score depends on the future.
 *
 * @example
 * const output = runNabDetector(files, () => new LikelihoodScorer());
 */
export function runNabDetector(
  files: readonly NabFile[],
  factory: StreamingScorerFactory,
): NabDetectorOutput {
  const output: NabDetectorOutput = new Map();
  for (const file of files) {
    const n = file.values.length;
    const scorer = factory({ name: file.name, rows: n, probation: probationaryLength(n) });
    const scores = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = scorer.score(file.values[i]!, parseNabTime(file.timestamps[i]!));
      if (!(s >= 0 && s <= 1))
        throw new RangeError(`${file.name}:${i}: detector score ${s} not in [0,1]`);
      scores[i] = s;
    }
    output.set(file.name, scores);
  }
  return output;
}

/**
 * The NAB result score of one row from the detector's own output for the window ending at
 * it: with r = score / threshold, a normal verdict maps to r / 2 (below 0.5) and an anomaly
 * to 1 - 1 / (2r) (0.5 and up), so 0.5 is the detector's threshold and the score still
 * orders rows by how far they are from it. An anomaly without a threshold (a rule's certain
 * one) is 1; no verdict (warming up, partial window) is 0.
 *
 * @example nabScoreOf('anomaly', 3, 1.5) // 0.75
 */
export function nabScoreOf(verdict: string, score: number, threshold: number | null): number {
  const r = threshold !== null && threshold > 0 ? score / threshold : NaN;
  // An anomaly without a threshold is a certain one (a broken range, an overflowing score).
  if (verdict === 'anomaly') return Number.isFinite(r) ? 1 - 1 / (2 * Math.max(r, 1)) : 1;
  if (verdict !== 'normal' || !Number.isFinite(r)) return 0;
  return Math.min(Math.max(r, 0), 1 - 1e-9) / 2;
}

export type NabThresholds = Partial<Record<NabProfileName, number>>;

/** Scores a detector's output for the three profiles (optimized thresholds unless given). */
export function scoreNabOutput(
  files: readonly NabFile[],
  output: NabDetectorOutput,
  thresholds: NabThresholds = {},
): NabProfileResult[] {
  const inputs = files.map((f) => ({
    name: f.name,
    scores: output.get(f.name)!,
    windows: f.windows,
  }));
  return NAB_PROFILES.map((p) => scoreNabCorpus(inputs, p, thresholds[p.name]));
}

/** The summary and per-file table, as printed by `aestream evaluate nab`. */
export function formatNabReport(
  detector: string,
  files: readonly NabFile[],
  results: readonly NabProfileResult[],
): string {
  const lines = [
    `NAB: detector ${detector}, ${files.length} files, ${files.reduce((s, f) => s + f.windows.length, 0)} windows`,
    '',
    '| profile | threshold | raw | normalized score |',
    '|---|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.profile.name} | ${r.threshold.toPrecision(6)} | ${r.raw.toFixed(4)} | ${r.normalized.toFixed(2)} |`,
    ),
    '',
    `| file | windows | ${results.map((r) => `${short(r.profile.name)} score | TP | FP`).join(' | ')} |`,
    `|---|---:|${results.map(() => '---:|---:|---:').join('|')}|`,
  ];
  files.forEach((f, i) => {
    const cells = results.map((r) => {
      const s = r.files[i]!;
      return `${s.score.toFixed(4)} | ${s.tp} | ${s.fp}`;
    });
    lines.push(`| ${f.name} | ${f.windows.length} | ${cells.join(' | ')} |`);
  });
  return lines.join('\n') + '\n';
}

function short(profile: string): string {
  return profile === 'standard' ? 'std' : profile === 'reward_low_FP_rate' ? 'lowFP' : 'lowFN';
}

/**
 * Writes NAB result CSVs (`<out>/results/<detector>/<category>/<detector>_<file>.csv`), one
 * SVG plot per file (value, score, the standard-profile threshold, label windows,
 * detections) and report.md; returns the report path.
 */
export function writeNabReport(
  outDir: string,
  detector: string,
  files: readonly NabFile[],
  output: NabDetectorOutput,
  results: readonly NabProfileResult[],
  extra: ReadonlyMap<string, Record<string, Float64Array>> = new Map(),
): string {
  const standard = results.find((r) => r.profile.name === 'standard')!;
  const plotsDir = join(outDir, 'plots');
  mkdirSync(plotsDir, { recursive: true });
  const sections: string[] = [formatNabReport(detector, files, results)];
  for (const file of files) {
    const scores = output.get(file.name)!;
    writeNabResult(
      nabResultPath(join(outDir, 'results', detector), detector, file.name),
      file,
      scores,
      extra.get(file.name) ?? {},
    );
    const n = scores.length;
    const x = Float64Array.from({ length: n }, (_, i) => i);
    const p = probationaryLength(n);
    const detections: number[] = [];
    for (let i = p; i < n; i++) if (scores[i]! >= standard.threshold) detections.push(i);
    const svg = linePlot({
      title: file.name,
      x,
      series: [
        { name: 'value', values: file.values, color: '#1f77b4' },
        { name: 'score', values: scores, color: '#ff7f0e', rightAxis: true },
        {
          name: 'threshold',
          values: new Float64Array(n).fill(Math.min(1, standard.threshold)),
          color: '#d62728',
          rightAxis: true,
        },
      ],
      ranges: file.windows.map(([a, b]) => [a, b] as [number, number]),
      markers: detections,
      formatX: (i) => file.timestamps[Math.round(i)] ?? String(i),
    });
    const plot = `${file.name.replace(/[/\\]/g, '__').replace(/\.csv$/, '')}.svg`;
    writeFileSync(join(plotsDir, plot), svg);
    sections.push(`### ${file.name}\n\n![${file.name}](plots/${plot})\n`);
  }
  const report = join(outDir, 'report.md');
  writeFileSync(report, sections.join('\n'));
  return report;
}
