import { z } from 'zod';

/** The autoencoder of a pipeline, where its versions are stored, and how it runs. */

const common = {
  store: z.string().min(1).describe('Folder of the versioned model store.'),
  engine: z
    .enum(['auto', 'tfjs', 'onnx'])
    .default('auto')
    .describe('Inference engine; auto picks the fastest available.'),
  backend: z
    .enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'])
    .default('auto')
    .describe('TensorFlow.js backend; auto tries GPU, native, WASM, then CPU.'),
  error: z.enum(['mse', 'mae']).default('mse').describe('Reconstruction error used as the score.'),
  topK: z
    .int()
    .min(0)
    .max(64)
    .default(3)
    .describe('Feature or region contributions kept per event.'),
};

export const denseAeSchema = z
  .strictObject({
    kind: z.literal('dense-ae'),
    hidden: z
      .array(z.int().min(1))
      .min(1)
      .default([32, 8])
      .describe('Encoder layer sizes; the last is the bottleneck (latent size).'),
    ...common,
  })
  .describe('Dense autoencoder over a flattened window (W x D).');

export const convAeSchema = z
  .strictObject({
    kind: z.literal('conv-ae'),
    filters: z
      .array(z.int().min(1))
      .min(1)
      .default([16, 32])
      .describe('Filters of each stride-2 convolution of the encoder; the decoder mirrors them.'),
    latent: z.int().min(1).default(16).describe('Size of the dense bottleneck.'),
    ...common,
  })
  .describe('Convolutional autoencoder for images.');

export const modelSchema = z.discriminatedUnion('kind', [denseAeSchema, convAeSchema]);

export type ModelConfig = z.infer<typeof modelSchema>;
