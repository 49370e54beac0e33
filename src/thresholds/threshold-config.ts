import { z } from 'zod';

/** Threshold specs: how a reconstruction error becomes a verdict, per source key. */

const calibration = z.int().min(1).describe('Scores a key must see before it gives verdicts.');

const maxGrowth = z
  .number()
  .min(0)
  .max(1)
  .optional()
  .describe(
    'Largest relative change of the threshold, up or down, per 1,000 normal scores (default 0.01): a slow ramp anomaly cannot carry it up, nor the noise of its estimate pull it down.',
  );

export const staticThresholdSchema = z.strictObject({
  kind: z.literal('static'),
  value: z.number().nonnegative().describe('Fixed threshold on the score.'),
});

export const ksigmaThresholdSchema = z.strictObject({
  kind: z.literal('ksigma'),
  k: z
    .number()
    .positive()
    .default(4)
    .describe('Threshold = EWMA mean + k EWMA standard deviations.'),
  halfLife: z.int().min(1).default(1000).describe('Half-life of the EWMA, in scores.'),
  calibration: calibration.default(100),
  maxGrowth,
});

export const quantileThresholdSchema = z.strictObject({
  kind: z.literal('quantile'),
  q: z.number().gt(0).lt(1).default(0.999).describe('Quantile of normal scores used as threshold.'),
  epsilon: z
    .number()
    .gt(0)
    .lt(0.1)
    .default(0.0001)
    .describe('Rank error bound of the sketch (Greenwald-Khanna); keep it well below 1 - q.'),
  calibration: calibration.default(1000),
});

export const spotThresholdSchema = z.strictObject({
  kind: z.literal('spot'),
  risk: z
    .number()
    .gt(0)
    .lt(0.5)
    .describe('Probability q of a normal score exceeding the threshold.'),
  calibration: calibration.min(100).default(2000),
  level: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.98)
    .describe('Quantile of the initial peaks threshold t.'),
  maxPeaks: z.int().min(10).default(5000).describe('Bound on the excesses kept in memory.'),
  maxGrowth,
});

export const dspotThresholdSchema = z.strictObject({
  kind: z.literal('dspot'),
  risk: z.number().gt(0).lt(0.5),
  calibration: calibration.min(100).default(2000),
  level: z.number().gt(0).lt(1).default(0.98),
  maxPeaks: z.int().min(10).default(5000),
  depth: z.int().min(1).default(50).describe('Length of the moving baseline that follows drift.'),
  maxGrowth,
});

export const thresholdSpecSchema = z.discriminatedUnion('kind', [
  staticThresholdSchema,
  ksigmaThresholdSchema,
  quantileThresholdSchema,
  spotThresholdSchema,
  dspotThresholdSchema,
]);

const registryOptions = z.strictObject({
  perKey: z
    .boolean()
    .default(true)
    .describe('One threshold state per source key (else one shared).'),
  warmup: z
    .enum(['suppress', 'flag'])
    .default('suppress')
    .describe('Before calibration: give no verdict, or flag the score as warming up.'),
  calibrate: z
    .enum(['model', 'source'])
    .default('model')
    .describe(
      "Where a new source's threshold calibrates: from the model's scores on held-back normal windows stored at training (verdicts from its first score), or from the source's own first scores.",
    ),
  overrides: z
    .record(z.string().min(1), thresholdSpecSchema)
    .default({})
    .describe('Per-key threshold specs that replace the default for those keys.'),
  control: z
    .strictObject({
      topic: z
        .string()
        .min(1)
        .default('aestream.control')
        .describe('Topic of ThresholdCommands (`aestream threshold set|override|reset`).'),
      follow: z
        .boolean()
        .default(true)
        .describe('Apply the commands for this pipeline while running (replayed at start).'),
    })
    .prefault({})
    .describe('Runtime threshold control.'),
});

/** `threshold:` in a pipeline file: a spec (by kind) plus the registry options. */
export const thresholdSchema = z
  .discriminatedUnion('kind', [
    staticThresholdSchema.extend(registryOptions.shape),
    ksigmaThresholdSchema.extend(registryOptions.shape),
    quantileThresholdSchema.extend(registryOptions.shape),
    spotThresholdSchema.extend(registryOptions.shape),
    dspotThresholdSchema.extend(registryOptions.shape),
  ])
  .describe('Adaptive threshold per source.');

export type ThresholdSpec = z.infer<typeof thresholdSpecSchema>;
export type ThresholdConfig = z.infer<typeof thresholdSchema>;
