import { z } from 'zod';
import { AeError, ErrorCodes } from '../core/errors';
import { thresholdSpecSchema } from './threshold-config';
import { ThresholdRegistry, type RegistryState } from './threshold-registry';

const registryStateSchema = z.strictObject({
  version: z.literal(1),
  spec: thresholdSpecSchema,
  perKey: z.boolean(),
  warmup: z.enum(['suppress', 'flag']),
  calibrate: z.enum(['model', 'source']).optional(),
  overrides: z.record(z.string(), thresholdSpecSchema),
  thresholds: z.record(z.string(), z.looseObject({ kind: z.string() })),
});

/**
 * The registry's state as JSON text. JSON numbers round-trip doubles exactly, so a decoded
 * registry gives bit-identical thresholds and verdicts.
 *
 * @example
 * const text = encodeRegistryState(registry);
 * const again = decodeRegistryState(text); // same verdicts from here on
 */
export function encodeRegistryState(registry: ThresholdRegistry): string {
  return JSON.stringify(registry.snapshot());
}

/** Rebuilds a registry from `encodeRegistryState` text; AE_ERR_THRESHOLD_STATE when it is not one. */
export function decodeRegistryState(text: string): ThresholdRegistry {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new AeError(ErrorCodes.THRESHOLD_STATE, `not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = registryStateSchema.safeParse(data);
  if (!parsed.success) {
    throw new AeError(
      ErrorCodes.THRESHOLD_STATE,
      `not a registry snapshot: ${z.prettifyError(parsed.error)}`,
    );
  }
  try {
    return ThresholdRegistry.restore(parsed.data as RegistryState);
  } catch (err) {
    throw new AeError(ErrorCodes.THRESHOLD_STATE, `cannot be restored: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
