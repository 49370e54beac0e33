/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../../src/core/seeded-random';
import type { ImagesEvalReport } from '../../../src/eval/images-eval';
import { writeIdxFolder, type IdxSplit } from '../../helpers/idx-folder';
import { runMain as runCli } from '../../helpers/cli-process';

const SIDE = 12;

/**
 * A 12x12 grey image of class 0 (a horizontal bar), 1 (a vertical bar) or 2 (a hollow
 * square), at a random place and length, on a faintly noisy background.
 */
function shape(cls: number, rand: () => number): Uint8Array {
  const img = new Uint8Array(SIDE * SIDE);
  for (let i = 0; i < img.length; i++) img[i] = Math.floor(rand() * 30);
  const ink = (r: number, c: number) => (img[r * SIDE + c] = 200 + Math.floor(rand() * 55));
  const at = 2 + Math.floor(rand() * 7); // row or column 2..8
  const from = 1 + Math.floor(rand() * 3);
  const to = SIDE - 1 - Math.floor(rand() * 3);
  if (cls === 2) {
    const top = 1 + Math.floor(rand() * 4);
    const left = 1 + Math.floor(rand() * 4);
    const size = 5 + Math.floor(rand() * 3);
    for (let k = 0; k < size; k++) {
      ink(top, left + k);
      ink(top + size - 1, left + k);
      ink(top + k, left);
      ink(top + k, left + size - 1);
    }
    return img;
  }
  for (let k = from; k < to; k++) {
    for (const w of [at, at + 1]) {
      if (cls === 0) ink(w, k);
      else ink(k, w);
    }
  }
  return img;
}

function split(perClass: number, seed: number): IdxSplit {
  const rand = seededRandom(seed);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  // Interleaved, as a shuffled dataset is: every class through the whole stream.
  for (let i = 0; i < perClass; i++) {
    for (const cls of [0, 1, 2]) {
      images.push(shape(cls, rand));
      labels.push(cls);
    }
  }
  return { side: SIDE, images, labels };
}

const PIPELINE = `
name: tiny-images
input: { kafka: { brokers: 'localhost:9092', topic: tiny.images, group: tiny }, schema: schemas/image-frame.avsc }
frame: { kind: image, width: ${SIDE}, height: ${SIDE}, channels: 1 }
model:
  kind: conv-ae
  filters: [4, 8]
  latent: 4
  region: 4
  store: ./unused
  train: { epochs: 60, batchSize: 32, learningRate: 0.005, seed: 7 }
threshold: { kind: quantile, q: 0.99, calibration: 100, perKey: false }
output: {}
`;

describe('aestream evaluate images', () => {
  const work = mkdtempSync(join(tmpdir(), 'images-eval-'));
  const data = writeIdxFolder(join(work, 'shapes'), { train: split(240, 1), t10k: split(100, 2) });
  const pipeline = join(work, 'tiny.yaml');
  writeFileSync(pipeline, PIPELINE);
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const evaluate = (file: string, out: string, ...more: string[]) =>
    runCli('evaluate', 'images', '-p', file, '--data', data, '--out', join(work, out), ...more);

  it("trains the pipeline's model per class, streams the test set through the detector and reports AUROC and flagged shares", async () => {
    const out = join(work, 'run');
    const r = await evaluate(pipeline, 'run');
    expect(r.code).toBe(0);
    // The printed table: one row per class and the mean.
    expect(r.out).toMatch(/^\| 0 \| 240 \| /m);
    expect(r.out).toMatch(/^\| 1 \| 240 \| /m);
    expect(r.out).toMatch(/^\| 2 \| 240 \| /m);
    expect(r.out).toMatch(/^\| \*\*mean \(3\)\*\* \|/m);

    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ImagesEvalReport;
    expect(
      report.classes.map((c) => [c.cls, c.trainImages, c.testNormal, c.testAnomalous]),
    ).toEqual([
      [0, 240, 100, 200],
      [1, 240, 100, 200],
      [2, 240, 100, 200],
    ]);
    // Every test image went through the detector and got a score.
    for (const c of report.classes) expect(c.unscored).toBe(0);
    // A model of bars cannot rebuild a bar turned the other way or a square: the other
    // shapes score above its own class, and its threshold flags them far more often.
    for (const c of report.classes.slice(0, 2)) {
      expect(c.auroc).toBeGreaterThan(0.95);
      expect(c.flaggedAnomalous).toBeGreaterThan(c.flaggedNormal + 0.5);
    }
    // A model of squares rebuilds part of a bar (a square's side is one): still well apart.
    expect(report.classes[2]!.auroc).toBeGreaterThan(0.8);
    expect(report.meanAuroc).toBeCloseTo(report.classes.reduce((a, c) => a + c.auroc, 0) / 3, 10);
    expect(report.model).toMatchObject({ kind: 'conv-ae', filters: [4, 8], latent: 4 });
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('| **mean (3)** |');
    // Each class's model is stored as `aestream train` stores it, in a store of its own.
    for (const cls of [0, 1, 2]) {
      expect(existsSync(join(out, 'models', `class-${cls}`, 'v000001', 'metadata.json'))).toBe(
        true,
      );
    }
  }, 120_000);

  it('with --classes, --max-train and --json, evaluates only those classes on that budget and prints results.json', async () => {
    const out = join(work, 'json');
    const r = await evaluate(pipeline, 'json', '--classes', '1', '--max-train', '120', '--json');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out) as ImagesEvalReport;
    expect(printed.classes.map((c) => [c.cls, c.trainImages])).toEqual([[1, 120]]);
    expect(printed).toEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  }, 120_000);

  it('refuses a class the data does not have, and a sensor pipeline', async () => {
    const r = await evaluate(pipeline, 'refused', '--classes', '7');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('--classes: 7 not among the training labels 0, 1, 2');
    const sensors = await evaluate('pipelines/univariate.yaml', 'refused');
    expect(sensors.code).not.toBe(0);
    expect(sensors.err).toContain('evaluate images needs an image pipeline');
  });
});
