import type { Frame } from '../core/records';
import type { BatchSink, Judged } from '../core/model-input';
import { seededRandom } from '../core/seeded-random';
import type { ActiveModel } from '../inference/active-model';
import type { ModelSlot } from '../inference/model-slot';
import { logger } from '../observability/logger';
import { gauge } from '../observability/metrics';
import type { ThresholdConfig } from '../thresholds/threshold-config';
import { createThresholdRegistry } from '../thresholds/threshold-registry';
import { ModelAwareJudge } from '../thresholds/model-aware-judge';
import { DriftMonitor, type DriftState } from './drift';
import { Reservoir } from './reservoir';
import {
  reportTraining,
  runTraining,
  type RetrainSection,
  type TrainingReport,
  type TrainingRun,
} from './training-run';
import { RecentFrames, trainingSet, type TrainingTrigger, type TrainRequest } from './training-set';

export interface RetrainerStats {
  scored: number;
  normal: number;
  sinceTraining: number;
  reservoir: number;
  heldBack: number;
  recent: number;
  drift: DriftState;
  training: boolean;
}

/** What the retraining policy needs besides its config. */
export interface RetrainingOptions {
  config: RetrainSection & { readonly threshold: ThresholdConfig };
  models: ModelSlot;
  /** The stores and the release publishing of a training run. */
  run: Omit<TrainingRun, 'config' | 'current' | 'install'>;
  onTraining?: (report: TrainingReport) => void;
}

/**
 * The retrainer's policy: keeps the frames the current model judges normal in a bounded
 * recency-weighted reservoir, fires a training run on a trigger (normal-frame count,
 * schedule, drift of the score distribution), runs one training at a time, and resets the
 * thresholds and the drift reference whenever another model becomes current.
 *
 * @example const retraining = new Retraining({ config, models, run: { staging, store, publish } }); detectFlow({ ..., judge: () => retraining.judge, sinks: [retraining.sink] });
 */
export class Retraining {
  readonly sink: BatchSink<Frame>;
  private readonly reservoir: Reservoir;
  private readonly recent: RecentFrames;
  private readonly drift: DriftMonitor;
  private readonly thresholds: ModelAwareJudge;
  private readonly counts = { scored: 0, normal: 0, sinceTraining: 0 };
  private readonly random: () => number;
  private busy: Promise<TrainingReport> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private pending = false;

  constructor(private readonly options: RetrainingOptions) {
    const rc = options.config.retrain;
    this.reservoir = new Reservoir({
      capacity: rc.reservoir,
      halfLife: rc.halfLife ?? rc.reservoir,
      heldBack: rc.validation,
      seed: rc.seed,
    });
    this.recent = new RecentFrames(rc.drift.window);
    this.drift = new DriftMonitor(rc.drift);
    // As a detector judges: learned thresholds carry over to a new model's error scale.
    const registry = createThresholdRegistry(options.config.threshold);
    this.thresholds = ModelAwareJudge.of(registry, options.config);
    this.addModel(options.models.current);
    this.random = seededRandom(rc.seed + 1);
    const reservoirGauge = gauge('aestream_retrain_reservoir_frames', 'Normal frames kept.', [
      'pipeline',
    ]);
    this.sink = {
      name: 'reservoir',
      write: async (batch) => {
        for (const judged of batch) this.keep(judged);
        reservoirGauge.set({ pipeline: options.config.name }, this.reservoir.size);
        const every = rc.trigger.everyFrames;
        if (every !== undefined && this.counts.sinceTraining >= every) {
          this.trigger(
            'frames',
            `${this.counts.sinceTraining} normal frames since the last training`,
          );
        }
      },
    };
  }

  /** The thresholds of the current model's scores. */
  get judge(): ModelAwareJudge {
    return this.thresholds;
  }

  stats(): RetrainerStats {
    return {
      ...this.counts,
      reservoir: this.reservoir.size,
      heldBack: this.reservoir.heldBack().length,
      recent: this.recent.size,
      drift: this.drift.state,
      training: this.busy !== null,
    };
  }

  /** A model's error scale and held-back scores, for the carry-over and new sources. */
  private addModel(model: ActiveModel): void {
    const { validation, calibration } = model.stored.metadata;
    this.thresholds.addModel(model.version, validation.loss, calibration);
  }

  /**
   * A new model is current: its scores need their own drift reference; thresholds are
   * carried over to its error scale at its first batch, as in the detectors.
   */
  install(next: ActiveModel, why: string): void {
    this.addModel(next);
    const previous = this.options.models.swap(next);
    this.drift.reset();
    this.recent.clear();
    this.counts.sinceTraining = 0;
    logger.info(
      { pipeline: this.options.config.name, from: previous.version, to: next.version, why },
      'retrainer model swapped',
    );
    void this.disposeRetired();
  }

  /** Starts a run unless one is queued or in progress (then the trigger is dropped). */
  trigger(kind: TrainingTrigger, why: string): void {
    if (this.pending) return;
    this.pending = true;
    if (kind === 'frames') this.counts.sinceTraining = 0;
    void this.train({ trigger: kind }, why).finally(() => {
      this.pending = false;
    });
  }

  /** Runs one training run after the one in progress, if any. */
  train(request: TrainRequest, why: string): Promise<TrainingReport> {
    const run = this.queue.then(async () => {
      this.busy = this.runOnce(request, why);
      try {
        return await this.busy;
      } finally {
        this.busy = null;
        await this.disposeRetired();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves when the queued and running training runs are over. */
  async drained(): Promise<void> {
    await this.queue;
  }

  private keep(judged: Judged<Frame>): void {
    if (judged.partial) return;
    const rc = this.options.config.retrain;
    this.counts.scored++;
    // Kept for long: a copy, since inputs may be views into blocks shared by many frames
    // (image pixels), which a view would keep alive whole; as floats, which training takes.
    const data = new Float32Array(judged.data);
    this.recent.push({ data, anomaly: judged.verdict === 'anomaly' });
    if (judged.verdict === 'normal') {
      this.reservoir.add(data);
      this.counts.normal++;
      this.counts.sinceTraining++;
    }
    if (!rc.trigger.drift) return;
    const state = this.drift.add(judged.score);
    if (state.kind === 'drift') {
      this.trigger(
        'drift',
        `score distribution drifted: KS D=${state.ks.d.toFixed(3)} > ${state.ks.critical.toFixed(3)} (alpha ${rc.drift.alpha}) on ${state.run} consecutive checks`,
      );
    }
  }

  private async runOnce(request: TrainRequest, why: string): Promise<TrainingReport> {
    const started = Date.now();
    const { config, models } = this.options;
    const set = trainingSet(request, this.reservoir, this.recent, config.retrain, this.random);
    const report = await runTraining(
      {
        ...this.options.run,
        config,
        current: () => models.current,
        install: (next) => this.install(next, 'published'),
      },
      request,
      set,
      why,
    );
    report.seconds = (Date.now() - started) / 1000;
    reportTraining(config.name, report);
    this.options.onTraining?.(report);
    return report;
  }

  /** A training run may still use the weights it started from: retired models wait for it. */
  private async disposeRetired(): Promise<void> {
    if (!this.busy) await this.options.models.disposeRetired();
  }
}
