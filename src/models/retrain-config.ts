import { z } from 'zod';

/** When and how `aestream retrain` trains a new model version on frames judged normal. */
export const retrainSchema = z
  .strictObject({
    trigger: z
      .strictObject({
        everyFrames: z.int().min(1).optional().describe('Train after this many normal frames.'),
        everyMinutes: z.number().positive().optional().describe('Train on a wall-clock schedule.'),
        drift: z.boolean().default(false).describe('Train when the score distribution drifts.'),
      })
      .prefault({ everyFrames: 50000 }),
    reservoir: z.int().min(100).default(20000).describe('Normal frames kept for training.'),
    epochs: z.int().min(1).max(1000).default(20),
    validation: z.number().gt(0).lt(1).default(0.1).describe('Share held back for validation.'),
  })
  .describe('Retraining on normal data.');

export type RetrainConfig = z.infer<typeof retrainSchema>;
