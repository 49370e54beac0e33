import { createAvroCodec } from '../codecs/avro-codec';
import type { ModelRelease } from '../core/records';
import type { CloseStack } from '../core/lifecycle';
import type { PipelineConfig } from '../config/pipeline-schema';
import { createKafka } from '../connectors/kafka/kafka-client';
import { kafkaSinkFrom, kafkaSourceFrom } from '../connectors/connector-factory';
import { ensureReleaseTopic } from '../registry/release-source';
import { openModel, type ActiveModel } from '../inference/active-model';
import { ModelSlot } from '../inference/model-slot';
import { followReleases } from '../inference/follow-releases';
import { logger } from '../observability/logger';
import { Health } from '../observability/health-server';
import { Retraining, type RetrainerStats } from '../retrain/retraining';
import { storeTargets, type TrainingReport } from '../retrain/training-run';
import type { TrainRequest } from '../retrain/training-set';
import { detectFlow } from '../operators/detect-flow';
import { closeStackOf, connectOn, healthServerOn, inputCodec, runToEnd } from './wiring';

export type { TrainingReport } from '../retrain/training-run';
export type { TrainingTrigger, TrainRequest } from '../retrain/training-set';
export type { RetrainerStats } from '../retrain/retraining';

export interface RetrainOptions {
  /** Port of /metrics, /healthz, /readyz; 0 picks a free one, null (default) turns it off. */
  metricsPort?: number | null;
  /** Called after every training run. */
  onTraining?: (report: TrainingReport) => void;
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

/** A stop waits this long for a training run in progress (it holds the models' weights). */
const TRAINING_RUN_DEADLINE_MS = 3_600_000;

/**
 * `aestream retrain`: the second pipeline. Reads the input topic with a consumer group of
 * its own, scores every frame with the current release through the detector's own flow
 * (same decoding, validation, windows, model and thresholds; no events, no scores, no
 * dead letters written), and keeps the frames judged normal for the retraining policy
 * (src/retrain/retraining.ts). A candidate that passes the validation rules
 * (src/retrain/candidate-check.ts) is stored as the next model version and published as a
 * ModelRelease on the releases topic, which running detectors follow. A rejected candidate
 * is logged with its reasons, counted and quarantined, never published.
 *
 * @example const retrainer = await startRetrainer(loadPipeline('pipelines/sensors.yaml')); await retrainer.done;
 */
export async function startRetrainer(
  config: Readonly<PipelineConfig>,
  options: RetrainOptions = {},
): Promise<Retrainer> {
  const stack = closeStackOf(config.name);
  return stack.startOrClose(() => wireRetrainer(config, options, stack));
}

async function wireRetrainer(
  config: Readonly<PipelineConfig>,
  options: RetrainOptions,
  stack: CloseStack,
): Promise<Retrainer> {
  const pipeline = config.name;
  const rc = config.retrain;
  const health = new Health();
  health.set('model', false);
  health.set('consumer', false);
  const server = await healthServerOn(stack, health, options.metricsPort ?? null);
  const models = new ModelSlot(await openModel(config.frame, config.model));
  stack.defer('models', () => models.close());
  health.set('model', true);

  const kafkaConfig = {
    ...config.input.kafka,
    group: rc.group ?? `${config.input.kafka.group}.retrain`,
  };
  const kafka = createKafka(kafkaConfig);
  const publish = await releasePublisher(config, kafka, stack);
  const codec = await inputCodec(config);
  const retraining = new Retraining({
    config,
    models,
    run: storeTargets(config.model.store, pipeline, publish),
    ...(options.onTraining ? { onTraining: options.onTraining } : {}),
  });
  stack.defer('training runs', () => retraining.drained(), TRAINING_RUN_DEADLINE_MS);
  if (config.model.releases.follow) {
    const follow = followReleases(
      config,
      kafka,
      () => models.current,
      (next) => retraining.install(next, 'release followed'),
    );
    stack.defer('model releases', () => follow.stop());
  }
  scheduleTraining(config, retraining, stack);

  const source = kafkaSourceFrom(kafkaConfig, kafka);
  const flow = source.records().pipe(
    detectFlow({
      config,
      codec,
      // The detector dead-letters bad records; the retrainer skips them.
      dlq: { send: async () => undefined },
      model: () => models.current,
      judge: () => retraining.judge,
      sinks: [retraining.sink],
    }),
  );
  stack.defer('kafka consumer', () => source.stop(), kafkaConfig.shutdownMs + 10_000);
  health.set('consumer', true);
  stack.defer('signal handlers', source.handleSignals());
  const { topic, group } = kafkaConfig;
  const releases = config.model.releases.topic;
  const [model, triggers] = [models.current.version, rc.trigger];
  logger.info({ pipeline, topic, group, model, triggers, releases }, 'retrainer started');
  const done = runToEnd(flow, health, stack, () => logger.info({ pipeline }, 'retrainer stopped'));
  return {
    done,
    get model() {
      return models.current;
    },
    metricsPort: server?.port ?? null,
    stats: () => retraining.stats(),
    train: (request = {}) =>
      retraining.train(request, request.frames ? 'frames handed in' : 'requested'),
    async stop() {
      await source.stop();
      await done.catch(() => undefined);
    },
  };
}

/** Publishes model releases on the pipeline's releases topic (created when missing). */
async function releasePublisher(
  config: Readonly<PipelineConfig>,
  kafka: ReturnType<typeof createKafka>,
  stack: CloseStack,
): Promise<(release: ModelRelease) => Promise<void>> {
  const topic = config.model.releases.topic;
  const releases = kafkaSinkFrom(config.input.kafka.brokers, { topic }, kafka);
  await ensureReleaseTopic(kafka, topic);
  await connectOn(stack, 'releases producer', releases);
  const codec = createAvroCodec<ModelRelease>('ModelRelease');
  return async (release) => {
    await releases.send({ key: config.name, value: codec.encode(release), headers: codec.headers });
  };
}

/** The wall-clock trigger (`retrain.trigger.everyMinutes`), stopped with the stack. */
function scheduleTraining(
  config: Readonly<PipelineConfig>,
  retraining: Retraining,
  stack: CloseStack,
): void {
  const minutes = config.retrain.trigger.everyMinutes;
  if (minutes === undefined) return;
  const timer = setInterval(
    () => retraining.trigger('schedule', `schedule: every ${minutes} min`),
    minutes * 60_000,
  );
  timer.unref();
  stack.defer('training schedule', () => clearInterval(timer));
}
