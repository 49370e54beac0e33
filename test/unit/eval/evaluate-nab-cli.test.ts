/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { runMain as runCli } from '../../helpers/cli-process';
import { tempDir } from '../../helpers/temp-dir';

const run = runCli;

const stamp = (i: number) =>
  new Date(Date.UTC(2020, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);

/**
 * A tiny corpus in NAB's layout, generated: two cyclic series (period 48 rows, so the
 * 90 probationary rows see the whole range) with one spike each
 * (window of 21 rows around it) in a category NAB does not have, and one series without
 * anomalies in another.
 */
function makeCorpus(): string {
  const dir = tempDir('nab-tiny-');
  const windows: Record<string, Array<[string, string]>> = {};
  const write = (category: string, name: string, spikeAt: number | null) => {
    mkdirSync(join(dir, 'data', category), { recursive: true });
    const rows = ['timestamp,value'];
    for (let i = 0; i < 600; i++) {
      const v =
        50 +
        10 * Math.sin((2 * Math.PI * i) / 48) +
        ((i * 7919) % 13) / 13 +
        (i === spikeAt ? 60 : 0);
      rows.push(`${stamp(i)},${v.toFixed(3)}`);
    }
    writeFileSync(join(dir, 'data', category, name), rows.join('\n') + '\n');
    windows[`${category}/${name}`] =
      spikeAt === null ? [] : [[`${stamp(spikeAt - 10)}.000000`, `${stamp(spikeAt + 10)}.000000`]];
  };
  write('synthetic', 'spike_a.csv', 400);
  write('synthetic', 'spike_b.csv', 500);
  write('quiet', 'flat.csv', null);
  mkdirSync(join(dir, 'labels'));
  writeFileSync(join(dir, 'labels', 'combined_windows.json'), JSON.stringify(windows));
  return dir;
}

function profileScores(out: string): number[] {
  return ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'].map((p) => {
    const m = new RegExp(`\\| ${p} \\| [^|]+ \\| [^|]+ \\| ([-\\d.]+) \\|`).exec(out);
    if (!m) throw new Error(`no ${p} row in:\n${out}`);
    return Number(m[1]);
  });
}

describe('aestream evaluate nab', () => {
  const data = makeCorpus();
  const out = tempDir('nab-out-');
  /** Scores the result CSVs the first test wrote. */
  const scoreResults = (...more: string[]) =>
    run('evaluate', 'nab', '--data', data, '--results', join(out, 'results', 'aestream'), ...more);

  it('runs the z-score streaming detector, writes NAB result CSVs, plots and a report, and prints the three profiles', async () => {
    const r = await run('evaluate', 'nab', '--data', data, '--out', out, '--model', 'zscore');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('3 files, 2 windows');
    const [standard, lowFp, lowFn] = profileScores(r.out);
    // Two obvious spikes and no other disturbance: both windows found without false alarms.
    expect(standard).toBeGreaterThan(90);
    expect(lowFp).toBeGreaterThan(90);
    expect(lowFn).toBeGreaterThan(90);
    expect(r.out).toMatch(/\| synthetic\/spike_a\.csv \| 1 \|/);

    const csv = readFileSync(
      join(out, 'results', 'aestream', 'synthetic', 'aestream_spike_a.csv'),
      'utf8',
    )
      .trim()
      .split('\n');
    expect(csv[0]).toBe('timestamp,value,anomaly_score,label');
    expect(csv).toHaveLength(601);
    expect(csv.filter((l) => l.endsWith(',1'))).toHaveLength(21);
    for (const line of csv.slice(1)) {
      const s = Number(line.split(',')[2]);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    expect(readdirSync(join(out, 'plots')).sort()).toEqual([
      'quiet__flat.svg',
      'synthetic__spike_a.svg',
      'synthetic__spike_b.svg',
    ]);
    expect(readFileSync(join(out, 'plots', 'synthetic__spike_a.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(
      '](plots/synthetic__spike_b.svg)',
    );
  });

  it("runs a pipeline's detector (one model and source per file) and prints the three profiles", async () => {
    const pipeline = join(out, 'tiny.yaml');
    writeFileSync(
      pipeline,
      `
name: tiny
input: { kafka: { brokers: 'localhost:9092', topic: t, group: g }, schema: schemas/sensor-frame.avsc }
frame: { kind: sensor, features: 1, window: 8 }
model: { kind: dense-ae, hidden: [6, 3], store: ./unused, train: { epochs: 10, seed: 1 } }
rules: { likelihood: { history: 500 }, range: {} }
threshold: { kind: quantile, q: 0.99, calibration: 100 }
output: {}
`,
    );
    const r = await run('evaluate', 'nab', '--data', data, '--out', out, '-p', pipeline);
    expect(r.code).toBe(0);
    expect(r.err).toContain('pipeline tiny');
    expect(profileScores(r.out)).toHaveLength(3);
    expect(r.out).toMatch(
      /at the detector's own verdicts \(result threshold 0\.5\): standard -?\d/,
    );
    const csv = readFileSync(
      join(out, 'results', 'aestream', 'synthetic', 'aestream_spike_a.csv'),
      'utf8',
    )
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[2]));
    expect(csv).toHaveLength(600);
    expect(csv.every((s) => s >= 0 && s <= 1)).toBe(true);
    // The spike at row 400 breaks the range seen so far: the detector flags it (score >= 0.5).
    expect(csv[400]).toBeGreaterThanOrEqual(0.5);
    expect(existsSync(join(out, 'models', 'synthetic__spike_a', 'v000001', 'metadata.json'))).toBe(
      true,
    );
  }, 120_000);

  it('--train-seeds runs the pipeline once per training seed and prints each run with the mean and sd', async () => {
    const pipeline = join(out, 'tiny.yaml');
    const detect = (dir: string, ...more: string[]) =>
      run('evaluate', 'nab', '--data', data, '--out', join(out, dir), '-p', pipeline, ...more);
    const single = await detect('one', '--json');
    const swept = await detect('sweep', '--train-seeds', '1,2', '--json');
    expect(swept.code).toBe(0);
    const json = JSON.parse(swept.out) as {
      runs: Array<{ seed: number; normalized: Record<string, number>; report: string }>;
      mean: Record<string, number>;
      sd: Record<string, number>;
    };
    expect(json.runs.map((r) => r.seed)).toEqual([1, 2]);
    // The pipeline file trains with seed 1: that run is the plain run, figure for figure.
    expect(json.runs[0]!.normalized).toEqual(
      (JSON.parse(single.out) as { normalized: Record<string, number> }).normalized,
    );
    const [a, b] = json.runs.map((r) => r.normalized.standard!);
    expect(json.mean.standard).toBeCloseTo((a! + b!) / 2, 9);
    expect(json.sd.standard).toBeCloseTo(Math.abs(a! - b!) / Math.SQRT2, 9);
    for (const seed of [1, 2])
      expect(existsSync(join(out, 'sweep', `seed-${seed}`, 'report.md'))).toBe(true);

    const table = await detect('sweep', '--train-seeds', '1');
    expect(table.out).toMatch(/\| training seed \| standard \|/);
    expect(table.out).toMatch(/\| \*\*mean\*\* \| \*\*-?\d+\.\d\d\*\* \|/);

    const zscore = ['--model', 'zscore', '--train-seeds', '1,2'];
    const bad = await run('evaluate', 'nab', '--data', data, ...zscore);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('AE_ERR_CLI_USAGE');
    const badList = await run('evaluate', 'nab', '--data', data, '--train-seeds', '1,,x');
    expect(badList.code).toBe(1);
    expect(badList.err).toMatch(/AE_ERR_CLI_USAGE.*--train-seeds/);
  }, 240_000);

  it('scores result CSVs with --results to the same numbers', async () => {
    const first = await run('evaluate', 'nab', '--data', data, '--out', out, '--model', 'zscore');
    const again = await scoreResults();
    expect(again.code).toBe(0);
    expect(profileScores(again.out)).toEqual(profileScores(first.out));
  });

  it('--json prints the same scores as one JSON object on stdout', async () => {
    const table = await scoreResults();
    const r = await scoreResults('--json');
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    const json = JSON.parse(r.out) as {
      detector: string;
      files: number;
      normalized: Record<string, number>;
      profiles: Array<{ profile: string; files: Array<{ name: string }> }>;
    };
    expect(json.detector).toBe('aestream');
    expect(json.files).toBe(3);
    const [standard, lowFp, lowFn] = profileScores(table.out);
    // the table rounds to two decimals
    const near = (value: number, shown: number) =>
      expect(Math.abs(value - shown)).toBeLessThanOrEqual(0.005 + 1e-9);
    near(json.normalized.standard!, standard!);
    near(json.normalized.reward_low_FP_rate!, lowFp!);
    near(json.normalized.reward_low_FN_rate!, lowFn!);
    expect(json.profiles[0]!.files.map((f) => f.name)).toContain('synthetic/spike_a.csv');
  });

  it('scores at a fixed threshold: flagging nothing scores 0', async () => {
    const r = await scoreResults('--threshold', '1.5');
    expect(profileScores(r.out)).toEqual([0, 0, 0]);
  });

  it('refuses a folder without NAB layout, bad thresholds and result files that do not match', async () => {
    const empty = tempDir('nab-empty-');
    const r1 = await run('evaluate', 'nab', '--data', empty);
    expect(r1.code).toBe(1);
    expect(r1.err).toContain('AE_ERR_NAB_FORMAT');

    const r2 = await run('evaluate', 'nab', '--data', data, '--threshold', 'standard=x');
    expect(r2.code).toBe(1);
    expect(r2.err).toContain('AE_ERR_CLI_USAGE');

    const bad = tempDir('nab-bad-');
    mkdirSync(join(bad, 'quiet'));
    writeFileSync(
      join(bad, 'quiet', 'x_flat.csv'),
      'timestamp,value,anomaly_score,label\n2020-01-01 00:00:00,1,0.5,0\n',
    );
    const r3 = await run('evaluate', 'nab', '--data', data, '--results', bad, '--detector', 'x');
    expect(r3.code).toBe(1);
    expect(r3.err).toMatch(/AE_ERR_NAB_FORMAT.*1 rows, but quiet\/flat.csv has 600/);
    expect(existsSync(join(bad, 'report.md'))).toBe(false);
  });
});
