import { z } from 'zod';
import { ConfigError, ErrorCodes } from '../core/errors';
import {
  dspotThresholdSchema,
  ksigmaThresholdSchema,
  quantileThresholdSchema,
  spotThresholdSchema,
  staticThresholdSchema,
  thresholdSchema,
  type ThresholdConfig,
} from '../thresholds/threshold-config';
import { decodeRegistryState } from '../thresholds/threshold-state-codec';
import { createThresholdRegistry, type ThresholdRegistry } from '../thresholds/threshold-registry';

/**
 * The pipeline's `threshold:` section with a replay's overrides on top. Keys of the same
 * kind are merged; an override naming another `kind` replaces the spec (the old kind's
 * parameters do not apply to it) and keeps `perKey`, `warmup` and `overrides` unless given.
 * The result is validated like the pipeline file (AE_ERR_CONFIG_INVALID naming each field).
 *
 * @example thresholdWithOverride(config.threshold, { risk: 1e-3 }) // spot with another risk
 */
export function thresholdWithOverride(
  base: Readonly<ThresholdConfig>,
  override: Record<string, unknown>,
  file = '--threshold',
): ThresholdConfig {
  const sameKind = override.kind === undefined || override.kind === base.kind;
  // Another kind: drop the old kind's own parameters, keep the registry options
  // (perKey, warmup, overrides, ...), whatever they are.
  const ownKeys = new Set(Object.keys(specSchemas[base.kind].shape));
  const registryOptions = Object.fromEntries(
    Object.entries(base).filter(([key]) => !ownKeys.has(key)),
  );
  const merged = sameKind ? { ...base, ...override } : { ...registryOptions, ...override };
  const parsed = thresholdSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      ErrorCodes.CONFIG_INVALID,
      file,
      parsed.error.issues.map((i) => ({
        path: ['threshold', ...i.path.map(String)].join('.'),
        message: i.code === 'unrecognized_keys' ? `unknown key ${i.keys.join(', ')}` : i.message,
      })),
    );
  }
  return parsed.data;
}

const specSchemas = {
  static: staticThresholdSchema,
  ksigma: ksigmaThresholdSchema,
  quantile: quantileThresholdSchema,
  spot: spotThresholdSchema,
  dspot: dspotThresholdSchema,
} as const;

const overrideShape = z.record(z.string(), z.unknown());

/** Checks that a parsed `--threshold` document is a mapping. */
export function asThresholdOverride(value: unknown, file: string): Record<string, unknown> {
  const parsed = overrideShape.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(ErrorCodes.CONFIG_INVALID, file, [
      { path: 'threshold', message: 'expected a mapping of threshold keys, e.g. { risk: 1.0e-3 }' },
    ]);
  }
  return parsed.data;
}

/**
 * The thresholds a replay starts with: restored from saved state, or fresh from the
 * pipeline's section with the replay's overrides; `start` says which, for the summary.
 */
export function replayThresholds(
  base: Readonly<ThresholdConfig>,
  options: {
    threshold?: Record<string, unknown> | undefined;
    thresholdState?: { text: string; file: string } | undefined;
  },
): { registry: ThresholdRegistry; start: string } {
  if (options.thresholdState) {
    return {
      registry: decodeRegistryState(options.thresholdState.text),
      start: `restored from ${options.thresholdState.file}`,
    };
  }
  const config = options.threshold ? thresholdWithOverride(base, options.threshold) : base;
  const calibration = 'calibration' in config ? `${config.calibration} ` : 'no ';
  return {
    registry: createThresholdRegistry(config),
    start:
      `fresh, warmed by the range's leading frames (${config.kind}: ${calibration}scores ` +
      `${config.perKey ? 'per source' : 'shared'} before verdicts)`,
  };
}
