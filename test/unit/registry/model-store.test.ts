import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadPipeline } from '../../../src/config/load-pipeline';
import { AeError } from '../../../src/core/errors';
import { type Architecture, architectureOf } from '../../../src/training/architecture';
import { Autoencoder } from '../../../src/training/autoencoder';
import { initBackend } from '../../../src/training/backend';
import { ModelStore } from '../../../src/registry/model-store';
import { packRelease } from '../../../src/registry/model-release';

const dense: Architecture = { kind: 'dense-ae', window: 8, features: 2, hidden: [6, 3] };
const conv: Architecture = {
  kind: 'conv-ae',
  height: 8,
  width: 8,
  channels: 1,
  filters: [2, 4],
  latent: 3,
  kernel: 3,
};

let dir: string;
// Tensor work on a shared 2-core CI machine: generous timeouts (no timing is asserted).
jest.setTimeout(30_000);

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend('wasm');
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aestream-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const save = (ae: Autoencoder, store = new ModelStore(dir)) =>
  store.save(ae, {
    pipeline: 'test',
    training: { source: 'unit', count: 10, range: { from: 0, to: 9 } },
    validation: { loss: 0.5 },
  });

async function expectAeError(p: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AeError);
  expect((err as AeError).code).toBe(code);
  expect((err as AeError).message).toMatch(text);
}

describe('architectures', () => {
  it('build from the shipped pipeline files', () => {
    for (const file of ['pipelines/sensors.yaml', 'pipelines/images.yaml']) {
      const config = loadPipeline(file);
      const arch = architectureOf(config.frame, config.model);
      const ae = Autoencoder.create(arch, { kind: 'range', min: 0, max: 1 }, 1);
      const x = tf.zeros([2, ...ae.inputShape]);
      const y = ae.reconstruct(x);
      expect(y.shape).toEqual(x.shape);
      const z = ae.encode(x);
      const latent =
        config.model.kind === 'dense-ae' ? config.model.hidden.at(-1) : config.model.latent;
      expect(z.shape).toEqual([2, latent]);
      tf.dispose([x, y, z]);
      ae.dispose();
    }
  });

  it('conv-ae mirrors the encoder with transposed convolutions', () => {
    const ae = Autoencoder.create(conv, { kind: 'range', min: 0, max: 255 }, 1);
    const classes = ae.model.layers.map((l) => l.getClassName());
    expect(classes).toEqual([
      'InputLayer',
      'Conv2D',
      'Conv2D',
      'Flatten',
      'Dense',
      'Dense',
      'Reshape',
      'Conv2DTranspose',
      'Conv2DTranspose',
    ]);
    ae.dispose();
  });

  it('the same seed gives the same initial weights', () => {
    const a = Autoencoder.create(dense, { kind: 'range', min: 0, max: 1 }, 7);
    const b = Autoencoder.create(dense, { kind: 'range', min: 0, max: 1 }, 7);
    const wa = a.model.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(wa).toEqual(wb);
    a.dispose();
    b.dispose();
  });

  it('refuses image sizes the stride-2 stack cannot mirror', () => {
    const config = loadPipeline('pipelines/images.yaml');
    expect(() =>
      architectureOf({ kind: 'image', width: 30, height: 30, channels: 1 }, config.model),
    ).toThrow(/divisible by 4/);
  });
});

describe('model store', () => {
  it.each([dense, conv])('round-trips a $kind through save and load', async (arch) => {
    const ae = Autoencoder.create(arch, { kind: 'robust', center: [1, 2], scale: [3, 4] }, 3);
    const first = await save(ae);
    const second = await save(ae);
    expect(first.version).toBe(1);
    expect(second.version).toBe(2);
    expect(second.path).toMatch(/v000002$/);

    const loaded = await new ModelStore(dir).load({ expect: arch });
    expect(loaded.version).toBe(2);
    expect(loaded.metadata.architecture).toEqual(arch);
    expect(loaded.metadata.normalization).toEqual(ae.normalization);
    expect(loaded.metadata.training.count).toBe(10);
    expect(loaded.metadata.validation.loss).toBe(0.5);
    expect(loaded.metadata.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(loaded.metadata.createdAt)).not.toBeNaN();

    const x = tf.randomUniform([3, ...ae.inputShape], 0, 1, 'float32', 5);
    const expected = ae.reconstruct(x).dataSync();
    const actual = loaded.autoencoder.reconstruct(x).dataSync();
    for (let i = 0; i < expected.length; i++)
      expect(actual[i]).toBeCloseTo(expected[i] as number, 6);
    expect((await new ModelStore(dir).load({ version: 1 })).version).toBe(1);
    ae.dispose();
    loaded.autoencoder.dispose();
  });

  it('keeps error standards and per-feature scaling kinds, and a release names the kind', async () => {
    const norm = { kind: 'standard' as const, center: [1, 2], scale: [3, 0] };
    const ae = Autoencoder.create(dense, norm, 3);
    const errorStandards = { mean: [0, 0.1], std: [1, 0.5], precision: [1, 0, 0, 4], count: 40 };
    await new ModelStore(dir).save(ae, {
      pipeline: 'test',
      errorStandards,
      training: { source: 'unit', count: 10 },
      validation: { loss: 0.5 },
    });
    ae.dispose();
    const loaded = await new ModelStore(dir).load({ expect: dense });
    expect(loaded.metadata.errorStandards).toEqual(errorStandards);
    expect(loaded.metadata.normalization).toEqual(norm);
    loaded.autoencoder.dispose();
    const release = await packRelease(new ModelStore(dir), 1, 'test');
    expect(release.normalization).toEqual({ kind: 'ZSCORE', offset: [1, 2], scale: [3, 0] });

    // Altered standards change what the model scores: the content hash refuses them.
    const file = join(dir, 'v000001', 'metadata.json');
    const metadata = JSON.parse(readFileSync(file, 'utf8')) as {
      errorStandards: { std: number[] };
    };
    metadata.errorStandards.std[1] = 5;
    writeFileSync(file, JSON.stringify(metadata));
    await expect(new ModelStore(dir).load()).rejects.toThrow(/content hash/);
  });

  it('says when there is no model', async () => {
    await expectAeError(
      new ModelStore(dir).load(),
      'AE_ERR_MODEL_NOT_FOUND',
      /no model in .*aestream train/,
    );
    await save(Autoencoder.create(dense, { kind: 'range', min: 0, max: 1 }, 1));
    await expectAeError(
      new ModelStore(dir).load({ version: 9 }),
      'AE_ERR_MODEL_NOT_FOUND',
      /version 9 .*has: 1/,
    );
  });

  it('refuses a model whose architecture does not fit the pipeline, naming the difference', async () => {
    await save(Autoencoder.create(dense, { kind: 'range', min: 0, max: 1 }, 1));
    const other: Architecture = { ...dense, hidden: [6, 4] };
    await expectAeError(
      new ModelStore(dir).load({ expect: other }),
      'AE_ERR_MODEL_INCOMPATIBLE',
      /hidden: pipeline wants \[6,4\], model has \[6,3\]/,
    );
  });

  it('refuses a corrupt weights file, naming it', async () => {
    const { path } = await save(Autoencoder.create(dense, { kind: 'range', min: 0, max: 1 }, 1));
    const weights = readFileSync(join(path, 'weights.bin'));
    weights[5] = (weights[5] as number) ^ 0xff;
    writeFileSync(join(path, 'weights.bin'), weights);
    await expectAeError(
      new ModelStore(dir).load(),
      'AE_ERR_MODEL_CORRUPT',
      /weights\.bin sha256 .* does not match/,
    );
  });

  it('refuses truncated metadata and altered normalization', async () => {
    const { path } = await save(Autoencoder.create(dense, { kind: 'range', min: 0, max: 1 }, 1));
    const meta = readFileSync(join(path, 'metadata.json'), 'utf8');
    writeFileSync(join(path, 'metadata.json'), meta.replace('"max": 1', '"max": 2'));
    await expectAeError(new ModelStore(dir).load(), 'AE_ERR_MODEL_CORRUPT', /content hash/);
    writeFileSync(join(path, 'metadata.json'), meta.slice(0, 40));
    await expectAeError(
      new ModelStore(dir).load(),
      'AE_ERR_MODEL_CORRUPT',
      /metadata\.json unreadable/,
    );
  });
});
