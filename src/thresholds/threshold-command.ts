import { z } from 'zod';
import { thresholdSpecSchema } from './threshold-config';

/** `key` absent or "*" means every key. */
const target = z.string().min(1).optional().describe('Source key; absent or "*" for all keys.');

/**
 * A runtime command on a running threshold registry (the `ThresholdCommand` control
 * record on `aestream.control`):
 * - `set`: a new spec, for one key (it becomes that key's override) or for all (the new
 *   default for every key without an override); the affected keys recalibrate.
 * - `override`: pin the threshold at `value` (an operator's manual threshold); learning is
 *   frozen while pinned; `value: null` unpins and learning resumes from the kept state.
 * - `reset`: forget the learned state and any pin; the keys recalibrate from scratch.
 */
export const thresholdCommandSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('set'), key: target, spec: thresholdSpecSchema }),
  z.strictObject({
    action: z.literal('override'),
    key: target,
    value: z.number().nonnegative().nullable().describe('Pinned threshold; null to unpin.'),
  }),
  z.strictObject({ action: z.literal('reset'), key: target }),
]);

export type ThresholdCommand = z.infer<typeof thresholdCommandSchema>;
