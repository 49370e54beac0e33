import { logger } from '../observability/logger';
import type { ThresholdDecision, ThresholdRegistry, ScoreJudge } from './threshold-registry';
import type { ScoreSpread } from '../registry/model-store';
import type { ThresholdState } from './threshold';

/**
 * The threshold registry as the detector judges with it across model versions. Each
 * version's error scale is its validation loss (the mean squared reconstruction error on
 * held-back normal data); when the first batch scored by a new version arrives, every
 * learned threshold is carried over by the ratio of the two scales (its square root for
 * the `mae` score) instead of calibrating again from scratch. Versions without a known
 * loss keep the thresholds as they are. When the judged score is a scale-free transform of the
 * model's (the likelihood rule), neither the calibration nor the error scale applies to the
 * thresholds: new sources calibrate on their own judged scores and thresholds stay as they are
 * on a swap; the raw scores the rule keeps are carried over instead ({@link scoreRatio}).
 *
 * @example
 * const judge = new ModelAwareJudge(registry, 'mse');
 * judge.addModel('v000001', 0.012);
 * source.pipe(..., applyThresholds(() => judge));
 */
/** A model's scores on held-back normal windows (and those of their newest readings). */
interface ModelCalibration {
  scores: readonly number[];
  newest?: readonly number[];
  spread?: ScoreSpread;
}

/** The parts of a pipeline file that decide the scale of its judged scores. */
export interface JudgedPipeline {
  model: { error: 'mse' | 'mae' };
  rules?: { likelihood?: unknown } | undefined;
}

export class ModelAwareJudge implements ScoreJudge {
  private readonly scales = new Map<string, number>();
  private readonly calibrations = new Map<string, ModelCalibration>();
  private version: string | undefined;

  constructor(
    private readonly registry: ThresholdRegistry,
    private readonly error: 'mse' | 'mae' | 'scale-free',
    private readonly onRescale?: (from: string, to: string, factor: number) => void,
    /** The model's own error, when `error` is scale-free (for {@link scoreRatio}). */
    private readonly modelError: 'mse' | 'mae' = error === 'mae' ? 'mae' : 'mse',
  ) {}

  /** The scale of a pipeline's judged scores: the model's error, or scale-free under a likelihood rule. */
  static scaleOf(pipeline: JudgedPipeline): 'mse' | 'mae' | 'scale-free' {
    return pipeline.rules?.likelihood ? 'scale-free' : pipeline.model.error;
  }

  /** The judge of a pipeline's scores (see {@link ModelAwareJudge.scaleOf}). */
  static of(
    registry: ThresholdRegistry,
    pipeline: JudgedPipeline,
    onRescale?: (from: string, to: string, factor: number) => void,
  ): ModelAwareJudge {
    return new ModelAwareJudge(
      registry,
      ModelAwareJudge.scaleOf(pipeline),
      onRescale,
      pipeline.model.error,
    );
  }

  /** Whether the judged scores are on the model's scale (its calibration applies to them). */
  get modelScale(): boolean {
    return this.error !== 'scale-free';
  }

  /**
   * Makes a model version's error scale known, and the scores it gave held-back normal
   * windows at training, from which new sources calibrate (call before its first batch).
   */
  addModel(
    version: string,
    validationLoss: number | undefined,
    calibration?: ModelCalibration,
  ): void {
    if (validationLoss !== undefined && validationLoss > 0 && Number.isFinite(validationLoss))
      this.scales.set(version, validationLoss);
    if (calibration) this.calibrations.set(version, calibration);
  }

  useModel(version: string): void {
    const previous = this.version;
    this.version = version;
    if (previous === version || !this.modelScale) return;
    if (previous === undefined) {
      this.registry.useReference(this.referenceScores(version));
      return;
    }
    // New sources calibrate from the new version's scores (or the old ones, rescaled below).
    const calibration = this.referenceScores(version);
    const factor = this.factor(previous, version);
    if (factor === undefined) {
      if (calibration) this.registry.useReference(calibration);
      logger.warn(
        { from: previous, to: version },
        'thresholds kept as they are: a model version has no validation loss to scale by',
      );
      return;
    }
    this.registry.rescale(factor);
    if (calibration) this.registry.useReference(calibration);
    logger.info(
      { from: previous, to: version, factor },
      'thresholds carried over to the new model',
    );
    this.onRescale?.(previous, version, factor);
  }

  /** A key's threshold state as the changelog keeps it (see ThresholdRegistry.snapshotKey). */
  snapshotKey(key: string): ThresholdState | null {
    return this.registry.snapshotKey(key);
  }

  /**
   * Puts back a key's threshold learned on model `from`, carried over to the version in
   * use (`current` until the first batch names it) as a model swap would.
   */
  restoreKey(key: string, state: ThresholdState, from: string, current: string): void {
    const to = this.version ?? current;
    this.registry.restoreKey(key, state, from === to ? 1 : (this.factor(from, to) ?? 1));
  }

  /** new scale / old scale of two versions' scores; undefined when a loss is unknown. */
  private factor(from: string, to: string): number | undefined {
    const a = this.scales.get(from);
    const b = this.scales.get(to);
    if (a === undefined || b === undefined) return undefined;
    return this.modelError === 'mae' ? Math.sqrt(b / a) : b / a;
  }

  /** The raw scores a model version gave held-back normal windows at training, if stored. */
  referenceScores(version: string): readonly number[] | undefined {
    return this.calibrations.get(version)?.scores;
  }

  /** The same windows' scores of their newest readings alone, if stored. */
  referenceNewest(version: string): readonly number[] | undefined {
    return this.calibrations.get(version)?.newest;
  }

  /** The sd of the version's scores over all its training windows, if stored. */
  referenceSpread(version: string): ScoreSpread | undefined {
    return this.calibrations.get(version)?.spread;
  }

  /**
   * How much larger model `to`'s raw scores run than model `from`'s (the same ratio a swap
   * rescales thresholds by), whatever the judged scale; undefined when a loss is unknown.
   */
  scoreRatio(from: string, to: string): number | undefined {
    return from === to ? 1 : this.factor(from, to);
  }

  forgetKey(key: string): void {
    this.registry.forgetKey(key);
  }

  apply(key: string, score: number): ThresholdDecision | null {
    return this.registry.apply(key, score);
  }
}
