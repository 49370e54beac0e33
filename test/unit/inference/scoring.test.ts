import {
  fitRange,
  fitRobust,
  normalize,
  type Normalization,
} from '../../../src/training/normalization';
import { modelLayoutOf, scoreBatch } from '../../../src/inference/scoring';
import { modelSchema } from '../../../src/training/model-config';
import type { Architecture } from '../../../src/training/architecture';
import { auroc } from '../../../src/eval/auroc';

describe('scoreBatch', () => {
  // 2 frames of a window of 2 readings x 3 features.
  const x = new Float32Array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  const y = new Float32Array([0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 3, 1]);
  const layout = { kind: 'feature', features: 3 } as const;
  // Feature 1's residuals spread twice as wide as the others'.
  const standards = {
    mean: [0, 0, 0],
    std: [1, 2, 1],
    precision: [1, 0, 0, 0, 0.25, 0, 0, 0, 1],
    count: 10,
  };

  it('scores each frame by its mean squared error and ranks features', () => {
    const { scores, top } = scoreBatch(x, y, 2, layout, 'mse', 2);
    expect(scores[0]).toBeCloseTo(0);
    expect(scores[1]).toBeCloseTo((1 + 4) / 6);
    // feature 1 errs by 1 in reading 0 and by 2 in reading 1: mean squared (1 + 4) / 2
    expect(top[1]).toEqual([
      { index: 1, error: 2.5 },
      { index: 0, error: 0 },
    ]);
  });

  it("gives each window's newest reading's score beside the window's, plain and standardized", () => {
    // frame 1's newest reading errs by 0, 2 and 0.
    const plain = scoreBatch(x, y, 2, layout, 'mse', 1);
    expect(plain.newest![0]).toBe(0);
    expect(plain.newest![1]).toBeCloseTo(4 / 3);
    expect(scoreBatch(x, y, 2, layout, 'mae', 1).newest![1]).toBeCloseTo(2 / 3);
    const std = scoreBatch(x, y, 2, layout, 'mse', 1, { kind: 'standardized', standards });
    expect(std.newest![1]).toBeCloseTo((2 / 2) ** 2 / 3);
    // Images have no newest reading.
    const image = { kind: 'region', height: 2, width: 3, channels: 1, region: 2 } as const;
    expect(scoreBatch(x, y, 2, image, 'mse', 1).newest).toBeUndefined();
  });

  it('scores only the newest readings of a window with lastSteps, plain and standardized', () => {
    // frame 1: reading 0 errs on feature 1 by 1, reading 1 (the newest) by 2.
    const newest = { ...layout, lastSteps: 1 };
    const { scores, top } = scoreBatch(x, y, 2, newest, 'mse', 1);
    expect(scores[1]).toBeCloseTo(4 / 3);
    expect(top[1]).toEqual([{ index: 1, error: 4 }]);
    const std = scoreBatch(x, y, 2, newest, 'mse', 1, { kind: 'standardized', standards });
    expect(std.scores[1]).toBeCloseTo((2 / 2) ** 2 / 3);
    // a lastSteps beyond the window scores the whole window
    const all = scoreBatch(x, y, 2, { ...layout, lastSteps: 9 }, 'mse', 0);
    expect(all.scores[1]).toBeCloseTo((1 + 4) / 6);
  });

  it('uses the mean absolute error when asked', () => {
    const { scores } = scoreBatch(x, y, 2, layout, 'mae', 0);
    expect(scores[1]).toBeCloseTo((1 + 2) / 6);
  });

  it('reports image errors per region', () => {
    // one 4x4 grey frame, regions of 2x2: the bottom-right region holds the error.
    const img = new Float32Array(16);
    const rec = new Float32Array(16);
    rec[15] = 0.5;
    rec[10] = 0.5;
    const { top } = scoreBatch(
      img,
      rec,
      1,
      { kind: 'region', height: 4, width: 4, channels: 1, region: 2 },
      'mse',
      1,
    );
    expect(top[0]).toEqual([{ index: 3, error: (0.25 + 0.25) / 4 }]);
  });

  describe('with a blurred image error (model.blur)', () => {
    const region = (blur: number) =>
      ({ kind: 'region', height: 4, width: 4, channels: 1, region: 2, blur }) as const;
    /** The difference's 3x3 box mean at each pixel, the box cut at the borders, by hand. */
    function boxMeans(d: number[]): number[] {
      return d.map((_, i) => {
        const [r, c] = [Math.floor(i / 4), i % 4];
        const box: number[] = [];
        for (let rr = r - 1; rr <= r + 1; rr++)
          for (let cc = c - 1; cc <= c + 1; cc++)
            if (rr >= 0 && rr < 4 && cc >= 0 && cc < 4) box.push(d[rr * 4 + cc]!);
        return box.reduce((a, b) => a + b, 0) / box.length;
      });
    }

    it('squares the 3x3 box mean of the difference, for the score and the region contributions', () => {
      const img = new Float32Array(32);
      const rec = new Float32Array(32);
      // Frame 0: one pixel off in a corner; frame 1: a column of four.
      rec[0] = 0.8;
      for (const r of [0, 1, 2, 3]) rec[16 + r * 4 + 2] = 0.4;
      const { scores, top } = scoreBatch(img, rec, 2, region(1), 'mse', 4);
      for (const f of [0, 1]) {
        const b = boxMeans(Array.from(rec.subarray(f * 16, f * 16 + 16), (v) => -v));
        const sq = b.map((v) => v * v);
        expect(scores[f]).toBeCloseTo(sq.reduce((a, v) => a + v, 0) / 16, 6);
        // Region 0 is the top-left 2x2: pixels 0, 1, 4, 5.
        const region0 = top[f]!.find((t) => t.index === 0)!;
        expect(region0.error).toBeCloseTo((sq[0]! + sq[1]! + sq[4]! + sq[5]!) / 4, 6);
      }
      // blur 0 is the plain per-pixel error.
      expect(scoreBatch(img, rec, 2, region(0), 'mse', 0).scores).toEqual(
        scoreBatch(img, rec, 2, { ...region(0), blur: undefined }, 'mse', 0).scores,
      );
    });

    it('forgives an edge a pixel off more than it forgives a missing stroke', () => {
      // A vertical bar in column 1; rebuilt one column to the right, or with its lower half missing.
      const bar = new Float32Array(16);
      const shifted = new Float32Array(16);
      const halved = new Float32Array(16);
      for (const r of [0, 1, 2, 3]) {
        bar[r * 4 + 1] = 1;
        shifted[r * 4 + 2] = 1;
        if (r < 2) halved[r * 4 + 1] = 1;
      }
      const ratio = (blur: number) =>
        scoreBatch(bar, shifted, 1, region(blur), 'mse', 0).scores[0]! /
        scoreBatch(bar, halved, 1, region(blur), 'mse', 0).scores[0]!;
      // Per pixel, the shifted bar (8 pixels off) errs 4 times as much as the halved one
      // (2 pixels); blurred, the shift's differences of both signs partly cancel.
      expect(ratio(0)).toBeCloseTo(4, 6);
      expect(ratio(1)).toBeLessThan(3);
    });
  });
});

describe('modelLayoutOf', () => {
  it("scores with the pipeline's image regions and blur, and sensor scoreLast", () => {
    const image: Architecture = {
      kind: 'conv-ae',
      height: 28,
      width: 28,
      channels: 1,
      filters: [8],
      latent: 4,
      kernel: 3,
    };
    const conv = modelSchema.parse({ kind: 'conv-ae', store: 'm', region: 4 });
    expect(modelLayoutOf(image, conv)).toEqual({
      kind: 'region',
      height: 28,
      width: 28,
      channels: 1,
      region: 4,
    });
    const blurred = modelSchema.parse({ kind: 'conv-ae', store: 'm', blur: 1 });
    expect(modelLayoutOf(image, blurred)).toMatchObject({ region: 7, blur: 1 });
    const sensor: Architecture = { kind: 'dense-ae', window: 8, features: 2, hidden: [4] };
    const dense = modelSchema.parse({ kind: 'dense-ae', store: 'm', scoreLast: 2 });
    expect(modelLayoutOf(sensor, dense)).toEqual({ kind: 'feature', features: 2, lastSteps: 2 });
  });
});

describe('normalization', () => {
  it('fits median / IQR per feature', () => {
    const data = new Float32Array([1, 100, 2, 200, 3, 300, 4, 400, 5, 500]);
    const norm = fitRobust(data, 2);
    expect(norm).toEqual({ kind: 'robust', center: [3, 300], scale: [2, 200] });
    expect(Array.from(normalize(norm, [3, 500]))).toEqual([0, 1]);
  });

  it('scales images to [0, 1]', () => {
    const norm = fitRange(new Uint8Array([0, 128, 255]));
    expect(Array.from(normalize(norm, new Uint8Array([0, 255])))).toEqual([0, 1]);
  });

  it("scales the detector's Float32Array windows exactly as the same readings in an array", () => {
    // 3 readings x 3 features; feature 2 constant in training (scale 0, passed as 0).
    const norm: Normalization = { kind: 'robust', center: [1, -2, 5], scale: [0.5, 4, 0] };
    const readings = [2, 2, 5, 0.5, -6, 9, 1, -2, 5];
    const expected = [2, 1, 0, -1, -1, 0, 0, 0, 0];
    expect(Array.from(normalize(norm, readings))).toEqual(expected);
    const out = new Float32Array(9);
    expect(normalize(norm, new Float32Array(readings), out)).toBe(out);
    expect(Array.from(out)).toEqual(expected);
  });

  it('never divides by zero on a constant feature: it is passed as 0', () => {
    const norm = fitRobust(new Float32Array([5, 5, 5, 5]), 1);
    expect(norm).toEqual({ kind: 'robust', center: [5], scale: [0] });
    expect(Array.from(normalize(norm, [5, 7]))).toEqual([0, 0]);
  });
});

describe('auroc', () => {
  it('is 1 for perfect separation, 0.5 for ties, and matches a hand count', () => {
    expect(auroc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(auroc([0.5, 0.5, 0.5, 0.5], [false, true, false, true])).toBe(0.5);
    // pairs (pos, neg): (0.35 > 0.1), (0.35 < 0.4), (0.8 > both): 3 of 4
    expect(auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75);
  });
});
