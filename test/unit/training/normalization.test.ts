import { seededRandom } from '../../../src/core/seeded-random';
import { denormalize, fitRobust, fitScaling, normalize } from '../../../src/training/normalization';

/** Two features per row: a normal reading, and a flow that sits at one value but for steps. */
function sensorRows(rows: number, seed = 7): Float32Array {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const data = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    data[r * 2] = 10 + 2 * gauss();
    // 85 % of the time at 3.0 (jitter of a thousandth), otherwise stepped up by about 1.
    const stepped = random() < 0.15;
    data[r * 2 + 1] = 3 + (stepped ? 1 + 0.1 * gauss() : 0.001 * gauss());
  }
  return data;
}

function normalizedStd(x: Float32Array, features: number, d: number): number {
  const n = x.length / features;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) sum += x[i * features + d] as number;
  const mean = sum / n;
  for (let i = 0; i < n; i++) sq += ((x[i * features + d] as number) - mean) ** 2;
  return Math.sqrt(sq / n);
}

describe('robust scaling of a stepped channel', () => {
  it('keeps the stepped channel within a small factor of a normal one', () => {
    const raw = sensorRows(2000);
    const norm = fitRobust(raw, 2);
    const x = normalize(norm, raw);
    const normal = normalizedStd(x, 2, 0);
    const stepped = normalizedStd(x, 2, 1);
    // Scaled by its IQR alone (about 0.003) the flow spread hundreds of times wider.
    expect(normal).toBeCloseTo(0.74, 1);
    expect(stepped).toBeLessThan(3 * normal);
    expect(stepped).toBeGreaterThan(0.2 * normal);
  });

  it('lists the floored channel and leaves the normal one at its IQR', () => {
    const norm = fitScaling('robust', sensorRows(2000), 2);
    if (norm.kind === 'range') throw new Error('expected per-feature scaling');
    expect(norm.floored).toEqual([1]);
    expect(norm.scale[0]).toBeCloseTo(2 * 1.349, 0);
  });

  it('ignores a few glitches in the training data (the floors use the central 99 %)', () => {
    const raw = sensorRows(2000);
    const glitched = raw.slice();
    glitched[100] = 1e4;
    glitched[102] = -1e4;
    glitched[205] = 1e3;
    const clean = fitScaling('robust', raw, 2);
    const dirty = fitScaling('robust', glitched, 2);
    if (clean.kind === 'range' || dirty.kind === 'range') throw new Error('per-feature scaling');
    expect(dirty.floored).toEqual([1]);
    for (let d = 0; d < 2; d++) {
      expect(dirty.scale[d]! / clean.scale[d]!).toBeGreaterThan(0.9);
      expect(dirty.scale[d]! / clean.scale[d]!).toBeLessThan(1.1);
    }
  });

  it('floors a channel flat but for rare spikes at a share of its full range', () => {
    const raw = new Float32Array(1000).fill(2);
    raw[500] = 4;
    const norm = fitScaling('robust', raw, 1);
    if (norm.kind === 'range') throw new Error('per-feature scaling');
    expect(norm.scale[0]).toBeGreaterThan(0);
    expect(normalize(norm, [4])[0]).toBeLessThanOrEqual(20 + 1e-6);
  });
});

describe('standard and minmax scaling', () => {
  const raw = new Float32Array([1, 5, 3, 5, 5, 5]);

  it('standard: mean and std per feature; a constant feature has scale 0', () => {
    expect(fitScaling('standard', raw, 2)).toEqual({
      kind: 'standard',
      center: [3, 5],
      scale: [Math.sqrt(8 / 3), 0],
    });
  });

  it('minmax: training values into [0, 1]; a constant feature is passed as 0', () => {
    const norm = fitScaling('minmax', raw, 2);
    expect(norm).toEqual({ kind: 'minmax', center: [1, 5], scale: [4, 0] });
    expect(Array.from(normalize(norm, [1, 5, 5, 9]))).toEqual([0, 0, 1, 0]);
  });

  it('denormalize inverts normalize on the non-constant features', () => {
    for (const kind of ['robust', 'standard', 'minmax'] as const) {
      const norm = fitScaling(kind, sensorRows(300), 2);
      const back = denormalize(norm, normalize(norm, [11, 3.5]));
      expect(back[0]).toBeCloseTo(11, 4);
      expect(back[1]).toBeCloseTo(3.5, 4);
    }
  });
});

describe('normalize of image bytes', () => {
  it('scales image bytes the same as the same intensities as floats', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const norm = { kind: 'range' as const, min: 3, max: 250 };
    const fromBytes = normalize(norm, bytes);
    expect(fromBytes).toEqual(normalize(norm, new Float32Array(bytes)));
    expect(fromBytes[255]).toBeCloseTo((255 - 3) / 247, 6);
  });
});
