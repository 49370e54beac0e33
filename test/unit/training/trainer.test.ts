import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { readIdxFile } from '../../../src/connectors/files/idx-file';
import type { Architecture } from '../../../src/training/architecture';
import { Autoencoder } from '../../../src/training/autoencoder';
import { initBackend } from '../../../src/training/backend';
import { fitRobust, normalize } from '../../../src/training/normalization';
import { plannedEpochs, reconstructionLoss, trainAutoencoder } from '../../../src/training/trainer';
import { readTrainingData } from '../../../src/training/training-data';
import { loadPipeline } from '../../../src/config/load-pipeline';
import type { PipelineConfig } from '../../../src/config/pipeline-schema';
import type { SensorFrameConfig } from '../../../src/core/frame-config';
import { ModelStore } from '../../../src/registry/model-store';
import { trainFromFile } from '../../../src/registry/train-and-store';

const arch: Architecture = { kind: 'dense-ae', window: 16, features: 1, hidden: [8, 3] };
const base = {
  epochs: 15,
  batchSize: 16,
  learningRate: 0.01,
  validation: 0.2,
  patience: 3,
  seed: 3,
  denoise: 0,
};

/** Windows of a noiseless sine: easy to reconstruct through a 3-unit bottleneck. */
function sineWindows(count: number): Float32Array {
  const data = new Float32Array(count * 16);
  for (let i = 0; i < count; i++)
    for (let t = 0; t < 16; t++) data[i * 16 + t] = Math.sin((i + t) * 0.4);
  return data;
}

let dir: string;
// Tensor work on a shared 2-core CI machine: generous timeouts (no timing is asserted).
jest.setTimeout(30_000);

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'aestream-train-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trainAutoencoder', () => {
  it('lowers the reconstruction error and reports every epoch', async () => {
    const raw = sineWindows(200);
    const norm = fitRobust(raw, 1);
    const x = normalize(norm, raw);
    const ae = Autoencoder.create(arch, norm, 1);
    const before = reconstructionLoss(ae, x, 200);
    const epochs: number[] = [];
    const result = await trainAutoencoder(ae, x, 200, {
      ...base,
      onEpoch: (r) => epochs.push(r.epoch),
    });
    expect(epochs).toEqual(Array.from({ length: result.epochs }, (_, i) => i + 1));
    expect(result.trainCount + result.valCount).toBe(200);
    expect(result.valCount).toBe(40);
    expect(reconstructionLoss(ae, x, 200)).toBeLessThan(before / 4);
    ae.dispose();
  });

  it('holds back the last windows, past a gap, when windows overlap', async () => {
    const x = sineWindows(200);
    const ae = Autoencoder.create(arch, { kind: 'range', min: -1, max: 1 }, 2);
    const result = await trainAutoencoder(ae, x, 200, { ...base, epochs: 1, overlap: 15 });
    ae.dispose();
    // 40 held back (samples 160-199), the 15 before them share readings with those: untrained.
    expect(Array.from(result.heldBack)).toEqual(Array.from({ length: 40 }, (_, i) => 160 + i));
    expect(result.trainCount).toBe(200 - 40 - 15);
  });

  it('is reproducible with the same seed, also when denoising', async () => {
    const x = sineWindows(64);
    const run = async () => {
      const ae = Autoencoder.create(arch, { kind: 'range', min: -1, max: 1 }, 5);
      const r = await trainAutoencoder(ae, x, 64, { ...base, epochs: 3, denoise: 0.1 });
      const w = ae.model.getWeights().map((t) => Array.from(t.dataSync()));
      ae.dispose();
      return { loss: r.loss, w };
    };
    const a = await run();
    const b = await run();
    expect(b.loss).toBe(a.loss);
    expect(b.w).toEqual(a.w);
  });

  it('stops early when the validation loss stops improving and keeps the best weights', async () => {
    const x = sineWindows(64);
    const ae = Autoencoder.create(arch, { kind: 'range', min: -1, max: 1 }, 2);
    // A learning rate this high makes the loss jump around instead of improving steadily.
    const result = await trainAutoencoder(ae, x, 64, {
      ...base,
      epochs: 200,
      learningRate: 0.5,
      patience: 2,
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochs).toBeLessThan(200);
    expect(result.bestEpoch).toBe(result.epochs - 2);
    const best = result.history[result.bestEpoch - 1];
    expect(best?.valLoss).toBe(result.valLoss);
    ae.dispose();
  });

  it('with a step budget, trains a large set for few epochs and a small one for many', async () => {
    const run = async (count: number) => {
      const ae = Autoencoder.create(arch, { kind: 'range', min: -1, max: 1 }, 4);
      const seen: number[] = [];
      // patience above the cap: the budget alone decides how many epochs run.
      const result = await trainAutoencoder(ae, sineWindows(count), count, {
        ...base,
        epochs: 12,
        steps: 20,
        patience: 50,
        onEpoch: (r) => seen.push(r.epochs),
      });
      ae.dispose();
      return { epochs: result.epochs, planned: seen[0], stoppedEarly: result.stoppedEarly };
    };
    // 400 samples: 320 trained on = 20 batches of 16, so one epoch is the whole budget.
    expect(await run(400)).toEqual({ epochs: 1, planned: 1, stoppedEarly: false });
    // 80 samples: 64 trained on = 4 batches, so 5 epochs.
    expect(await run(80)).toEqual({ epochs: 5, planned: 5, stoppedEarly: false });
    // 20 samples: 16 trained on = 1 batch; 20 epochs would be due, the cap of 12 holds.
    expect(await run(20)).toEqual({ epochs: 12, planned: 12, stoppedEarly: false });
    expect(plannedEpochs({ epochs: 200, steps: 3000, batchSize: 64 }, 22_000)).toBe(9);
    expect(plannedEpochs({ epochs: 30, batchSize: 64 }, 22_000)).toBe(30);
  });

  it('trains a conv autoencoder on the wasm backend', async () => {
    const conv: Architecture = {
      kind: 'conv-ae',
      height: 8,
      width: 8,
      channels: 1,
      filters: [4, 8],
      latent: 4,
      kernel: 3,
    };
    const x = Float32Array.from({ length: 32 * 64 }, (_, i) => ((i % 8) + Math.floor(i / 8)) % 2);
    const ae = Autoencoder.create(conv, { kind: 'range', min: 0, max: 1 }, 1);
    const before = reconstructionLoss(ae, x, 32);
    await trainAutoencoder(ae, x, 32, { ...base, epochs: 10, batchSize: 8, learningRate: 0.01 });
    expect(reconstructionLoss(ae, x, 32)).toBeLessThan(before / 2);
    ae.dispose();
  });
});

describe('training data', () => {
  it('cuts NAB CSV readings into windows and keeps the time range', () => {
    const rows = Array.from(
      { length: 20 },
      (_, i) => `2014-04-01 00:${String(i).padStart(2, '0')}:00,${i}`,
    );
    const file = join(dir, 'nab.csv');
    writeFileSync(file, ['timestamp,value', ...rows].join('\n'));
    const data = readTrainingData(file, arch, 2);
    expect(data.count).toBe(3); // windows start at 0, 2, 4
    expect(Array.from(data.raw.subarray(16, 18))).toEqual([2, 3]);
    expect(data.range).toEqual({ from: '2014-04-01 00:00:00', to: '2014-04-01 00:19:00' });
  });

  it('names the line of a bad value', () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'timestamp,value\nt0,1\nt1,abc\n');
    expect(() => readTrainingData(file, arch)).toThrow(/bad\.csv:3: 'abc' is not a number/);
  });

  it('reads gzipped IDX images and checks their size against the pipeline', () => {
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4]);
    const file = join(dir, 'imgs-idx3-ubyte.gz');
    writeFileSync(
      file,
      gzipSync(Buffer.concat([header, Buffer.from(Array.from({ length: 32 }, (_, i) => i))])),
    );
    expect(readIdxFile(file).shape).toEqual([2, 4, 4]);
    const conv: Architecture = {
      kind: 'conv-ae',
      height: 4,
      width: 4,
      channels: 1,
      filters: [2],
      latent: 2,
      kernel: 3,
    };
    const data = readTrainingData(file, conv);
    expect(data.count).toBe(2);
    expect(data.raw[31]).toBe(31);
    expect(() => readTrainingData(file, { ...conv, height: 8, width: 8 })).toThrow(
      /images are 4x4x1, the pipeline's frames are 8x8x1/,
    );
  });
});

describe('trainFromFile (aestream train)', () => {
  it('trains the pipeline model on a NAB CSV and stores a loadable version', async () => {
    const base = loadPipeline('pipelines/sensors.yaml');
    const store = join(dir, 'store');
    const config: PipelineConfig = {
      ...base,
      frame: { ...(base.frame as SensorFrameConfig), features: 1, window: 16, stride: 2 },
      model: {
        ...base.model,
        kind: 'dense-ae' as const,
        hidden: [8, 3],
        store,
        train: { ...base.model.train, epochs: 3 },
      },
    };
    const rows = Array.from(
      { length: 120 },
      (_, i) => `2014-04-01 ${String(i).padStart(4, '0')},${Math.sin(i / 5)}`,
    );
    const file = join(dir, 'train.csv');
    writeFileSync(file, ['timestamp,value', ...rows].join('\n'));
    const epochs: number[] = [];
    const saved = await trainFromFile(config, { data: file, onEpoch: (r) => epochs.push(r.epoch) });
    expect(epochs).toEqual([1, 2, 3]);
    expect(saved.path).toBe(join(store, 'v000001'));
    const loaded = await new ModelStore(store).load({
      expect: { kind: 'dense-ae', window: 16, features: 1, hidden: [8, 3] },
    });
    expect(loaded.metadata.training).toMatchObject({
      source: file,
      count: saved.result.trainCount,
      epochs: 3,
      range: { from: '2014-04-01 0000', to: '2014-04-01 0119' },
    });
    expect(loaded.metadata.normalization.kind).toBe('robust');
    expect(loaded.metadata.validation.loss).toBeCloseTo(saved.result.valLoss, 10);
    loaded.autoencoder.dispose();
  });
});
