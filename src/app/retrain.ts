import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { createAvroCodec } from '../codecs/avro-codec';
import { createCodec } from '../codecs/codec-factory';
import type { Frame, ModelRelease } from '../core/records';
import type { PipelineConfig } from '../config/pipeline-schema';
import { messageOf } from '../core/errors';
import { createKafka } from '../connectors/kafka/kafka-client';
import { kafkaSinkFrom, kafkaSourceFrom } from '../connectors/connector-factory';
import { ensureReleaseTopic } from '../registry/release-source';
import { activate, openModel, versionLabel, type ActiveModel } from '../inference/active-model';
import { architectureOf } from '../training/architecture';
import { checkCandidate, type CandidateCheck, type RecentFrame } from '../retrain/candidate-check';
import { DriftMonitor, type DriftState } from '../retrain/drift';
import { followReleases } from '../inference/follow-releases';
import { packRelease, versionNumber } from '../registry/model-release';
import { ModelStore } from '../registry/model-store';
import { normalize } from '../training/normalization';
import { Reservoir } from '../retrain/reservoir';
import { trainAndStore } from '../registry/train-and-store';
import { logger } from '../observability/logger';
import { counter, gauge } from '../observability/metrics';
import { Health, startHealthServer } from '../observability/health-server';
import type { Judged, BatchSink } from '../core/model-input';
import { seededRandom } from '../core/seeded-random';
import { createThresholdRegistry } from '../thresholds/threshold-registry';
import { detectFlow } from '../operators/detect-flow';

/** What started a training run. */
export type TrainingTrigger = 'frames' | 'schedule' | 'drift' | 'manual';

/** The outcome of one training run, as logged and handed to `onTraining`. */
export interface TrainingReport {
  trigger: TrainingTrigger;
  /** Why it was triggered, in words. */
  why: string;
  outcome: 'published' | 'rejected' | 'skipped' | 'failed';
  /** Version label of the published release. */
  version?: string;
  /** The model the candidate was compared with (and warm-started from). */
  base: string;
  samples: { train: number; heldBack: number; recent: number };
  /** Why it was rejected, skipped or failed. */
  reasons: string[];
  check?: CandidateCheck;
  /** Validation loss of the training run (normalized MSE, the release's metrics.loss). */
  loss?: number;
  epochs?: number;
  seconds: number;
}

export interface RetrainOptions {
  /** Port of /metrics, /healthz, /readyz; 0 picks a free one, null (default) turns it off. */
  metricsPort?: number | null;
  /** Called after every training run. */
  onTraining?: (report: TrainingReport) => void;
}

export interface TrainRequest {
  /** Recorded as the trigger; default 'manual'. */
  trigger?: TrainingTrigger;
  /**
   * Train on these raw frames instead of the reservoir (validation still uses the
   * reservoir's held-back frames and the recent frames, which stay clean).
   */
  frames?: readonly Float32Array[];
}

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

export interface Retrainer {
  readonly done: Promise<void>;
  /** The model the retrainer scores with (the current release). */
  readonly model: ActiveModel;
  readonly metricsPort: number | null;
  stats(): RetrainerStats;
  /** Runs one training run now (after the one in progress, if any). */
  train(request?: TrainRequest): Promise<TrainingReport>;
  stop(): Promise<void>;
}

/** A bounded FIFO of the newest valid frames with the current model's verdicts. */
class RecentFrames {
  private readonly items: RecentFrame[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}
  push(frame: RecentFrame): void {
    if (this.items.length < this.capacity) this.items.push(frame);
    else this.items[this.next] = frame;
    this.next = (this.next + 1) % this.capacity;
  }
  /** Oldest first. */
  all(): RecentFrame[] {
    return this.items.length < this.capacity
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
  get size(): number {
    return this.items.length;
  }
  clear(): void {
    this.items.length = 0;
    this.next = 0;
  }
}

/** `count` items of `from`, drawn without replacement with `random`. */
function sample<T>(from: readonly T[], count: number, random: () => number): T[] {
  const copy = [...from];
  const n = Math.min(count, copy.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, n);
}

/**
 * `aestream retrain`: the second pipeline. Reads the input topic with a consumer group of
 * its own, scores every frame with the current release through the detector's own flow
 * (same decoding, validation, windows, model and thresholds; no events, no scores, no
 * dead letters written), and keeps the frames judged normal in a bounded recency-weighted
 * reservoir. A trigger (normal-frame count, wall-clock schedule, or drift of the score
 * distribution) trains a candidate warm-started from the current weights; a candidate
 * that passes the validation rules (src/retrain/candidate-check.ts) is stored as the next
 * model version and published as a ModelRelease on the releases topic, which running
 * detectors follow. A rejected candidate is logged with its reasons, counted and
 * quarantined, never published.
 *
 * @example const retrainer = await startRetrainer(loadPipeline('pipelines/sensors.yaml')); await retrainer.done;
 */
export async function startRetrainer(
  config: Readonly<PipelineConfig>,
  options: RetrainOptions = {},
): Promise<Retrainer> {
  const pipeline = config.name;
  const rc = config.retrain;
  const health = new Health();
  health.set('model', false);
  health.set('consumer', false);
  const server =
    options.metricsPort === undefined || options.metricsPort === null
      ? null
      : await startHealthServer(health, options.metricsPort);
  const opened: Array<() => Promise<unknown>> = [];
  if (server) opened.push(() => server.close());
  const failedStart = async (err: unknown): Promise<never> => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw err;
  };

  const trainings = counter(
    'aestream_retrain_runs_total',
    'Training runs of the retrainer, by trigger and outcome.',
    ['pipeline', 'trigger', 'outcome'],
  );
  const rejections = counter(
    'aestream_retrain_rejected_total',
    'Rejected retraining candidates, by the rule that rejected them.',
    ['pipeline', 'rule'],
  );
  const reservoirGauge = gauge('aestream_retrain_reservoir_frames', 'Normal frames kept.', [
    'pipeline',
  ]);

  let current = await openModel(config.frame, config.model).catch(failedStart);
  opened.push(() => current.dispose());
  health.set('model', true);
  const store = new ModelStore(config.model.store);
  const staging = new ModelStore(join(config.model.store, '.candidates'));
  const expect = architectureOf(config.frame, config.model);

  const kafkaConfig = {
    ...config.input.kafka,
    group: rc.group ?? `${config.input.kafka.group}.retrain`,
  };
  const kafka = createKafka(kafkaConfig);
  const releases = kafkaSinkFrom(
    kafkaConfig.brokers,
    { topic: config.model.releases.topic },
    kafka,
  );
  opened.push(() => releases.disconnect());
  await ensureReleaseTopic(kafka, config.model.releases.topic).catch(failedStart);
  await releases.connect().catch(failedStart);
  const codec = createCodec<Frame>({
    schema: config.input.schema,
    topic: kafkaConfig.topic,
    ...(config.input.registry ? { registry: config.input.registry } : {}),
  });
  await codec.ready().catch(failedStart);
  const releaseCodec = createAvroCodec<ModelRelease>('ModelRelease');

  const reservoir = new Reservoir({
    capacity: rc.reservoir,
    halfLife: rc.halfLife ?? rc.reservoir,
    heldBack: rc.validation,
    seed: rc.seed,
  });
  const recent = new RecentFrames(rc.drift.window);
  const drift = new DriftMonitor(rc.drift);
  let registry = createThresholdRegistry(config.threshold);
  const stats = { scored: 0, normal: 0, sinceTraining: 0, dlq: 0 };
  const random = seededRandom(rc.seed + 1);
  const retired: ActiveModel[] = [];
  let busy: Promise<TrainingReport> | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let pending = false;

  /** A new model is current: its scores need their own thresholds and drift reference. */
  const install = (next: ActiveModel, why: string) => {
    const previous = current;
    current = next;
    retired.push(previous);
    registry = createThresholdRegistry(config.threshold);
    drift.reset();
    recent.clear();
    stats.sinceTraining = 0;
    logger.info(
      { pipeline, from: previous.version, to: next.version, why },
      'retrainer model swapped',
    );
  };
  const disposeRetired = async () => {
    if (busy) return; // a training run may still use the weights it started from
    for (const m of retired.splice(0)) await m.dispose().catch(() => undefined);
  };

  const follow = config.model.releases.follow
    ? followReleases(
        config,
        kafka,
        () => current,
        (next) => {
          install(next, 'release followed');
          void disposeRetired();
        },
      )
    : null;

  // Triggers that fire while a run is queued or in progress are dropped, not queued.
  const trigger = (kind: TrainingTrigger, why: string) => {
    if (pending) return;
    pending = true;
    if (kind === 'frames') stats.sinceTraining = 0;
    void runExclusive({ trigger: kind }, why).finally(() => {
      pending = false;
    });
  };

  const sink: BatchSink<Frame> = {
    name: 'reservoir',
    async write(batch: readonly Judged<Frame>[]) {
      for (const judged of batch) {
        if (judged.partial) continue;
        stats.scored++;
        // Kept for long: a copy, since inputs may be views into blocks shared by many
        // frames (image pixels), which a view would keep alive whole; as floats, which
        // training takes (RAW_U8 image inputs are the frame's bytes).
        const data = new Float32Array(judged.data);
        recent.push({ data, anomaly: judged.verdict === 'anomaly' });
        if (judged.verdict === 'normal') {
          reservoir.add(data);
          stats.normal++;
          stats.sinceTraining++;
        }
        if (rc.trigger.drift) {
          const state = drift.add(judged.score);
          if (state.kind === 'drift') {
            trigger(
              'drift',
              `score distribution drifted: KS D=${state.ks.d.toFixed(3)} > ${state.ks.critical.toFixed(3)} (alpha ${rc.drift.alpha}) on ${state.run} consecutive checks`,
            );
          }
        }
      }
      reservoirGauge.set({ pipeline }, reservoir.size);
      const every = rc.trigger.everyFrames;
      if (every !== undefined && stats.sinceTraining >= every) {
        trigger('frames', `${stats.sinceTraining} normal frames since the last training`);
      }
    },
  };

  const schedule =
    rc.trigger.everyMinutes !== undefined
      ? setInterval(
          () => trigger('schedule', `schedule: every ${rc.trigger.everyMinutes} min`),
          rc.trigger.everyMinutes * 60_000,
        )
      : null;
  schedule?.unref();

  /** The training set and the held-back set of a run. */
  const assemble = (request: TrainRequest) => {
    if (request.frames) {
      return { train: [...request.frames], heldBack: reservoir.heldBack(), recent: recent.all() };
    }
    if (request.trigger !== 'drift') {
      return { train: reservoir.training(), heldBack: reservoir.heldBack(), recent: recent.all() };
    }
    // Drift: the frames judged normal by the current model are the old regime. Train on
    // the recent regime: every valid frame scored since the first rejecting check of the
    // sustained run, whatever its verdict (all of them came after the change), plus a
    // share from the reservoir; hold back the same share of each part. The candidate is
    // checked against the same recent frames (not the ones from before the change).
    const since = rc.drift.sustain * rc.drift.checkEvery;
    const newRegime = recent.all().slice(-since);
    const frames = newRegime.map((r) => r.data);
    const recentTrain: Float32Array[] = [];
    const recentHeld: Float32Array[] = [];
    for (const f of frames) (random() < rc.validation ? recentHeld : recentTrain).push(f);
    const s = rc.drift.reservoirShare;
    const fromRes = (n: number) => Math.round((n * s) / (1 - s));
    return {
      train: [...recentTrain, ...sample(reservoir.training(), fromRes(recentTrain.length), random)],
      heldBack: [
        ...recentHeld,
        ...sample(reservoir.heldBack(), fromRes(recentHeld.length), random),
      ],
      recent: newRegime,
    };
  };

  const runTraining = async (request: TrainRequest, why: string): Promise<TrainingReport> => {
    const started = Date.now();
    const kind = request.trigger ?? 'manual';
    const base = current;
    const { train, heldBack, recent: recentFrames } = assemble(request);
    const report: TrainingReport = {
      trigger: kind,
      why,
      outcome: 'skipped',
      base: base.version,
      samples: { train: train.length, heldBack: heldBack.length, recent: recentFrames.length },
      reasons: [],
      seconds: 0,
    };
    const finish = (r: TrainingReport): TrainingReport => {
      r.seconds = (Date.now() - started) / 1000;
      trainings.inc({ pipeline, trigger: kind, outcome: r.outcome });
      const fields = {
        pipeline,
        trigger: kind,
        why,
        base: base.version,
        samples: r.samples,
        outcome: r.outcome,
        ...(r.version ? { version: r.version } : {}),
        ...(r.reasons.length ? { reasons: r.reasons } : {}),
        ...(r.check ? { heldBack: r.check.heldBack, recent: r.check.recent } : {}),
        ...(r.loss !== undefined ? { loss: r.loss } : {}),
        seconds: r.seconds,
      };
      if (r.outcome === 'published') logger.info(fields, 'retraining published a release');
      else logger.warn(fields, `retraining ${r.outcome}`);
      options.onTraining?.(r);
      return r;
    };
    if (train.length < rc.minSamples) {
      report.reasons.push(`${train.length} training frames < retrain.minSamples ${rc.minSamples}`);
      return finish(report);
    }
    if (heldBack.length === 0) {
      report.reasons.push('no held-back frames to validate on yet');
      return finish(report);
    }
    logger.info(
      { pipeline, trigger: kind, why, base: base.version, samples: report.samples },
      'retraining',
    );
    const size = (train[0] as Float32Array).length;
    const raw = new Float32Array(train.length * size);
    train.forEach((f, i) => raw.set(f, i * size));
    let candidate: ActiveModel | null = null;
    let staged: number | null = null;
    try {
      const trained = await trainAndStore(
        config,
        { raw, count: train.length, source: `retrain:${kind}:${config.input.kafka.topic}` },
        {
          store: staging.dir,
          epochs: rc.epochs,
          seed: config.model.train.seed,
          ...(rc.warmStart ? { warmFrom: base.stored.autoencoder } : {}),
        },
      );
      staged = trained.version;
      report.loss = trained.result.valLoss;
      report.epochs = trained.result.epochs;
      candidate = await activate(
        await staging.load({ version: trained.version, expect }),
        config.model,
        base.backend,
      );
      const reconstructor = (m: ActiveModel) => ({
        reconstruct: async (x: Float32Array, n: number) =>
          (await m.scorer.scoreWithOutputs(x, n)).reconstruction,
      });
      const norm = candidate.stored.metadata.normalization;
      const check = await checkCandidate({
        current: reconstructor(base),
        candidate: reconstructor(candidate),
        heldBack,
        recent: recentFrames,
        scale: (x) => normalize(norm, x),
        accept: rc.accept,
      });
      report.check = check;
      await candidate.dispose();
      candidate = null;
      if (!check.accepted) {
        report.outcome = 'rejected';
        report.reasons.push(...check.reasons);
        for (const reason of check.reasons)
          rejections.inc({
            pipeline,
            rule: reason.startsWith('would flag') ? 'recent-rate' : 'held-back',
          });
        // Kept with its reasons for a post-mortem; never in the store, never published.
        const kept = await staging.quarantine(trained.version).catch(() => null);
        if (kept) {
          await fs
            .writeFile(
              join(kept, 'rejected.json'),
              JSON.stringify(
                { trigger: kind, why, base: base.version, reasons: check.reasons, check },
                null,
                2,
              ) + '\n',
            )
            .catch(() => undefined);
        }
        staged = null;
        return finish(report);
      }
      // Accepted: it becomes the next version of the pipeline's store, then a release.
      const files = await staging.files(trained.version);
      const next =
        Math.max((await store.versions()).at(-1) ?? 0, versionNumber(current.version)) + 1;
      const metadata = JSON.parse(
        Buffer.from(files['metadata.json'] as Uint8Array).toString('utf8'),
      ) as {
        version: number;
        validation: Record<string, number>;
      };
      metadata.version = next;
      metadata.validation = {
        ...metadata.validation,
        heldBackError: check.heldBack.candidate,
        heldBackErrorBase: check.heldBack.current,
        recentFlagRate: check.recent.candidateRate,
      };
      files['metadata.json'] = Buffer.from(JSON.stringify(metadata, null, 2) + '\n');
      await store.install(next, files);
      await fs.rm(staging.pathOf(trained.version), { recursive: true, force: true });
      staged = null;
      const release = await packRelease(store, next, pipeline);
      await releases.send({
        key: pipeline,
        value: releaseCodec.encode(release),
        headers: releaseCodec.headers,
      });
      report.outcome = 'published';
      report.version = versionLabel(next);
      install(
        await activate(await store.load({ version: next, expect }), config.model, base.backend),
        'published',
      );
      return finish(report);
    } catch (err) {
      report.outcome = 'failed';
      report.reasons.push(messageOf(err));
      if (staged !== null) await staging.quarantine(staged).catch(() => undefined);
      await candidate?.dispose().catch(() => undefined);
      return finish(report);
    }
  };

  const runExclusive = (request: TrainRequest, why: string): Promise<TrainingReport> => {
    const run = queue.then(async () => {
      busy = runTraining(request, why);
      try {
        return await busy;
      } finally {
        busy = null;
        await disposeRetired();
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };

  const source = kafkaSourceFrom(kafkaConfig, kafka);
  const flow = source.records().pipe(
    detectFlow({
      config,
      codec,
      // The detector dead-letters bad records; the retrainer only counts that it skipped them.
      dlq: {
        send: async () => {
          stats.dlq++;
        },
      },
      model: () => current,
      judge: () => registry,
      sinks: [sink],
    }),
  );
  health.set('consumer', true);
  const removeSignals = source.handleSignals();
  logger.info(
    {
      pipeline,
      topic: kafkaConfig.topic,
      group: kafkaConfig.group,
      model: current.version,
      triggers: rc.trigger,
      releases: config.model.releases.topic,
    },
    'retrainer started',
  );

  const done = lastValueFrom(flow, { defaultValue: [] })
    .then(
      () => undefined,
      (err: unknown) => {
        health.fail(messageOf(err));
        throw err;
      },
    )
    .finally(async () => {
      removeSignals();
      if (schedule) clearInterval(schedule);
      await source.stop().catch(() => undefined);
      await queue;
      await follow?.stop();
      await releases.disconnect().catch(() => undefined);
      for (const m of [...retired.splice(0), current]) await m.dispose().catch(() => undefined);
      await server?.close();
      logger.info({ pipeline }, 'retrainer stopped');
    });

  return {
    done,
    get model() {
      return current;
    },
    metricsPort: server?.port ?? null,
    stats: () => ({
      scored: stats.scored,
      normal: stats.normal,
      sinceTraining: stats.sinceTraining,
      reservoir: reservoir.size,
      heldBack: reservoir.heldBack().length,
      recent: recent.size,
      drift: drift.state,
      training: busy !== null,
    }),
    train: (request = {}) =>
      runExclusive(request, request.frames ? 'frames handed in' : 'requested'),
    async stop() {
      await source.stop();
      await done.catch(() => undefined);
    },
  };
}
