import * as tf from '@tensorflow/tfjs';
import { inputSizeOf } from '../training/architecture';
import type { Autoencoder } from '../training/autoencoder';
import { currentBackend } from '../training/backend';
import { checkBatch } from './batch-check';
import type { InferenceEngine, EngineOutput } from './engine';

/**
 * The TensorFlow.js engine: each batch runs inside `tf.tidy`, so no tensor outlives
 * a call (test/unit/inference/engines.test.ts checks the tensor count stays flat).
 *
 * @example
 * const engine = await createTfjsEngine(autoencoder);
 */
export async function createTfjsEngine(ae: Autoencoder): Promise<InferenceEngine> {
  const size = inputSizeOf(ae.architecture);
  const shape = ae.inputShape;
  return {
    name: 'tfjs',
    device: currentBackend() ?? tf.getBackend(),
    async reconstruct(x: Float32Array, n: number): Promise<Float32Array> {
      checkBatch(x, n, size);
      return tf.tidy(() => ae.reconstruct(tf.tensor(x, [n, ...shape])).dataSync() as Float32Array);
    },
    async run(x: Float32Array, n: number): Promise<EngineOutput> {
      checkBatch(x, n, size);
      return tf.tidy(() => {
        const out = ae.forward(tf.tensor(x, [n, ...shape]));
        return {
          reconstruction: out.reconstruction.dataSync() as Float32Array,
          latent: out.latent.dataSync() as Float32Array,
        };
      });
    },
    async dispose(): Promise<void> {
      // The autoencoder belongs to the caller (the model store handed it out).
    },
  };
}
