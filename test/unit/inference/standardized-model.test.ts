import { seededRandom } from '../../../src/core/seeded-random';
import { sensorFrameSchema } from '../../../src/core/frame-config';
import { openModel } from '../../../src/inference/active-model';
import { trainAndStore } from '../../../src/registry/train-and-store';
import { denseAeSchema } from '../../../src/training/model-config';
import { tempDir } from '../../helpers/temp-dir';

const WINDOW = 16;

/** Two channels: 0 is white noise (no model can rebuild it), 1 a smooth sine (easy to rebuild). */
function readings(rows: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const out = new Float32Array(rows * 2);
  for (let t = 0; t < rows; t++) {
    out[t * 2] = gauss();
    out[t * 2 + 1] = Math.sin((2 * Math.PI * t) / 32);
  }
  return out;
}

function windows(rows: Float32Array): { raw: Float32Array; count: number } {
  const count = rows.length / 2 - WINDOW + 1;
  const raw = new Float32Array(count * WINDOW * 2);
  for (let i = 0; i < count; i++) raw.set(rows.subarray(i * 2, (i + WINDOW) * 2), i * WINDOW * 2);
  return { raw, count };
}

describe('a sensor model scores with its error standards', () => {
  it('flags a step on the quiet channel and names that channel, not the noisy one', async () => {
    const frame = sensorFrameSchema.parse({ kind: 'sensor', features: 2, window: WINDOW });
    const model = denseAeSchema.parse({
      kind: 'dense-ae',
      hidden: [16, 4],
      store: tempDir('aestream-standards-'),
      engine: 'tfjs',
      score: 'standardized',
      train: { epochs: 40, seed: 3, patience: 8 },
    });
    await trainAndStore(
      { name: 'standards', frame, model },
      { ...windows(readings(1500, 1)), source: 'synthetic' },
    );
    const active = await openModel(frame, model);
    try {
      const normal = windows(readings(600, 2));
      const base = await active.scorer.score(normal.raw, normal.count);
      const sorted = Array.from(base.scores).sort((a, b) => a - b);
      const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
      // The last 8 readings of the sine sit 1.0 higher: 0.7 of its IQR, a third of the noise's std.
      const stepped = normal.raw.slice(0, WINDOW * 2);
      for (let t = WINDOW - 8; t < WINDOW; t++) stepped[t * 2 + 1]! += 1;
      const { scores, top } = await active.scorer.score(stepped, 1);
      expect(top[0]![0]!.index).toBe(1);
      expect(scores[0]).toBeGreaterThan(p99);
    } finally {
      await active.dispose();
    }
  }, 120_000);
});
