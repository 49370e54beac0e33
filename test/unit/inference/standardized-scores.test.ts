import { seededRandom } from '../../../src/core/seeded-random';
import { scoreBatch } from '../../../src/inference/scoring';
import { fitErrorStandards } from '../../../src/training/error-standards';

const layout = { kind: 'feature', features: 2 } as const;

/** Residuals of `steps` time steps: channel 0 spreads with std 1, channel 1 with std 0.05. */
function heldBack(steps: number, seed = 3): { x: Float32Array; y: Float32Array } {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const x = new Float32Array(steps * 2);
  const y = new Float32Array(steps * 2);
  for (let t = 0; t < steps; t++) {
    y[t * 2] = 0.2; // a constant offset of channel 0's reconstruction: its mean residual
    x[t * 2] = 0.2 + 0.3 + gauss();
    x[t * 2 + 1] = 0.05 * gauss();
  }
  return { x, y };
}

describe('error standards', () => {
  const { x, y } = heldBack(20000);
  const standards = fitErrorStandards(x, y, 2);

  it('are the mean and std of each channel residual on held-back windows', () => {
    expect(standards.mean[0]).toBeCloseTo(0.3, 1);
    expect(standards.mean[1]).toBeCloseTo(0, 2);
    expect(standards.std[0]).toBeCloseTo(1, 1);
    expect(standards.std[1]).toBeCloseTo(0.05, 2);
    expect(standards.count).toBe(20000);
  });

  it('floor a channel the model reconstructs exactly at a tenth of the median channel', () => {
    const exact = heldBack(2000);
    for (let t = 0; t < 2000; t++) exact.x[t * 2 + 1] = exact.y[t * 2 + 1]!;
    const s = fitErrorStandards(exact.x, exact.y, 2);
    // a tenth of the median of the stds (1, 0), which is 0.5
    expect(s.std[1]! / s.std[0]!).toBeCloseTo(0.05, 2);
    expect(s.precision.every(Number.isFinite)).toBe(true);
  });

  it('score normal held-back windows about 1 with every standardized kind', () => {
    for (const kind of ['standardized', 'mahalanobis'] as const) {
      const { scores } = scoreBatch(x, y, 1000, layout, 'mse', 0, { kind, standards });
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      expect(mean).toBeCloseTo(1, 1);
    }
  });

  it('name the channel that is unlike its usual self, not the noisiest one', () => {
    // One window of 4 steps: channel 0 errs by its usual 1, channel 1 by 0.4 (8 of its stds).
    const wx = new Float32Array([1.5, 0.4, -0.5, 0.4, 1.5, 0.4, -0.5, 0.4]);
    const wy = new Float32Array([0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0]);
    const plain = scoreBatch(wx, wy, 1, layout, 'mse', 1);
    expect(plain.top[0]![0]!.index).toBe(0);
    for (const kind of ['standardized', 'mahalanobis', 'max-channel'] as const) {
      const { scores, top } = scoreBatch(wx, wy, 1, layout, 'mse', 2, { kind, standards });
      expect(top[0]![0]!.index).toBe(1);
      expect(top[0]![0]!.error).toBeGreaterThan(50);
      expect(scores[0]).toBeGreaterThan(20);
    }
  });

  it('max-channel scores the largest channel mean; standardized the mean of all values', () => {
    const wx = new Float32Array([0.3, 0.1, 0.3, 0.1]);
    const wy = new Float32Array([0, 0, 0, 0]);
    const s = { mean: [0.3, 0], std: [1, 0.05], precision: [1, 0, 0, 400], count: 1 };
    const max = scoreBatch(wx, wy, 1, layout, 'mse', 1, { kind: 'max-channel', standards: s });
    const std = scoreBatch(wx, wy, 1, layout, 'mse', 1, { kind: 'standardized', standards: s });
    const t2 = scoreBatch(wx, wy, 1, layout, 'mse', 1, { kind: 'mahalanobis', standards: s });
    expect(max.scores[0]).toBeCloseTo(4, 4); // (0.1 / 0.05)² on channel 1, 0 on channel 0
    expect(std.scores[0]).toBeCloseTo(2, 4); // (0 + 4 + 0 + 4) / 4 values
    expect(t2.scores[0]).toBeCloseTo(2, 4); // diagonal precision: the same as standardized
    const mae = scoreBatch(wx, wy, 1, layout, 'mae', 1, { kind: 'standardized', standards: s });
    expect(mae.scores[0]).toBeCloseTo(1, 4); // (0 + 2 + 0 + 2) / 4
  });

  it('are refused for region (image) layouts', () => {
    expect(() =>
      scoreBatch(
        new Float32Array(16),
        new Float32Array(16),
        1,
        {
          kind: 'region',
          height: 4,
          width: 4,
          channels: 1,
          region: 2,
        },
        'mse',
        1,
        { kind: 'standardized', standards },
      ),
    ).toThrow(/per-feature/);
  });
});
