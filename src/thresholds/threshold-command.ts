import { z } from 'zod';
import { AeError, ErrorCodes } from '../core/errors';
import { thresholdSpecSchema, type ThresholdSpec } from './threshold-config';

/** `key` absent or "*" means every key. */
const target = z.string().min(1).optional().describe('Source key; absent or "*" for all keys.');

/**
 * A runtime command on a running threshold registry, as in the `ThresholdCommand` control
 * record (schemas/threshold-command.avsc) on `aestream.control`:
 * - `set`: change parameters of the current threshold (same kind), e.g. `{ risk: 1e-4 }`;
 * - `override`: replace the threshold with another spec (any kind), e.g. `{ kind: 'static', value: 0.4 }`;
 * - `reset`: forget what was learned and calibrate again.
 * Each applies to one key, or to all keys (`key` absent or "*"): for all keys, `set` and
 * `override` change the default spec (keys with their own override keep theirs). Keys whose
 * spec changes recalibrate.
 */
export const thresholdCommandSchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('set'),
    key: target,
    params: z
      .record(z.string(), z.number())
      .describe('Numeric fields of the current spec to change, e.g. { risk: 1e-4 }.'),
  }),
  z.strictObject({ action: z.literal('override'), key: target, spec: thresholdSpecSchema }),
  z.strictObject({ action: z.literal('reset'), key: target }),
]);

export type ThresholdCommand = z.infer<typeof thresholdCommandSchema>;

/** The Avro `ThresholdCommand` fields the registry needs (pipeline routing happens before). */
export interface ThresholdCommandRecord {
  key: string | null;
  action: 'SET' | 'OVERRIDE' | 'RESET';
  parameters: Record<string, string>;
}

/**
 * The command of a decoded `ThresholdCommand` record, whose parameters are strings;
 * AE_ERR_THRESHOLD_COMMAND when they do not make a valid command.
 *
 * @example
 * thresholdCommandFromRecord({ key: 'pump-7', action: 'OVERRIDE', parameters: { kind: 'static', value: '0.4' } });
 */
export function thresholdCommandFromRecord(record: ThresholdCommandRecord): ThresholdCommand {
  const key = record.key ?? undefined;
  const numbers: Record<string, number> = {};
  for (const [name, text] of Object.entries(record.parameters)) {
    if (name === 'kind') continue;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) {
      throw new AeError(ErrorCodes.THRESHOLD_COMMAND, `parameter ${name}: not a number: '${text}'`);
    }
    numbers[name] = value;
  }
  const candidate =
    record.action === 'SET'
      ? { action: 'set', key, params: numbers }
      : record.action === 'OVERRIDE'
        ? { action: 'override', key, spec: { kind: record.parameters.kind, ...numbers } }
        : { action: 'reset', key };
  return parseThresholdCommand(candidate);
}

/** Validates a command; AE_ERR_THRESHOLD_COMMAND naming what is wrong. */
export function parseThresholdCommand(data: unknown): ThresholdCommand {
  const parsed = thresholdCommandSchema.safeParse(data);
  if (!parsed.success) {
    throw new AeError(ErrorCodes.THRESHOLD_COMMAND, z.prettifyError(parsed.error));
  }
  return parsed.data;
}

/** The spec after a `set`: the same kind with some numeric fields changed, validated. */
export function applyParams(
  spec: ThresholdSpec,
  params: Readonly<Record<string, number>>,
): ThresholdSpec {
  const parsed = thresholdSpecSchema.safeParse({ ...spec, ...params });
  if (!parsed.success) {
    throw new AeError(
      ErrorCodes.THRESHOLD_COMMAND,
      `set ${JSON.stringify(params)} on a ${spec.kind} threshold: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}
