/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from '../../../src/training/architecture';
import { Autoencoder } from '../../../src/training/autoencoder';
import { initBackend } from '../../../src/training/backend';
import { createEngine } from '../../../src/inference/inference-engine';
import { ModelStore } from '../../../src/registry/model-store';
import { createOnnxEngine } from '../../../src/inference/onnx-engine';
import { exportOnnx } from '../../../src/training/onnx-export';
import { createTfjsEngine } from '../../../src/inference/tfjs-engine';
import { createScorer } from '../../../src/inference/scorer';
import { layoutOf } from '../../../src/inference/scoring';

const archs: Architecture[] = [
  { kind: 'dense-ae', window: 16, features: 3, hidden: [24, 12, 4] },
  { kind: 'conv-ae', height: 28, width: 28, channels: 1, filters: [8, 16], latent: 6, kernel: 3 },
  { kind: 'conv-ae', height: 16, width: 8, channels: 3, filters: [4, 8, 8], latent: 5, kernel: 5 },
  { kind: 'conv1d-ae', window: 16, features: 3, filters: [8, 16], latent: 6, kernel: 5 },
  { kind: 'conv1d-ae', window: 24, features: 5, filters: [4, 8, 8], latent: 4, kernel: 7 },
];

/** Non-zero biases, so a wrong bias layout in the export cannot hide behind zeros. */
function withRandomBiases(ae: Autoencoder): Autoencoder {
  ae.model.layers.forEach((layer, i) => {
    const w = layer.getWeights();
    if (w.length === 2) {
      const [kernel, bias] = w as [tf.Tensor, tf.Tensor];
      layer.setWeights([kernel, tf.randomNormal(bias.shape, 0, 0.2, 'float32', i)]);
    }
  });
  return ae;
}

// Tensor work on a shared 2-core CI machine: generous timeouts (no timing is asserted).
jest.setTimeout(30_000);

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend('wasm');
});

describe('onnx engine', () => {
  it.each(archs.map((a) => [JSON.stringify(a), a] as const))(
    'reconstructs like the tfjs engine within 1e-5: %s',
    async (_name, arch) => {
      const ae = withRandomBiases(Autoencoder.create(arch, { kind: 'range', min: 0, max: 1 }, 11));
      const tfjs = await createTfjsEngine(ae);
      const onnx = await createOnnxEngine(exportOnnx(ae.model), ae.inputShape);
      const n = 7;
      const size = ae.inputShape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: n * size }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
      const a = await tfjs.reconstruct(x, n);
      const b = await onnx.reconstruct(x, n);
      expect(b.length).toBe(a.length);
      let worst = 0;
      for (let i = 0; i < a.length; i++)
        worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
      expect(worst).toBeLessThan(1e-5);
      await onnx.dispose();
      ae.dispose();
    },
  );

  it('refuses a batch of the wrong size', async () => {
    const ae = Autoencoder.create(archs[0] as Architecture, { kind: 'range', min: 0, max: 1 }, 1);
    const onnx = await createOnnxEngine(exportOnnx(ae.model), ae.inputShape);
    await expect(onnx.reconstruct(new Float32Array(47), 1)).rejects.toThrow(
      /needs 48 values, got 47/,
    );
    await onnx.dispose();
    ae.dispose();
  });
});

describe('tfjs engine', () => {
  it('leaves no tensor behind over 1,000 batches (reconstruct and score)', async () => {
    const arch = archs[0] as Architecture;
    const ae = Autoencoder.create(arch, { kind: 'robust', center: [0, 0, 0], scale: [1, 1, 1] }, 1);
    const engine = await createTfjsEngine(ae);
    const scorer = createScorer(engine, ae.normalization, layoutOf(arch), 'mse', 2);
    const x = Float32Array.from({ length: 4 * 48 }, (_, i) => i / 100);
    await scorer.score(x, 4); // first call builds the predict function
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) {
      const { scores } = await scorer.score(x, 4);
      expect(scores.length).toBe(4);
    }
    expect(tf.memory().numTensors).toBe(before);
    ae.dispose();
  });
});

describe('engine: auto', () => {
  it('opens an engine on a stored model that reconstructs like the model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aestream-engine-'));
    try {
      const arch = archs[1] as Architecture;
      const ae = withRandomBiases(Autoencoder.create(arch, { kind: 'range', min: 0, max: 255 }, 4));
      const store = new ModelStore(dir);
      await store.save(ae, { training: { source: 'unit', count: 1 }, validation: {} });
      const stored = await store.load({ expect: arch });
      const engine = await createEngine('auto', stored);
      expect(['tfjs', 'onnx']).toContain(engine.name);
      const x = Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 13) / 13);
      const expected = tf.tidy(() => ae.reconstruct(tf.tensor(x, [2, 28, 28, 1])).dataSync());
      const actual = await engine.reconstruct(x, 2);
      for (let i = 0; i < expected.length; i += 37) {
        expect(Math.abs((actual[i] as number) - (expected[i] as number))).toBeLessThan(1e-5);
      }
      await engine.dispose();
      ae.dispose();
      stored.autoencoder.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
