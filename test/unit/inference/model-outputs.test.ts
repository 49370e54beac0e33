/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from '../../../src/training/architecture';
import { Autoencoder } from '../../../src/training/autoencoder';
import { initBackend } from '../../../src/training/backend';
import { createOnnxEngine } from '../../../src/inference/onnx-engine';
import { exportOnnx } from '../../../src/training/onnx-export';
import { createTfjsEngine } from '../../../src/inference/tfjs-engine';
import { denormalize, normalize, type Normalization } from '../../../src/training/normalization';
import { createScorer } from '../../../src/inference/scorer';
import { layoutOf } from '../../../src/inference/scoring';

const archs: Architecture[] = [
  { kind: 'dense-ae', window: 8, features: 2, hidden: [12, 3] },
  { kind: 'conv-ae', height: 8, width: 8, channels: 1, filters: [4, 8], latent: 5, kernel: 3 },
];

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

const inputs = (n: number, size: number): Float32Array =>
  new Float32Array(n * size).map((_, i) => ((i * 37) % 101) / 101);

jest.setTimeout(30_000);

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend('wasm');
});

describe('one forward pass gives the reconstruction and the latent vector', () => {
  it.each(archs.map((a) => [a.kind, a] as const))(
    'tfjs and onnx engines agree with reconstruct() and encode(): %s',
    async (_kind, arch) => {
      const ae = Autoencoder.create(arch, { kind: 'range', min: 0, max: 1 }, 5);
      const size = ae.inputShape.reduce((a, b) => a * b, 1);
      const n = 6;
      const x = inputs(n, size);
      const [expectedY, expectedZ] = tf.tidy(() => {
        const t = tf.tensor(x, [n, ...ae.inputShape]);
        return [ae.reconstruct(t).dataSync(), ae.encode(t).dataSync()];
      });
      expect(expectedZ.length).toBe(n * ae.latentSize);
      const engines = [
        await createTfjsEngine(ae),
        await createOnnxEngine(exportOnnx(ae.model), ae.inputShape),
      ];
      for (const engine of engines) {
        const out = await engine.run(x, n);
        expect(maxDiff(out.reconstruction, expectedY)).toBeLessThan(1e-5);
        expect(maxDiff(out.latent, expectedZ)).toBeLessThan(1e-5);
        await engine.dispose();
      }
      ae.dispose();
    },
  );

  it('the tfjs engine leaves no tensors behind', async () => {
    const ae = Autoencoder.create(archs[0]!, { kind: 'range', min: 0, max: 1 }, 5);
    const engine = await createTfjsEngine(ae);
    await engine.run(inputs(4, 16), 4); // builds the two-output view once
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) await engine.run(inputs(4, 16), 4);
    expect(tf.memory().numTensors).toBe(before);
    ae.dispose();
  });

  it('an ONNX model stored without a latent output is re-exported; without a re-export it is refused', async () => {
    const ae = Autoencoder.create(archs[0]!, { kind: 'range', min: 0, max: 1 }, 5);
    // What versions stored before this change hold: the same network, `output` only (a
    // copy whose bottleneck is not named 'latent' exports exactly that).
    const oldModel = tf.sequential();
    const sizes: Array<[number, 'relu' | 'linear']> = [
      [12, 'relu'],
      [3, 'linear'],
      [12, 'relu'],
      [16, 'linear'],
    ];
    sizes.forEach(([units, activation], i) =>
      oldModel.add(
        tf.layers.dense({
          units,
          activation,
          name: `old_${i}`,
          ...(i === 0 ? { inputShape: [16] } : {}),
        }),
      ),
    );
    oldModel.layers.forEach((l, i) => l.setWeights(ae.model.layers[i + 1]!.getWeights()));
    const old = exportOnnx(oldModel);
    const bare = await createOnnxEngine(old, ae.inputShape);
    await expect(bare.run(inputs(2, 16), 2)).rejects.toMatchObject({
      code: 'AE_ERR_MODEL_INCOMPATIBLE',
    });
    expect((await bare.reconstruct(inputs(2, 16), 2)).length).toBe(32);
    await bare.dispose();
    const fixed = await createOnnxEngine(old, ae.inputShape, {
      reexport: () => exportOnnx(ae.model),
    });
    expect((await fixed.run(inputs(2, 16), 2)).latent.length).toBe(2 * 3);
    await fixed.dispose();
  });

  it('scoreWithOutputs gives the scores of score() and the reconstruction in raw units', async () => {
    const arch = archs[0]!;
    const norm: Normalization = { kind: 'robust', center: [10, -5], scale: [2, 0.5] };
    const ae = Autoencoder.create(arch, norm, 9);
    const engine = await createTfjsEngine(ae);
    const scorer = createScorer(engine, norm, layoutOf(arch), 'mse', 2);
    const raw = new Float32Array(3 * 16).map((_, i) => (i % 2 === 0 ? 10 : -5) + Math.sin(i));
    const plain = await scorer.score(raw, 3);
    const out = await scorer.scoreWithOutputs(raw, 3);
    expect(maxDiff(out.scores, plain.scores)).toBeLessThan(1e-6);
    expect(out.top).toEqual(plain.top);
    expect(out.latentSize).toBe(3);
    // Back in model units the reconstruction is the engine's output, and its error is the score.
    const y = normalize(norm, out.reconstruction);
    const x = normalize(norm, raw);
    for (let f = 0; f < 3; f++) {
      let mse = 0;
      for (let i = 0; i < 16; i++) mse += (x[f * 16 + i]! - y[f * 16 + i]!) ** 2;
      expect(mse / 16).toBeCloseTo(out.scores[f]!, 4);
    }
    ae.dispose();
  });

  it('denormalize inverts normalize', () => {
    const robust: Normalization = { kind: 'robust', center: [1, 2], scale: [3, 4] };
    const range: Normalization = { kind: 'range', min: 0, max: 255 };
    const raw = Float32Array.from([5, -7, 0.5, 100]);
    expect(maxDiff(denormalize(robust, normalize(robust, raw)), raw)).toBeLessThan(1e-5);
    expect(maxDiff(denormalize(range, normalize(range, raw)), raw)).toBeLessThan(1e-4);
  });
});
