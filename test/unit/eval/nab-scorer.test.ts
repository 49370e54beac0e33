import { nabScoreOf } from '../../../src/eval/nab-evaluation';
import { join } from 'node:path';
import { loadNabCorpus, readCsvRows, type NabFile } from '../../../src/eval/nab-corpus';
import { NAB_PROFILES, type NabProfile } from '../../../src/eval/nab-profiles';
import { nabResultPath, readNabResultScores } from '../../../src/eval/nab-results';
import {
  NO_DETECTIONS,
  optimizeNabThreshold,
  probationaryLength,
  rowValues,
  scaledSigmoid,
  scoreNabCorpus,
  scoreNabFile,
} from '../../../src/eval/nab-scorer';
import { haveNabDev, nabDevDir } from './nab-dataset';

describe('NAB scoring rules', () => {
  const standard = NAB_PROFILES[0]!;

  it('has the scaled sigmoid of the specification', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(scaledSigmoid(3.0001)).toBe(-1);
  });

  it('uses a probation of min(floor(0.15 n), 750) rows', () => {
    expect(probationaryLength(4032)).toBe(604);
    expect(probationaryLength(5000)).toBe(750);
    expect(probationaryLength(15833)).toBe(750);
  });

  it('values a window row by earliness and false positives by distance from the last window', () => {
    const v = rowValues(100, [[40, 49]], standard);
    expect(v[10]).toBeCloseTo(-0.11, 12); // before the first window
    expect(v[40]).toBeCloseTo(1, 12); // first row of the window is worth A_TP
    // last row: sigma(-1/W) / sigma(-1) with W = 10, i.e. 0.244919 / 0.986614
    expect(v[49]).toBeCloseTo(0.248242, 5);
    expect(v[50]).toBeLessThan(0);
    expect(v[50]).toBeGreaterThan(-0.11);
    expect(v[99]).toBeCloseTo(-0.11, 12); // y > 3
  });

  it('credits the earliest detection once per window and penalizes every false positive', () => {
    const scores = new Array<number>(100).fill(0);
    scores[42] = 1; // in the window
    scores[45] = 1; // same window: neither reward nor penalty
    scores[30] = 1; // false positive before the window
    scores[5] = 1; // probationary: ignored
    const r = scoreNabFile(scores, [[40, 49]], 0.5, standard);
    const v = rowValues(100, [[40, 49]], standard);
    expect(r.score).toBeCloseTo(v[42]! - 0.11, 12);
    expect(r).toMatchObject({ tp: 2, fp: 1, fn: 8, tn: 100 - 15 - 10 - 1 });
  });

  it('optimizes to "no detections" when every detection costs', () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i === 20 ? 0.9 : 0.1));
    const choice = optimizeNabThreshold([{ name: 'f', scores, windows: [[60, 69]] }], standard);
    expect(choice.threshold).toBe(NO_DETECTIONS);
    expect(choice.raw).toBe(-1);
  });
});

type Published = {
  file: string;
  threshold: number;
  score: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
};

function published(detector: string, profile: NabProfile): Published[] {
  const rows = readCsvRows(
    join(nabDevDir, 'results', detector, `${detector}_${profile.name}_scores.csv`),
  );
  return rows.slice(1).map((r) => ({
    file: r[2]!,
    threshold: Number(r[3]),
    score: Number(r[4]),
    tp: Number(r[5]),
    tn: Number(r[6]),
    fp: Number(r[7]),
    fn: Number(r[8]),
  }));
}

(haveNabDev ? describe : describe.skip)('NAB scorer on the nab-dev subset (read in place)', () => {
  let corpus: NabFile[];
  let numenta: Map<string, Float64Array>;

  beforeAll(() => {
    corpus = loadNabCorpus(nabDevDir);
    numenta = new Map(
      corpus.map((f) => [
        f.name,
        readNabResultScores(
          nabResultPath(join(nabDevDir, 'results', 'numenta'), 'numenta', f.name),
          f,
        ),
      ]),
    );
  });

  it('finds the 39 files and 83 windows', () => {
    expect(corpus).toHaveLength(39);
    expect(corpus.reduce((s, f) => s + f.windows.length, 0)).toBe(83);
  });

  it.each(NAB_PROFILES.map((p) => [p.name, p] as const))(
    'reproduces numenta published per-file Score, TP, FP (%s) within 1e-6',
    (_name, profile) => {
      const rows = published('numenta', profile);
      expect(rows).toHaveLength(39);
      for (const row of rows) {
        const file = corpus.find((f) => f.name === row.file)!;
        const got = scoreNabFile(numenta.get(row.file)!, file.windows, row.threshold, profile);
        expect({ file: row.file, score: got.score }).toEqual({
          file: row.file,
          score: expect.closeTo(row.score, 6),
        });
        expect(Math.abs(got.score - row.score)).toBeLessThanOrEqual(1e-6);
        expect([got.tp, got.fp, got.tn, got.fn]).toEqual([row.tp, row.fp, row.tn, row.fn]);
      }
    },
  );

  it.each(NAB_PROFILES.map((p) => [p.name, p] as const))(
    'reproduces the null detector (constant 0.5) per file and its normalized 0.0 (%s)',
    (_name, profile) => {
      const inputs = corpus.map((f) => ({
        name: f.name,
        scores: new Float64Array(f.values.length).fill(0.5),
        windows: f.windows,
      }));
      const rows = published('null', profile);
      const result = scoreNabCorpus(inputs, profile, rows[0]!.threshold);
      for (const row of rows) {
        const got = result.files.find((f) => f.name === row.file)!;
        expect(Math.abs(got.score - row.score)).toBeLessThanOrEqual(1e-6);
        expect([got.tp, got.fp]).toEqual([row.tp, row.fp]);
      }
      expect(result.normalized).toBeCloseTo(0, 9);
      expect(scoreNabCorpus(inputs, profile).normalized).toBeCloseTo(0, 9);
    },
  );

  it('gives the README checkpoints for numenta, at the published and at re-optimized thresholds', () => {
    const inputs = corpus.map((f) => ({
      name: f.name,
      scores: numenta.get(f.name)!,
      windows: f.windows,
    }));
    const expected: Record<string, [number, number, number]> = {
      // profile: [raw at published threshold, normalized, normalized re-optimized]
      standard: [35.8925, 71.62, 71.62],
      reward_low_FP_rate: [23.9442, 64.42, 65.5],
      reward_low_FN_rate: [21.8925, 75.46, 75.46],
    };
    for (const profile of NAB_PROFILES) {
      const atPublished = scoreNabCorpus(
        inputs,
        profile,
        published('numenta', profile)[0]!.threshold,
      );
      const [raw, norm, reopt] = expected[profile.name]!;
      expect(Math.abs(atPublished.raw - raw)).toBeLessThan(5e-5);
      expect(Math.abs(atPublished.normalized - norm)).toBeLessThan(0.005);
      expect(Math.abs(scoreNabCorpus(inputs, profile).normalized - reopt)).toBeLessThan(0.005);
    }
  });
});

describe('nabScoreOf: the detector output as a NAB result score', () => {
  it('puts the threshold at 0.5, keeps the order of score / threshold, and stays in [0, 1]', () => {
    expect(nabScoreOf('normal', 0.5, 1)).toBeCloseTo(0.25, 12);
    expect(nabScoreOf('anomaly', 1, 1)).toBeCloseTo(0.5, 12);
    expect(nabScoreOf('anomaly', 3, 1.5)).toBeCloseTo(0.75, 12);
    const ratios = [0, 0.2, 0.9, 0.999, 1, 1.5, 10, 1e9];
    const mapped = ratios.map((r) => nabScoreOf(r < 1 ? 'normal' : 'anomaly', r, 1));
    for (let i = 1; i < mapped.length; i++) expect(mapped[i]!).toBeGreaterThan(mapped[i - 1]!);
    expect(mapped.every((s) => s >= 0 && s <= 1)).toBe(true);
    expect(mapped.filter((s) => s >= 0.5)).toHaveLength(4);
  });

  it('scores no verdict 0 and an anomaly without a threshold (a rule) 1', () => {
    expect(nabScoreOf('warming-up', 5, null)).toBe(0);
    expect(nabScoreOf('normal', 5, null)).toBe(0);
    expect(nabScoreOf('anomaly', Number.MAX_VALUE, null)).toBe(1);
  });
});
