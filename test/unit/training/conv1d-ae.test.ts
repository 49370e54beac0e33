/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadPipeline } from '../../../src/config/load-pipeline';
import type { PipelineConfig } from '../../../src/config/pipeline-schema';
import type { SensorFrameConfig } from '../../../src/core/frame-config';
import { layoutOf, scoreBatch } from '../../../src/inference/scoring';
import { createOnnxEngine } from '../../../src/inference/onnx-engine';
import { ModelStore } from '../../../src/registry/model-store';
import { trainFromFile } from '../../../src/registry/train-and-store';
import { type Architecture, architectureOf } from '../../../src/training/architecture';
import { Autoencoder } from '../../../src/training/autoencoder';
import { initBackend } from '../../../src/training/backend';
import { fitRobust, normalize } from '../../../src/training/normalization';
import { exportOnnx } from '../../../src/training/onnx-export';
import { reconstructionLoss, trainAutoencoder } from '../../../src/training/trainer';

const W = 32;
const D = 3;
const arch: Architecture = {
  kind: 'conv1d-ae',
  window: W,
  features: D,
  filters: [8, 16],
  latent: 6,
  kernel: 5,
};

/** Reading t of D channels: three phase-shifted waves of different periods. */
function reading(t: number): number[] {
  return [Math.sin(t * 0.3), Math.cos(t * 0.17) * 2, Math.sin(t * 0.05 + 1) + 5];
}

/** `count` windows of W readings, each reading's D values together (row-major W x D). */
function windows(count: number): Float32Array {
  const out = new Float32Array(count * W * D);
  for (let i = 0; i < count; i++)
    for (let t = 0; t < W; t++) out.set(reading(i * 3 + t), (i * W + t) * D);
  return out;
}

let dir: string;
// Tensor work on a shared 2-core CI machine: generous timeouts (no timing is asserted).
jest.setTimeout(60_000);

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'aestream-conv1d-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conv1d-ae', () => {
  it('takes the flat W x D window and convolves over time with the D values as channels', () => {
    const ae = Autoencoder.create(arch, { kind: 'range', min: 0, max: 1 }, 1);
    expect(ae.inputShape).toEqual([W * D]);
    expect(ae.latentSize).toBe(6);
    const kernel = ae.model.getLayer('enc_conv_0').getWeights()[0] as tf.Tensor;
    expect(kernel.shape).toEqual([1, 5, D, 8]);
    // Two stride-2 layers: 32 readings become 8 steps of 16 filters before the latent.
    expect(ae.model.getLayer('flatten').outputShape).toEqual([null, 8 * 16]);
    const y = tf.tidy(() => ae.reconstruct(tf.zeros([2, W * D])).shape);
    expect(y).toEqual([2, W * D]);
    ae.dispose();
  });

  it('refuses a window its strides cannot halve', () => {
    const sensors = loadPipeline('pipelines/sensors.yaml');
    const frame = { ...(sensors.frame as SensorFrameConfig), window: 30, features: D };
    const model = sensors.model;
    expect(() =>
      architectureOf(frame, {
        ...model,
        kind: 'conv1d-ae',
        filters: [4, 4],
        latent: 4,
        kernel: 5,
      }),
    ).toThrow(/needs frame.window divisible by 4, got 30/);
  });

  it('learns normal windows on the wasm backend and points at the channel that breaks', async () => {
    const raw = windows(240);
    const norm = fitRobust(raw, D);
    const x = normalize(norm, raw);
    const ae = Autoencoder.create(arch, norm, 7);
    const before = reconstructionLoss(ae, x, 240);
    await trainAutoencoder(ae, x, 240, {
      epochs: 40,
      batchSize: 16,
      learningRate: 0.005,
      validation: 0.2,
      patience: 5,
      seed: 7,
      denoise: 0,
    });
    const after = reconstructionLoss(ae, x, 240);
    expect(after).toBeLessThan(before / 10);

    // The same window twice: once normal, once with channel 1 stuck high for 6 readings.
    const normal = windows(1);
    const broken = normal.slice();
    for (let t = 12; t < 18; t++) broken[t * D + 1] = 6;
    const both = normalize(norm, Float32Array.from([...normal, ...broken]));
    const y = tf.tidy(() => ae.reconstruct(tf.tensor(both, [2, W * D])).dataSync() as Float32Array);
    const { scores, top } = scoreBatch(both, y, 2, layoutOf(arch), 'mse', 1);
    expect(scores[1] as number).toBeGreaterThan(10 * (scores[0] as number));
    expect(top[1]?.[0]?.index).toBe(1);
    ae.dispose();
  });
});

describe('conv1d-ae through aestream train', () => {
  it('trains from a multivariate CSV, stores robust scaling, and serves on ONNX Runtime like tfjs', async () => {
    const base = loadPipeline('pipelines/sensors.yaml');
    const store = join(dir, 'store');
    const config: PipelineConfig = {
      ...base,
      frame: { ...(base.frame as SensorFrameConfig), features: D, window: W, stride: 2 },
      model: {
        ...base.model,
        kind: 'conv1d-ae' as const,
        filters: [8, 16],
        latent: 6,
        kernel: 5,
        store,
        train: { ...base.model.train, epochs: 2 },
      },
    };
    const rows = Array.from({ length: 200 }, (_, t) => `${t},${reading(t).join(',')}`);
    const file = join(dir, 'multi.csv');
    writeFileSync(file, ['time,a,b,c', ...rows].join('\n'));
    const saved = await trainFromFile(config, { data: file });
    // Every window is trained on or held back, except the ceil(W / stride) - 1 windows just
    // before the held-back ones, which share readings with them.
    expect(saved.result.trainCount + saved.result.valCount + Math.ceil(W / 2) - 1).toBe(
      Math.floor((200 - W) / 2) + 1,
    );

    const loaded = await new ModelStore(store).load({
      expect: architectureOf(config.frame, config.model),
    });
    expect(loaded.metadata.normalization.kind).toBe('robust');
    const ae = loaded.autoencoder;
    const x = normalize(ae.normalization, windows(5));
    const expected = tf.tidy(() => ae.reconstruct(tf.tensor(x, [5, W * D])).dataSync());
    const onnx = await createOnnxEngine(exportOnnx(ae.model), ae.inputShape);
    const actual = await onnx.reconstruct(x, 5);
    let worst = 0;
    for (let i = 0; i < expected.length; i++)
      worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
    expect(worst).toBeLessThan(1e-5);
    await onnx.dispose();
    ae.dispose();
  });
});
