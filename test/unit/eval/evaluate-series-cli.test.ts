/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runMain as runCli } from '../../helpers/cli-process';
import { writeSeriesFolder } from '../../helpers/series-folder';

const ROWS = 600;
const CHANNELS = 3;

/** Three smooth periodic channels; test rows spike on every channel in [spikeFrom, spikeTo). */
function rows(offset: number, spike?: [number, number]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    const t = offset + i;
    const hit = spike && i >= spike[0] && i < spike[1] ? 4 : 0;
    const cells = Array.from({ length: CHANNELS }, (_, c) =>
      (0.5 + 0.3 * Math.sin((2 * Math.PI * t) / (24 + 6 * c)) + hit).toFixed(4),
    );
    out.push(cells.join(','));
  }
  return out;
}

/** An SMD-like folder (gzipped, no header) with two machines, each spiking once. */
function makeData(): string {
  const spikes: Record<string, [number, number]> = { 'm-1.txt': [300, 310], 'm-2.txt': [590, 600] };
  const machines = Object.fromEntries(
    Object.entries(spikes).map(([name, spike]) => [
      name,
      {
        train: rows(0),
        test: rows(ROWS, spike),
        labels: Array.from({ length: ROWS }, (_, i) => (i >= spike[0] && i < spike[1] ? 1 : 0)),
      },
    ]),
  );
  return writeSeriesFolder(mkdtempSync(join(tmpdir(), 'series-data-')), machines);
}

const PIPELINE = `
name: tiny
input: { kafka: { brokers: 'localhost:9092', topic: tiny.frames, group: tiny }, schema: schemas/sensor-frame.avsc }
frame: { kind: sensor, features: 1, window: 8, stride: 1 }
model:
  kind: dense-ae
  hidden: [8, 3]
  store: ./unused
  engine: auto
  train: { epochs: 15, seed: 1 }
threshold: { kind: quantile, q: 0.999, calibration: 200, perKey: true }
output: {}
`;

describe('aestream evaluate series', () => {
  const data = makeData();
  const work = mkdtempSync(join(tmpdir(), 'series-out-'));
  const pipeline = join(work, 'tiny.yaml');
  writeFileSync(pipeline, PIPELINE);
  const evaluate = (dir: string, file: string, out: string, ...more: string[]) =>
    runCli('evaluate', 'series', '--data', dir, '-p', file, '--out', out, ...more);
  afterAll(() => {
    rmSync(data, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('trains per file, streams train and test rows through the detector, and scores the verdicts', async () => {
    const out = join(work, 'run');
    const r = await evaluate(data, pipeline, out);
    expect(r.code).toBe(0);
    // The printed table: one row per file and the pooled row, with the inflated column marked.
    expect(r.out).toContain('PA F1 (for comparison with the literature; inflated)');
    expect(r.out).toMatch(/\| m-1\.txt \| 600 \| 10 \| 1\/1 \|/);
    expect(r.out).toMatch(/\| m-2\.txt \| 600 \| 10 \| 1\/1 \|/);
    expect(r.out).toMatch(/\| \*\*pooled \(2\)\*\* \| 1200 \| 20 \| 2\/2 \|/);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      pooled: Record<string, number>;
      files: Array<Record<string, number | string>>;
    };
    for (const k of [
      'pointF1',
      'pointPrecision',
      'pointRecall',
      'eventRecall',
      'compositeF1',
      'falseAlarmRate',
      'pointAdjustedF1',
    ]) {
      expect(typeof results.pooled[k]).toBe('number');
    }
    // A spike of 13 spreads on every channel is found in both files, the one at the last rows too.
    expect(results.pooled.eventRecall).toBe(1);
    expect(results.pooled.pointRecall).toBeGreaterThan(0.5);
    expect(results.pooled.falseAlarmRate).toBeLessThan(0.02);
    expect(results.files.map((f) => [f.name, f.trainRows, f.testRows, f.channels])).toEqual([
      ['m-1.txt', 600, 600, 3],
      ['m-2.txt', 600, 600, 3],
    ]);
    expect(readFileSync(join(out, 'plots', 'm-1.txt.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('](plots/m-2.txt.svg)');
    // The model of each file is stored as `aestream train` stores it, in a store of its own.
    expect(existsSync(join(out, 'models', 'm-1.txt', 'v000001', 'metadata.json'))).toBe(true);
  }, 300_000);

  it('with --files and --json, evaluates only those files and prints results.json', async () => {
    const out = join(work, 'json');
    const r = await evaluate(data, pipeline, out, '--files', 'm-2', '--json');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out) as {
      files: Array<{ name: string }>;
      pooled: { eventRecall: number };
    };
    expect(printed.files.map((f) => f.name)).toEqual(['m-2.txt']);
    expect(printed).toEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  }, 300_000);

  it('with --retrain, runs the retrainer beside the detector and the detector takes its releases', async () => {
    const retraining = join(work, 'retrain.yaml');
    writeFileSync(
      retraining,
      PIPELINE +
        'retrain: { trigger: { everyFrames: 400 }, reservoir: 300, minSamples: 100, epochs: 5 }\n',
    );
    const out = join(work, 'retrain');
    const r = await evaluate(data, retraining, out, '--files', 'm-1', '--retrain', '--json');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out) as {
      files: Array<{ modelVersion: string; eventRecall: number }>;
    };
    expect(printed.files[0]!.modelVersion).not.toBe('v000001');
    expect(printed.files[0]!.eventRecall).toBe(1);
  }, 300_000);

  /** A copy of the data folder with one file replaced (or removed, for undefined text). */
  function broken(path: string, text: string | undefined): string {
    const dir = makeData();
    const file = join(dir, path);
    rmSync(file);
    if (text !== undefined) writeFileSync(file, gzipSync(text));
    return dir;
  }

  it.each([
    [
      'a row with a wrong column count',
      'test/m-1.txt.gz',
      '1,2,3\n1,2\n',
      /test\/m-1\.txt\.gz:2: 2 columns, expected 3/,
    ],
    [
      'a value that is not a number',
      'test/m-2.txt.gz',
      '1,2,3\n1,2,3\n1,x,3\n',
      /test\/m-2\.txt\.gz:3:2: 'x' is not a number/,
    ],
    [
      'a missing label file',
      'test_label/m-1.txt.gz',
      undefined,
      /test_label\/m-1\.txt\.gz: missing label file/,
    ],
    [
      'train and test files with different channels',
      'train/m-2.txt.gz',
      '1,2\n1,2\n',
      /train\/m-2\.txt\.gz:1: 2 channels, but the test file .*m-2\.txt\.gz has 3/,
    ],
    [
      'a label that is not 0 or 1',
      'test_label/m-1.txt.gz',
      '0\n2\n',
      /test_label\/m-1\.txt\.gz:2:1: label '2' is not 0 or 1/,
    ],
  ])('fails with exit 1 naming file, line and column: %s', async (_what, path, text, message) => {
    const dir = broken(path, text);
    try {
      const r = await evaluate(dir, pipeline, join(work, 'bad'));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/AE_ERR_DATA_INVALID/);
      expect(r.err).toMatch(message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to give a layout when the folder has none', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'series-empty-'));
    const r = await runCli('evaluate', 'series', '--data', empty, '-p', pipeline);
    rmSync(empty, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no layout spec: pass --spec FILE/);
  });
});
