/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import * as tf from '@tensorflow/tfjs';
import { modelSchema } from '../../../src/training/model-config';
import { Autoencoder } from '../../../src/training/autoencoder';
import { initBackend } from '../../../src/training/backend';
import { createTfjsEngine } from '../../../src/inference/tfjs-engine';
import { corrupt, trainAutoencoder } from '../../../src/training/trainer';
import { addGaussianNoise, rmse, syntheticSignals } from '../../../src/eval/denoise-eval';

jest.setTimeout(60_000);

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend('wasm');
});

const train = {
  epochs: 30,
  batchSize: 32,
  learningRate: 0.004,
  validation: 0.1,
  patience: 30, // no early stop: a noisy validation curve stopped one seed too soon
  seed: 1,
  denoise: 0,
};

describe('denoising autoencoder (model.denoise)', () => {
  it('on synthetic signals with Gaussian noise, its output is much closer to the clean signal than the noisy input (RMSE ratio <= 0.6)', async () => {
    const window = 32;
    const noise = 0.5;
    const clean = syntheticSignals(1200, window, 11);
    const ae = Autoencoder.create(
      { kind: 'dense-ae', window, features: 1, hidden: [48, 8] },
      { kind: 'robust', center: [0], scale: [1] },
      1,
    );
    const result = await trainAutoencoder(ae, clean, 1200, {
      ...train,
      corruption: { noise: 'gaussian', level: noise },
    });
    expect(result.epochs).toBeGreaterThan(5);

    // Held-out signals (another seed), noise drawn independently of training.
    const testClean = syntheticSignals(500, window, 99);
    const noisy = addGaussianNoise(testClean, noise, 5);
    const engine = await createTfjsEngine(ae);
    const denoised = await engine.reconstruct(noisy, 500);
    const ratio = rmse(denoised, testClean) / rmse(noisy, testClean);
    expect(ratio).toBeLessThanOrEqual(0.6);
    ae.dispose();
  });

  it('corrupts with Gaussian noise of the level, or masks that share of values', () => {
    const clean = tf.fill([200, 50], 0.5);
    const [gStd, maskedShare, clippedMax] = tf.tidy(() => {
      const g = corrupt(clean, { noise: 'gaussian', level: 0.2 }, 7, false);
      const m = corrupt(clean, { noise: 'masking', level: 0.3 }, 7, false);
      const c = corrupt(clean, { noise: 'gaussian', level: 2 }, 7, true);
      return [
        tf.moments(tf.sub(g, clean)).variance.sqrt().dataSync()[0]!,
        tf.mean(tf.cast(tf.equal(m, 0), 'float32')).dataSync()[0]!,
        tf.max(c).dataSync()[0]!,
      ];
    });
    expect(gStd).toBeCloseTo(0.2, 1);
    expect(Math.abs(maskedShare - 0.3)).toBeLessThan(0.03);
    expect(clippedMax).toBeLessThanOrEqual(1);
    clean.dispose();
  });

  it('model.denoise validates: masking level below 1, gaussian by default', () => {
    const base = { kind: 'dense-ae', store: './m' };
    expect(modelSchema.parse({ ...base, denoise: { level: 0.1 } }).denoise).toEqual({
      noise: 'gaussian',
      level: 0.1,
    });
    expect(
      modelSchema.safeParse({ ...base, denoise: { noise: 'masking', level: 1.5 } }).success,
    ).toBe(false);
    expect(modelSchema.parse(base).denoise).toBeUndefined();
  });
});
