/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { runPipelineOnNab } from '../../../src/app/evaluate-nab';
import { loadPipeline } from '../../../src/config/load-pipeline';
import { seededRandom } from '../../../src/core/seeded-random';
import type { NabFile } from '../../../src/eval/nab-corpus';
import { probationaryLength } from '../../../src/eval/nab-scorer';
import { tempDir } from '../../helpers/temp-dir';

const ROWS = 1500;
const BURST = { from: 900, to: 930 };

const stamp = (i: number) =>
  new Date(Date.UTC(2020, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);

/**
 * A short cyclic series (period 40 rows, noise) that cycles twice as fast for 30 rows at
 * row 900: every reading stays inside the range seen so far, so only the model and the
 * likelihood can find it. Row 900 is long before 2,000 scores, the calibration a per-source SPOT
 * threshold waits for.
 */
function series(): NabFile {
  const random = seededRandom(7);
  const values = new Float64Array(ROWS);
  let phase = 0;
  for (let i = 0; i < ROWS; i++) {
    values[i] = 50 + 10 * Math.sin(phase) + (random() - 0.5) * 2;
    phase += (2 * Math.PI) / (i >= BURST.from && i < BURST.to ? 20 : 40);
  }
  return {
    name: 'synthetic/burst.csv',
    timestamps: Array.from({ length: ROWS }, (_, i) => stamp(i)),
    values,
    windows: [[BURST.from, BURST.to]],
  };
}

describe('pipelines/univariate.yaml on a short series', () => {
  it('flags a faster cycle at row 900 and stays quiet on the normal rows before it', async () => {
    const file = series();
    const before = Array.from(file.values.subarray(0, BURST.from));
    const [lo, hi] = [Math.min(...before), Math.max(...before)];
    const inRange = (v: number) => v >= lo && v <= hi;
    expect(Array.from(file.values.subarray(BURST.from, BURST.to)).every(inRange)).toBe(true);
    const output = await runPipelineOnNab([file], {
      pipeline: loadPipeline('pipelines/univariate.yaml'),
      out: tempDir('univariate-preset-'),
    });
    const scores = output.get(file.name)!;
    // A NAB result score of 0.5 or more is the detector's own anomaly verdict.
    const flagged = (from: number, to: number) =>
      Array.from(scores.subarray(from, to)).filter((s) => s >= 0.5).length;
    expect(flagged(BURST.from, BURST.to)).toBeGreaterThan(0);
    const normal = BURST.from - probationaryLength(ROWS);
    expect(flagged(probationaryLength(ROWS), BURST.from) / normal).toBeLessThan(0.01);
  }, 120_000);
});

/** A week of 5-minute readings of `value(row)`, with no anomaly. */
function normalWeek(name: string, value: (row: number) => number): NabFile {
  const rows = 7 * 288;
  return {
    name: `synthetic/${name}.csv`,
    timestamps: Array.from({ length: rows }, (_, i) => stamp(i)),
    values: Float64Array.from({ length: rows }, (_, i) => value(i)),
    windows: [],
  };
}

describe('pipelines/univariate.yaml on normal series', () => {
  it('raises no alarm on a daily rhythm, clean or noisy, or on a flat line; on noise only at a new extreme', async () => {
    const random = seededRandom(11);
    const noise = () => (random() + random() + random() - 1.5) * 2;
    // Low at night, high from 08:00 to 18:00, as NAB's art_daily series.
    const day = (i: number) => ((i % 288) / 12 >= 8 && (i % 288) / 12 < 18 ? 80 : 20);
    const files = [
      normalWeek('square', day),
      normalWeek('square-noisy', (i) => day(i) + noise()),
      normalWeek('flat', () => 42),
      normalWeek('noise', () => noise()),
    ];
    const output = await runPipelineOnNab(files, {
      pipeline: loadPipeline('pipelines/univariate.yaml'),
      out: tempDir('univariate-normal-'),
    });
    const alarms = (file: NabFile) => {
      const scores = output.get(file.name)!;
      // Past probation (NAB's), where the detector's verdicts count.
      const rows = [];
      for (let i = probationaryLength(scores.length); i < scores.length; i++)
        if (scores[i]! >= 0.5) rows.push(i);
      return rows;
    };
    for (const file of files.slice(0, 3))
      expect([file.name, alarms(file)]).toEqual([file.name, []]);
    // Noise reaches new extremes now and then, which the range rule flags (as numenta's
    // detector does); nothing else.
    const values = files[3]!.values;
    for (const i of alarms(files[3]!)) {
      const earlier = Array.from(values.subarray(0, i));
      const v = values[i]!;
      expect(v > Math.max(...earlier) || v < Math.min(...earlier)).toBe(true);
    }
  }, 120_000);
});
