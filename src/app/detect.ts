import type { Kafka } from 'kafkajs';
import { tap } from 'rxjs';
import { createAvroCodec } from '../codecs/avro-codec';
import type { AnomalyEvent, Frame } from '../core/records';
import type { CloseStack } from '../core/lifecycle';
import type { PipelineConfig } from '../config/pipeline-schema';
import { AnomalyEventSink } from '../outputs/anomaly-event-sink';
import { DlqSink } from '../outputs/dlq-sink';
import { consumerLag } from '../connectors/kafka/consumer-lag';
import { createKafka } from '../connectors/kafka/kafka-client';
import type { InfluxSink } from '../connectors/influx/influx-sink';
import { kafkaSourceFrom } from '../connectors/connector-factory';
import { ScoreSink } from '../outputs/score-sink';
import { modelOutputSinks } from '../outputs/model-output-sinks';
import { followReleases } from '../inference/follow-releases';
import { openModel, type ActiveModel } from '../inference/active-model';
import { ModelSlot } from '../inference/model-slot';
import { logger } from '../observability/logger';
import { Health } from '../observability/health-server';
import { detectorMetrics } from '../observability/metrics';
import { startPipelineReporter } from '../observability/pipeline-reporter';
import type { Judged, BatchSink } from '../core/model-input';
import { followCommands } from '../thresholds/follow-commands';
import { ModelAwareJudge } from '../thresholds/model-aware-judge';
import { createThresholdRegistry, type ThresholdRegistry } from '../thresholds/threshold-registry';
import { detectFlow } from '../operators/detect-flow';
import { openDetectorState } from './detect-state';
import { warmUp } from '../operators/warm-up';
import {
  closeStackOf,
  connectOn,
  healthServerOn,
  inputCodec,
  openOutputClients,
  runToEnd,
  watchSinks,
} from './wiring';

export interface DetectOptions {
  /** Port of /metrics, /healthz, /readyz; 0 picks a free one, null turns the server off. */
  metricsPort?: number | null;
  /** Model version to start with (default: the newest in the store). */
  modelVersion?: number;
  /** Called with each batch once every sink acked it (the demo draws its report from these). */
  onScored?: (batch: readonly Judged<Frame>[]) => void;
  /** Called for each anomaly event as it is handed to the anomaly topic. */
  onEvent?: (event: AnomalyEvent) => void;
  /** How often the pipeline's own figures go to InfluxDB's `pipeline` measurement (ms). */
  reportIntervalMs?: number;
  /** Longest a graceful stop waits for in-flight frames (ms). */
  shutdownMs?: number;
  /** How long a sink may fail before /readyz answers not-ready (ms, default 30 s). */
  readyGraceMs?: number;
}

export interface Detector {
  /** Resolves when the detector has stopped (after stop(), a signal, or a fatal error). */
  readonly done: Promise<void>;
  /** The model in use now (changes when a newer release is swapped in). */
  readonly model: ActiveModel;
  readonly metricsPort: number | null;
  /** Stops gracefully: no more fetching, in-flight frames drained and committed. */
  stop(): Promise<void>;
}

/** A swapped-out model may still be scoring a batch (milliseconds): it is freed this much later. */
const RETIRED_MODEL_GRACE_MS = 60_000;

type Metrics = ReturnType<typeof detectorMetrics>;

/**
 * `aestream detect`: the pipeline's Kafka consumer-group member. Loads the newest model
 * (refuses to start without one), joins the group, and runs the detector flow from the
 * input topic to the anomaly topic, InfluxDB and the dead-letter topic until stopped.
 *
 * @example const detector = await startDetector(loadPipeline('pipelines/sensors.yaml')); await detector.done;
 */
export async function startDetector(
  config: Readonly<PipelineConfig>,
  options: DetectOptions = {},
): Promise<Detector> {
  const stack = closeStackOf(config.name);
  return stack.startOrClose(() => wireDetector(config, options, stack));
}

async function wireDetector(
  config: Readonly<PipelineConfig>,
  options: DetectOptions,
  stack: CloseStack,
): Promise<Detector> {
  const pipeline = config.name;
  const health = new Health();
  health.set('model', false);
  health.set('consumer', false);
  const metrics = detectorMetrics();
  const registry = createThresholdRegistry(config.threshold);
  const shown: { models?: ModelSlot } = {};
  const server = await healthServerOn(
    stack,
    health,
    options.metricsPort === null ? null : (options.metricsPort ?? 9464),
    // What `aestream threshold show` prints.
    {
      '/thresholds': () => ({
        pipeline,
        model: shown.models?.current.version ?? null,
        thresholds: registry.list(),
      }),
    },
  );
  const models = await openDetectorModel(config, options.modelVersion, metrics, stack);
  shown.models = models;
  health.set('model', true);

  const kafka = createKafka(config.input.kafka);
  const outputs = await openOutputs(config, kafka, options, health, stack);
  const judge = followModelsAndCommands(config, kafka, models, registry, metrics, stack);
  await reportLag(config, kafka, metrics, outputs.influx, models, options.reportIntervalMs, stack);

  const state = await openDetectorState(config, kafka, { judge, ...outputs }, models, stack);
  await warmDetector(config, outputs.codec, models);
  const source = kafkaSourceFrom(
    options.shutdownMs !== undefined
      ? { ...config.input.kafka, shutdownMs: options.shutdownMs }
      : config.input.kafka,
    kafka,
    state?.hooks,
  );
  const flow = source.records().pipe(
    tap({ subscribe: () => health.set('consumer', true) }),
    detectFlow({
      config,
      codec: outputs.codec,
      dlq: outputs.dlq,
      model: () => models.current,
      judge: () => judge,
      sinks: outputs.sinks,
      metrics,
      ...(state ? { state: state.states } : {}),
    }),
    tap((batch) => options.onScored?.(batch)),
  );
  stack.defer(
    'kafka consumer',
    () => source.stop(),
    (options.shutdownMs ?? config.input.kafka.shutdownMs) + 10_000,
  );
  stack.defer('signal handlers', source.handleSignals());
  const { topic, group } = config.input.kafka;
  const metricsPort = server?.port ?? null;
  logger.info({ pipeline, topic, group, metricsPort }, 'detector started');
  const stopped = () => logger.info({ pipeline }, 'detector stopped');
  const done = runToEnd(flow, health, stack, stopped, source);
  return {
    done,
    get model() {
      return models.current;
    },
    metricsPort,
    async stop() {
      await source.stop();
      await done.catch(() => undefined);
    },
  };
}

/**
 * Compiles the hot path and runs the engine on synthetic frames before the first real one
 * (the first seconds after a start ran late otherwise); with a threshold registry of its
 * own, so the synthetic scores teach the real thresholds nothing.
 */
async function warmDetector(
  config: Readonly<PipelineConfig>,
  codec: Awaited<ReturnType<typeof openOutputs>>['codec'],
  models: ModelSlot,
): Promise<void> {
  const scratch = createThresholdRegistry(config.threshold);
  const warm = await warmUp({ config, codec, model: () => models.current, judge: () => scratch });
  logger.info(
    { pipeline: config.name, frames: warm.frames, ms: Math.round(warm.ms) },
    'detector warmed up',
  );
}

/**
 * The judge of the models' scores, following the pipeline's model releases (each newer
 * release swapped in) and threshold commands when the pipeline asks for them.
 */
function followModelsAndCommands(
  config: Readonly<PipelineConfig>,
  kafka: Kafka,
  models: ModelSlot,
  registry: ThresholdRegistry,
  metrics: Metrics,
  stack: CloseStack,
): ModelAwareJudge {
  const pipeline = config.name;
  const judge = ModelAwareJudge.of(registry, config);
  const { metadata } = models.current.stored;
  judge.addModel(models.current.version, metadata.validation.loss, metadata.calibration);
  if (config.model.releases.follow) {
    const follow = followReleases(
      config,
      kafka,
      () => models.current,
      (next) => {
        const { validation, calibration } = next.stored.metadata;
        judge.addModel(next.version, validation.loss, calibration);
        // Read once per batch by inferBatch: the swap lands between batches.
        const previous = models.swap(next, RETIRED_MODEL_GRACE_MS);
        showModel(metrics, pipeline, next, { replacing: true });
        logger.info({ pipeline, from: previous.version, to: next.version }, 'model swapped');
      },
    );
    stack.defer('model releases', () => follow.stop());
  }
  if (config.threshold.control.follow) {
    const control = followCommands(kafka, config.threshold.control.topic, pipeline, registry);
    stack.defer('threshold commands', () => control.stop());
  }
  return judge;
}

/** Opens the model to start with (refused when the store has none) and shows it in the metrics. */
async function openDetectorModel(
  config: Readonly<PipelineConfig>,
  version: number | undefined,
  metrics: Metrics,
  stack: CloseStack,
): Promise<ModelSlot> {
  const model = await openModel(
    config.frame,
    config.model,
    version !== undefined ? { version } : {},
  );
  const slot = new ModelSlot(model);
  stack.defer('models', () => slot.close());
  showModel(metrics, config.name, model, { replacing: false });
  const { engine, backend } = model;
  logger.info({ pipeline: config.name, model: model.version, engine, backend }, 'model loaded');
  return slot;
}

function showModel(
  metrics: Metrics,
  pipeline: string,
  model: ActiveModel,
  { replacing }: { replacing: boolean },
): void {
  if (replacing) metrics.modelInfo.reset();
  metrics.modelInfo.set(
    { pipeline, version: model.version, engine: model.engine, backend: model.backend },
    1,
  );
}

/**
 * The input codec, the dead-letter sink and the sinks a judged batch goes to, connected; the
 * readiness follows them.
 */
async function openOutputs(
  config: Readonly<PipelineConfig>,
  kafka: Kafka,
  { onEvent, readyGraceMs = 30_000 }: DetectOptions,
  health: Health,
  stack: CloseStack,
) {
  const { events, dlq, influx } = await openOutputClients(config, kafka, stack);
  const watched = { 'anomaly topic': events, 'dead-letter topic': dlq, influxdb: influx };
  watchSinks(health, watched, readyGraceMs, stack);
  const codec = await inputCodec(config);
  const eventCodec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
  const anomalies = new AnomalyEventSink<Frame>(
    events,
    eventCodec,
    config.name,
    onEvent,
    config.output.events,
  );
  const sinks: BatchSink<Frame>[] = [anomalies];
  if (influx) sinks.push(new ScoreSink<Frame>(influx, config.name));
  // Reconstructed frames and latent vectors, when the pipeline asks for them.
  const modelOutputs = modelOutputSinks(config, kafka, influx);
  await connectOn(stack, 'model output producers', modelOutputs);
  sinks.push(...modelOutputs.sinks);
  return { codec, dlq: new DlqSink(dlq), sinks, influx, eventRules: anomalies.rules };
}

/**
 * Consumer lag to the metrics, and with InfluxDB the pipeline's own figures to its
 * `pipeline` measurement, until the stack closes.
 */
async function reportLag(
  config: Readonly<PipelineConfig>,
  kafka: Kafka,
  metrics: Metrics,
  influx: InfluxSink | null,
  models: ModelSlot,
  intervalMs: number | undefined,
  stack: CloseStack,
): Promise<void> {
  const { topic, group } = config.input.kafka;
  const admin = kafka.admin();
  stack.defer('kafka admin', () => admin.disconnect());
  await admin.connect();
  const lag = async () => {
    const lags = await consumerLag(admin, group, topic);
    for (const p of lags) {
      metrics.consumerLag.set(
        { pipeline: config.name, topic, partition: String(p.partition) },
        p.lag,
      );
    }
    return lags;
  };
  if (!influx) {
    const timer = setInterval(() => void lag().catch(() => undefined), 10_000);
    timer.unref();
    stack.defer('lag timer', () => clearInterval(timer));
    return;
  }
  const model = () => {
    const { version, engine, backend } = models.current;
    return { version, engine, backend };
  };
  const figures = { lag, dlqTopic: config.output.dlq.topic, model };
  const stopReporter = startPipelineReporter(config.name, influx, figures, intervalMs);
  stack.defer('pipeline reporter', () => stopReporter());
}
