import { z } from 'zod';

/** Micro-batching in front of inference: a batch closes when full or when its oldest frame waited long enough. */
export const microBatchSchema = z
  .strictObject({
    maxSize: z.int().min(1).max(65536).default(256).describe('Frames per inference batch at most.'),
    maxWaitMs: z
      .int()
      .min(0)
      .max(60000)
      .default(20)
      .describe('Longest a frame waits for its batch.'),
  })
  .describe('Micro-batching of frames into inference.');

export type MicroBatchConfig = z.infer<typeof microBatchSchema>;
