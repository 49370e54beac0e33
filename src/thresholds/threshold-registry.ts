import { AeError, ErrorCodes, type ErrorCode } from '../core/errors';
import { logger } from '../observability/logger';
import type { ScoreSpread } from '../registry/model-store';
import { createThreshold, restoreThreshold } from './create-threshold';
import { applyParams, type ThresholdCommand } from './threshold-command';
import type { ThresholdConfig, ThresholdSpec } from './threshold-config';
import type { Threshold, ThresholdResult, ThresholdState } from './threshold';
import { assertFiniteScore } from './threshold';

/** One judged score, as the registry hands it downstream. */
export interface ThresholdDecision extends ThresholdResult {
  readonly key: string;
  readonly score: number;
  /** The kind of threshold that judged it. */
  readonly kind: string;
}

export interface ThresholdRegistryOptions {
  /** The spec for keys without an override. */
  spec: ThresholdSpec;
  /** One state per key; when false, keys without an override share one state. */
  perKey: boolean;
  /** While a threshold calibrates: `suppress` returns no decision, `flag` a `warming-up` one. */
  warmup: 'suppress' | 'flag';
  /** `model`: new keys start from the reference scores when there are any (see useReference). */
  calibrate?: 'model' | 'source';
  overrides: Readonly<Record<string, ThresholdSpec>>;
}

/** The registry's whole state as JSON-safe data (see `encodeRegistryState`). */
export interface RegistryState {
  readonly version: 1;
  readonly spec: ThresholdSpec;
  readonly perKey: boolean;
  readonly warmup: 'suppress' | 'flag';
  readonly calibrate?: 'model' | 'source';
  readonly overrides: Record<string, ThresholdSpec>;
  readonly thresholds: Record<string, ThresholdState>;
}

/** The state key shared by all keys without an override when `perKey` is false. */
const SHARED = '*';

/**
 * The per-key thresholds of a pipeline: creates a key's threshold on its first score, from
 * the key's override or the default spec, and applies ThresholdCommands while running.
 *
 * @example
 * const registry = createThresholdRegistry(pipeline.threshold);
 * const decision = registry.apply('pump-7', 0.12); // null while pump-7 calibrates (suppress)
 */
export class ThresholdRegistry {
  private spec: ThresholdSpec;
  private readonly perKey: boolean;
  private readonly warmup: 'suppress' | 'flag';
  private readonly calibrate: 'model' | 'source';
  private readonly overrides = new Map<string, ThresholdSpec>();
  private readonly thresholds = new Map<string, Threshold>();
  /** The model's scores on held-back normal windows, when it stored them. */
  private reference: number[] | undefined;

  constructor(options: ThresholdRegistryOptions) {
    this.spec = options.spec;
    this.perKey = options.perKey;
    this.warmup = options.warmup;
    this.calibrate = options.calibrate ?? 'model';
    for (const [key, spec] of Object.entries(options.overrides)) this.overrides.set(key, spec);
    // Build each spec once now, so a bad combination (e.g. spot risk >= 1 - level) fails at
    // startup rather than when its key's first score arrives.
    checkSpec('threshold', this.spec);
    for (const [key, spec] of this.overrides) checkSpec(`threshold.overrides.${key}`, spec);
  }

  /** Judges one score of one key; null while that key calibrates and warmup is `suppress`. */
  apply(key: string, score: number): ThresholdDecision | null {
    assertFiniteScore(score);
    const id = this.stateKey(key);
    let threshold = this.thresholds.get(id);
    if (!threshold) {
      threshold = this.create(id, this.overrides.get(key) ?? this.spec);
      this.thresholds.set(id, threshold);
    }
    const wasCalibrated = threshold.calibrated;
    const result = threshold.update(score);
    if (!wasCalibrated && threshold.calibrated) {
      logger.info(
        { key: id, kind: threshold.kind, threshold: threshold.current },
        'threshold calibrated',
      );
    }
    if (result.verdict === 'warming-up' && this.warmup === 'suppress') return null;
    return { key, score, kind: threshold.kind, ...result };
  }

  /**
   * The reference scores new keys calibrate from (with `calibrate: model`): the current
   * model's scores on held-back normal windows. Keys that already have a threshold keep it.
   */
  useReference(scores: readonly number[] | undefined): void {
    this.reference = scores && scores.length > 0 ? [...scores] : undefined;
  }

  /** A key's fresh threshold, calibrated from the reference scores when there are any. */
  private create(id: string, spec: ThresholdSpec): Threshold {
    const threshold = createThreshold(spec);
    if (this.calibrate === 'model' && this.reference && !threshold.calibrated) {
      try {
        threshold.prime(this.reference);
      } catch (err) {
        // Too few reference scores for this kind: the key calibrates on its own scores.
        logger.warn(
          { key: id, kind: threshold.kind, reason: (err as Error).message },
          'threshold calibrates from the source: the model calibration does not suffice',
        );
        return createThreshold(spec);
      }
    }
    return threshold;
  }

  /** The current threshold of a key, null while it calibrates or before its first score. */
  current(key: string): number | null {
    return this.thresholds.get(this.stateKey(key))?.current ?? null;
  }

  /**
   * Applies a ThresholdCommand (parse it with `parseThresholdCommand` first). A command
   * that would give an unusable spec throws AeError and changes nothing.
   */
  command(cmd: ThresholdCommand): void {
    const all = cmd.key === undefined || cmd.key === SHARED;
    if (cmd.action === 'reset') {
      if (all) this.thresholds.clear();
      else this.thresholds.delete(this.stateKey(cmd.key!));
    } else {
      const current = all ? this.spec : (this.overrides.get(cmd.key!) ?? this.spec);
      const spec = cmd.action === 'set' ? applyParams(current, cmd.params) : cmd.spec;
      checkSpec('threshold command', spec, ErrorCodes.THRESHOLD_COMMAND);
      if (all) {
        this.spec = spec;
        for (const id of [...this.thresholds.keys()]) {
          if (!this.overrides.has(id)) this.thresholds.delete(id);
        }
      } else {
        this.overrides.set(cmd.key!, spec);
        this.thresholds.delete(cmd.key!);
      }
    }
    logger.debug({ command: cmd }, 'threshold command applied');
  }

  /**
   * After a model swap: carries every key's learned threshold over to the new model's error
   * scale (`factor` = new scale / old scale) instead of calibrating again from scratch.
   */
  rescale(factor: number): void {
    for (const t of this.thresholds.values()) t.rescale(factor);
    if (this.reference) this.reference = this.reference.map((s) => s * factor);
  }

  /** The current threshold and kind of every key with state ('*' for the shared one). */
  list(): Array<{ key: string; kind: string; threshold: number | null; calibrated: boolean }> {
    const listed = [...this.thresholds].map(([key, t]) => ({
      key,
      kind: t.kind,
      threshold: t.current,
      calibrated: t.calibrated,
    }));
    // An override shows at once, before its key's next score (a static one with its value).
    for (const [key, spec] of this.overrides) {
      if (this.thresholds.has(key)) continue;
      const t = createThreshold(spec);
      listed.push({ key, kind: t.kind, threshold: t.current, calibrated: t.calibrated });
    }
    return listed.sort((a, b) => a.key.localeCompare(b.key));
  }

  /** A key's own threshold state; null when it has none yet or shares the common one. */
  snapshotKey(key: string): ThresholdState | null {
    if (this.stateKey(key) !== key) return null;
    return this.thresholds.get(key)?.snapshot() ?? null;
  }

  /**
   * Puts back a key's threshold from `snapshotKey` (scaled by `factor` onto the current
   * model's error scale); it continues exactly. Throws when the state does not restore.
   */
  restoreKey(key: string, state: ThresholdState, factor = 1): void {
    if (this.stateKey(key) !== key) return;
    const threshold = restoreThreshold(state);
    if (factor !== 1) threshold.rescale(factor);
    this.thresholds.set(key, threshold);
  }

  /** Forgets a key's threshold (its source went to another detector). */
  forgetKey(key: string): void {
    if (this.stateKey(key) === key) this.thresholds.delete(key);
  }

  snapshot(): RegistryState {
    const thresholds: Record<string, ThresholdState> = {};
    for (const [id, t] of this.thresholds) thresholds[id] = t.snapshot();
    return {
      version: 1,
      spec: this.spec,
      perKey: this.perKey,
      warmup: this.warmup,
      calibrate: this.calibrate,
      overrides: Object.fromEntries(this.overrides),
      thresholds,
    };
  }

  /** A registry that continues exactly where the snapshot was taken. */
  static restore(state: RegistryState): ThresholdRegistry {
    const r = new ThresholdRegistry({
      spec: state.spec,
      perKey: state.perKey,
      warmup: state.warmup,
      ...(state.calibrate ? { calibrate: state.calibrate } : {}),
      overrides: state.overrides,
    });
    for (const [id, t] of Object.entries(state.thresholds))
      r.thresholds.set(id, restoreThreshold(t));
    return r;
  }

  private stateKey(key: string): string {
    return this.perKey || this.overrides.has(key) ? key : SHARED;
  }
}

/**
 * The registry for a pipeline's `threshold:` section.
 *
 * @example
 * const registry = createThresholdRegistry(loadPipeline('pipelines/sensors.yaml').threshold);
 */
export function createThresholdRegistry(
  config: DistributiveOmit<ThresholdConfig, 'control' | 'calibrate'> & {
    calibrate?: 'model' | 'source';
  },
): ThresholdRegistry {
  const { perKey, warmup, overrides, calibrate, ...rest } = config;
  const { control: _control, ...spec } = rest as typeof rest & { control?: unknown };
  return new ThresholdRegistry({
    spec: spec as ThresholdSpec,
    perKey,
    warmup,
    overrides,
    ...(calibrate ? { calibrate } : {}),
  });
}

/** Omit over each member of a union (the registry does not need the control options). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function checkSpec(
  path: string,
  spec: ThresholdSpec,
  code: ErrorCode = ErrorCodes.CONFIG_INVALID,
): void {
  try {
    createThreshold(spec);
  } catch (err) {
    throw new AeError(code, `${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** What judging needs of the threshold registry. */
export interface ScoreJudge {
  /** A decision for the key's score; null while the key calibrates with warm-up suppressed. */
  apply(key: string, score: number): ThresholdDecision | null;
  /** Told the model version of each batch before it is judged (thresholds follow a swap). */
  useModel?(version: string): void;
  /** How much larger model `to`'s raw scores run than model `from`'s; undefined: unknown. */
  scoreRatio?(from: string, to: string): number | undefined;
  /** A model version's raw scores on held-back normal windows at training, if stored. */
  referenceScores?(version: string): readonly number[] | undefined;
  /** The same windows' scores of their newest readings alone, if stored. */
  referenceNewest?(version: string): readonly number[] | undefined;
  /** The sd of the version's scores over all its training windows, if stored. */
  referenceSpread?(version: string): ScoreSpread | undefined;
}
