import type { FrameConfig } from '../core/frame-config';
import { z } from 'zod';

/** The autoencoder of a pipeline, where its versions are stored, and how it runs. */

export const denoiseSchema = z
  .strictObject({
    noise: z
      .enum(['gaussian', 'masking'])
      .default('gaussian')
      .describe(
        'gaussian: add N(0, level) noise to every normalized input value; masking: set a random share `level` of the input values to 0 (the median for sensors, black for images).',
      ),
    level: z
      .number()
      .gt(0)
      .describe(
        'Noise std in normalized units (gaussian; images are in [0, 1], sensors in IQRs), or the share of masked values in (0, 1) (masking).',
      ),
  })
  .refine((d) => d.noise !== 'masking' || d.level < 1, {
    message: 'masking level is a share of values and must be below 1',
    path: ['level'],
  })
  .describe(
    'Train a denoising autoencoder: corrupted inputs against the clean target, so the reconstruction output removes noise rather than copying it. Off when absent.',
  );

export type DenoiseConfig = z.infer<typeof denoiseSchema>;

const common = {
  store: z.string().min(1).describe('Folder of the versioned model store.'),
  releases: z
    .strictObject({
      topic: z
        .string()
        .regex(/^[a-zA-Z0-9._-]+$/)
        .default('aestream.models')
        .describe('Compacted topic of ModelReleases, keyed by pipeline.'),
      follow: z
        .boolean()
        .default(true)
        .describe(
          'Swap to each newer release of this pipeline while running (between micro-batches).',
        ),
    })
    .prefault({})
    .describe('Model rollout: where releases are published and whether detectors follow them.'),
  engine: z
    .enum(['auto', 'tfjs', 'onnx'])
    .default('auto')
    .describe('Inference engine; auto picks the fastest available.'),
  backend: z
    .enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'])
    .default('auto')
    .describe('TensorFlow.js backend; auto tries GPU, native, WASM, then CPU.'),
  error: z.enum(['mse', 'mae']).default('mse').describe('Reconstruction error used as the score.'),
  score: z
    .enum(['mean', 'standardized', 'mahalanobis', 'max-channel'])
    .optional()
    .describe(
      "How reconstruction errors become the score. mean: the mean error over all values. Sensors only: standardized (each channel's residual divided by its spread on held-back training windows, then squared (mse) or absolute (mae), averaged), mahalanobis (T² distance of each time step's residual vector under the covariance of held-back residuals, per channel), max-channel (the largest channel mean of the standardized errors). Event contributions use the same standard. Default: mean (on SMD dev the standardized kinds lost more to false alarms on machines whose test period shifted than they gained; README, Detection quality).",
    ),
  scoreLast: z
    .int()
    .min(1)
    .optional()
    .describe(
      'Sensors: score only the newest this many readings of each window (the ones that just arrived; the older ones were scored in earlier windows), so a score rises when an anomaly starts and falls when it ends instead of lingering for a window. Default: the whole window.',
    ),
  normalization: z
    .enum(['robust', 'standard', 'minmax'])
    .default('robust')
    .describe(
      'Per-feature scaling of sensor readings, fitted on the training data: robust (median, IQR floored at half the std and a 20th of the range of the central 99 % of values, so a stepped channel cannot dominate), standard (mean, std) or minmax (min, range). A feature constant in training is passed as 0. Image frames are always scaled to [0, 1].',
    ),
  topK: z
    .int()
    .min(0)
    .max(64)
    .default(3)
    .describe('Feature or region contributions kept per event.'),
  train: z
    .strictObject({
      epochs: z.int().min(1).max(10000).default(30).describe('Upper bound on training epochs.'),
      steps: z
        .int()
        .min(1)
        .optional()
        .describe(
          'Optimizer steps (batches) to aim for: epochs become ceil(steps / batches per epoch), at most `epochs`, so a large training set takes few epochs and a small one many. Off when absent (always up to `epochs`).',
        ),
      batchSize: z.int().min(1).max(65536).default(64),
      learningRate: z.number().positive().default(0.001).describe('Adam learning rate.'),
      validation: z
        .number()
        .gt(0)
        .lt(1)
        .default(0.1)
        .describe('Share of the training data held back for validation and early stopping.'),
      patience: z
        .int()
        .min(1)
        .default(5)
        .describe('Epochs without validation-loss improvement before stopping early.'),
      seed: z.int().default(42).describe('Seed of weight init, shuffling and noise.'),
      denoise: z
        .number()
        .min(0)
        .default(0)
        .describe('Std of Gaussian noise added to inputs in training (0 = plain autoencoder).'),
    })
    .prefault({})
    .describe('Offline training (aestream train) and retraining defaults.'),
  denoise: denoiseSchema.optional(),
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
    kernel: z.int().min(1).max(11).default(3).describe('Square kernel size of every convolution.'),
    region: z
      .int()
      .min(1)
      .default(7)
      .describe('Side of the square image regions whose errors are reported as contributions.'),
    blur: z
      .int()
      .min(0)
      .max(5)
      .default(0)
      .describe(
        'Radius of a box blur (1 = 3x3, cut at the borders) of the difference between image and reconstruction before it is squared (mse) or taken absolute (mae), for the score and the region contributions: a reconstruction a pixel off along an edge gives differences of both signs that cancel in the blur, a missing or extra stroke does not. 0: the error of each pixel.',
      ),
    ...common,
  })
  .describe('Convolutional autoencoder for images.');

export const conv1dAeSchema = z
  .strictObject({
    kind: z.literal('conv1d-ae'),
    filters: z
      .array(z.int().min(1))
      .min(1)
      .default([32, 32])
      .describe(
        'Filters of each stride-2 convolution over time; the decoder mirrors them. frame.window must be divisible by 2^(number of layers).',
      ),
    latent: z.int().min(1).default(16).describe('Size of the dense bottleneck.'),
    kernel: z
      .int()
      .min(1)
      .max(15)
      .default(5)
      .describe('Readings each convolution spans in time (odd, 5-7 is usual).'),
    ...common,
  })
  .describe(
    'Temporal convolutional autoencoder for sensor windows: convolves over time with the D values of a reading as channels.',
  );

export const modelSchema = z.discriminatedUnion('kind', [
  denseAeSchema,
  convAeSchema,
  conv1dAeSchema,
]);

export type ModelConfig = z.infer<typeof modelSchema>;
export type TrainConfig = ModelConfig['train'];
export type ScoreKindName = NonNullable<ModelConfig['score']>;

/** The score a pipeline's model computes: `model.score`, else the mean error. */
export function scoreKindOf(model: ModelConfig): ScoreKindName {
  return model.score ?? 'mean';
}

/** The slice of a pipeline file that training, the model store and inference read. */
export interface ModelSection {
  readonly name: string;
  readonly frame: FrameConfig;
  readonly model: ModelConfig;
}
