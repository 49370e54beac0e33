import { z } from 'zod';

/** The drift trigger: a two-sample Kolmogorov-Smirnov test on the current model's scores. */
export const driftSchema = z
  .strictObject({
    window: z
      .int()
      .min(20)
      .default(1000)
      .describe(
        'Scores in the reference sample (the first after a model became current) and in the recent sample compared with it.',
      ),
    checkEvery: z.int().min(1).default(200).describe('Run the test every this many scored frames.'),
    alpha: z
      .number()
      .gt(0)
      .lt(0.5)
      .default(0.001)
      .describe('Significance level of the KS test (each check).'),
    sustain: z
      .int()
      .min(1)
      .default(5)
      .describe(
        'Consecutive checks that must reject before drift is declared: anomalies are short, a level shift is sustained.',
      ),
    reservoirShare: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe(
        'On drift, the share of the training set drawn from the reservoir (the old regime); the rest is the recent regime.',
      ),
  })
  .describe('Drift detection on the score distribution.');

/** The rules a candidate must pass before it is published. */
export const acceptSchema = z
  .strictObject({
    tolerance: z
      .number()
      .min(0)
      .default(0.1)
      .describe(
        'Candidate mean error on held-back data may exceed that of the current model by at most this share.',
      ),
    recentQuantile: z
      .number()
      .gt(0.5)
      .lt(1)
      .default(0.995)
      .describe(
        'Quantile of the candidate held-back errors above which it would flag a recent frame.',
      ),
    rateSlack: z
      .number()
      .min(0)
      .lt(1)
      .default(0.02)
      .describe(
        'The candidate may flag at most this share more of the recent frames than the current model did.',
      ),
  })
  .describe('Validation of a candidate against the current model.');

/** When and how `aestream retrain` trains a new model version on frames judged normal. */
export const retrainSchema = z
  .strictObject({
    trigger: z
      .strictObject({
        everyFrames: z.int().min(1).optional().describe('Train after this many normal frames.'),
        everyMinutes: z.number().positive().optional().describe('Train on a wall-clock schedule.'),
        drift: z.boolean().default(false).describe('Train when the score distribution drifts.'),
      })
      .prefault({ everyFrames: 50000 })
      .describe('When to train; any combination, one run at a time.'),
    reservoir: z.int().min(100).default(20000).describe('Normal frames kept for training.'),
    halfLife: z
      .int()
      .min(1)
      .optional()
      .describe(
        'Recency weighting: the sampling weight of a normal frame halves every this many normal frames (default: the reservoir size).',
      ),
    epochs: z
      .int()
      .min(1)
      .max(1000)
      .default(20)
      .describe('Upper bound on the epochs of a run (early stopping as in model.train).'),
    validation: z.number().gt(0).lt(1).default(0.1).describe('Share held back for validation.'),
    minSamples: z
      .int()
      .min(10)
      .default(200)
      .describe('A trigger with fewer training samples than this waits for more.'),
    warmStart: z
      .boolean()
      .default(true)
      .describe('Start training from the weights of the current model (else from a fresh init).'),
    seed: z.int().default(7).describe('Seed of the reservoir sampling and splits.'),
    group: z
      .string()
      .min(1)
      .optional()
      .describe('Consumer group of the retrainer (default: input.kafka.group + ".retrain").'),
    drift: driftSchema.prefault({}),
    accept: acceptSchema.prefault({}),
  })
  .superRefine((r, ctx) => {
    if (!r.trigger.drift) return;
    // A drift run trains on the frames since the first rejecting check of the sustained run.
    const since = r.drift.sustain * r.drift.checkEvery;
    if (since > r.drift.window) {
      ctx.addIssue({
        code: 'custom',
        path: ['drift'],
        message: `drift.sustain × drift.checkEvery (${since}) must be ≤ drift.window (${r.drift.window}): a drift run trains on the frames since the change, which the recent window must still hold`,
      });
    } else if (since * (1 - r.validation) < r.minSamples) {
      ctx.addIssue({
        code: 'custom',
        path: ['drift'],
        message: `a drift run trains on ${Math.floor(since * (1 - r.validation))} frames (drift.sustain × drift.checkEvery less the validation share), fewer than retrain.minSamples (${r.minSamples}): it would never train`,
      });
    }
  })
  .describe('Retraining on normal data.');

export type RetrainConfig = z.infer<typeof retrainSchema>;
export type DriftConfig = z.infer<typeof driftSchema>;
export type AcceptConfig = z.infer<typeof acceptSchema>;
