import { lastValueFrom, tap } from 'rxjs';
import { createAvroCodec } from '../codecs/avro-codec';
import { createCodec } from '../codecs/codec-factory';
import type { AnomalyEvent, Frame } from '../core/records';
import type { PipelineConfig } from '../config/pipeline-schema';
import { AnomalyEventSink } from '../outputs/anomaly-event-sink';
import { DlqSink } from '../outputs/dlq-sink';
import { consumerLag } from '../connectors/kafka/consumer-lag';
import { createKafka } from '../connectors/kafka/kafka-client';
import { influxSinkFrom, kafkaSinkFrom, kafkaSourceFrom } from '../connectors/connector-factory';
import { ScoreSink } from '../outputs/score-sink';
import { modelOutputSinks } from '../outputs/model-output-sinks';
import { followReleases } from '../inference/follow-releases';
import { openModel, type ActiveModel } from '../inference/active-model';
import { logger } from '../observability/logger';
import { Health, startHealthServer } from '../observability/health-server';
import { detectorMetrics } from '../observability/metrics';
import { startPipelineReporter } from '../observability/pipeline-reporter';
import type { Judged, BatchSink } from '../core/model-input';
import { followCommands } from '../thresholds/follow-commands';
import { ModelAwareJudge } from '../thresholds/model-aware-judge';
import { createThresholdRegistry } from '../thresholds/threshold-registry';
import { detectFlow } from '../operators/detect-flow';

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
  const pipeline = config.name;
  const health = new Health();
  health.set('model', false);
  health.set('consumer', false);
  const metrics = detectorMetrics();
  const registry = createThresholdRegistry(config.threshold);
  let modelInUse = (): string | null => null;
  const server =
    options.metricsPort === null
      ? null
      : await startHealthServer(health, options.metricsPort ?? 9464, '0.0.0.0', {
          // What `aestream threshold show` prints.
          '/thresholds': () => ({
            pipeline,
            model: modelInUse(),
            thresholds: registry.list(),
          }),
        });

  // Until the detector runs, whatever was opened is closed again on a failed start.
  const opened: Array<() => Promise<unknown>> = [];
  if (server) opened.push(() => server.close());
  const failedStart = async (err: unknown): Promise<never> => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw err;
  };

  const model = await openModel(config.frame, config.model, {
    ...(options.modelVersion !== undefined ? { version: options.modelVersion } : {}),
  }).catch(failedStart);
  opened.push(() => model.dispose());
  metrics.modelInfo.set(
    { pipeline, version: model.version, engine: model.engine, backend: model.backend },
    1,
  );
  health.set('model', true);
  logger.info(
    { pipeline, model: model.version, engine: model.engine, backend: model.backend },
    'model loaded',
  );

  const kafkaConfig = config.input.kafka;
  const kafka = createKafka(kafkaConfig);
  const events = kafkaSinkFrom(kafkaConfig.brokers, config.output.kafka, kafka);
  const dlqSink = kafkaSinkFrom(kafkaConfig.brokers, config.output.dlq, kafka);
  opened.push(
    () => events.disconnect(),
    () => dlqSink.disconnect(),
  );
  await Promise.all([events.connect(), dlqSink.connect()]).catch(failedStart);
  const influx = config.output.influx ? influxSinkFrom(config.output.influx) : null;
  const codec = createCodec<Frame>({
    schema: config.input.schema,
    topic: kafkaConfig.topic,
    ...(config.input.registry ? { registry: config.input.registry } : {}),
  });
  if (influx) opened.push(() => influx.close());
  await codec.ready().catch(failedStart);

  const sinks: BatchSink<Frame>[] = [
    new AnomalyEventSink<Frame>(
      events,
      createAvroCodec<AnomalyEvent>('AnomalyEvent'),
      pipeline,
      options.onEvent,
    ),
  ];
  if (influx) sinks.push(new ScoreSink<Frame>(influx, pipeline));
  // Optional model outputs (issue 12): reconstructed frames and latent vectors.
  const modelOutputs = modelOutputSinks(config, kafka, influx);
  opened.push(() => modelOutputs.disconnect());
  await modelOutputs.connect().catch(failedStart);
  sinks.push(...modelOutputs.sinks);

  const source = kafkaSourceFrom(
    options.shutdownMs !== undefined
      ? { ...kafkaConfig, shutdownMs: options.shutdownMs }
      : kafkaConfig,
    kafka,
  );
  let current = model;
  modelInUse = () => current.version;
  const judge = new ModelAwareJudge(registry, config.model.error);
  judge.addModel(model.version, model.stored.metadata.validation.loss);
  const retired: ActiveModel[] = [];
  const releases = config.model.releases.follow
    ? followReleases(
        config,
        kafka,
        () => current,
        (next) => {
          const previous = current;
          judge.addModel(next.version, next.stored.metadata.validation.loss);
          current = next; // read once per batch by inferBatch: the swap lands between batches
          // A batch that started on the old model may still be in inference (milliseconds):
          // free the old model a minute later, or at stop.
          retired.push(previous);
          setTimeout(() => {
            const i = retired.indexOf(previous);
            if (i >= 0)
              void retired
                .splice(i, 1)[0]
                ?.dispose()
                .catch(() => undefined);
          }, 60_000).unref();
          metrics.modelInfo.reset();
          metrics.modelInfo.set(
            { pipeline, version: next.version, engine: next.engine, backend: next.backend },
            1,
          );
          logger.info({ pipeline, from: previous.version, to: next.version }, 'model swapped');
        },
      )
    : null;
  const control = config.threshold.control.follow
    ? followCommands(kafka, config.threshold.control.topic, pipeline, registry)
    : null;
  const flow = source.records().pipe(
    tap({ subscribe: () => health.set('consumer', true) }),
    detectFlow({
      config,
      codec,
      dlq: new DlqSink(dlqSink),
      model: () => current,
      judge: () => judge,
      sinks,
      metrics,
    }),
    tap((batch) => options.onScored?.(batch)),
  );
  const admin = kafka.admin();
  await admin.connect().catch(async (err: unknown) => {
    await releases?.stop();
    await control?.stop();
    return failedStart(err);
  });
  const lag = async () => {
    const lags = await consumerLag(admin, kafkaConfig.group, kafkaConfig.topic);
    for (const p of lags) {
      metrics.consumerLag.set(
        { pipeline, topic: kafkaConfig.topic, partition: String(p.partition) },
        p.lag,
      );
    }
    return lags;
  };
  const stopReporter = influx
    ? startPipelineReporter(
        pipeline,
        influx,
        {
          lag,
          dlqTopic: config.output.dlq.topic,
          model: () => ({
            version: current.version,
            engine: current.engine,
            backend: current.backend,
          }),
        },
        options.reportIntervalMs,
      )
    : null;
  const lagTimer = influx ? null : setInterval(() => void lag().catch(() => undefined), 10_000);
  lagTimer?.unref();
  const removeSignals = source.handleSignals();
  logger.info(
    {
      pipeline,
      topic: kafkaConfig.topic,
      group: kafkaConfig.group,
      metricsPort: server?.port ?? null,
    },
    'detector started',
  );

  const done = lastValueFrom(flow, { defaultValue: [] })
    .then(
      () => undefined,
      (err: unknown) => {
        health.fail(err instanceof Error ? err.message : String(err));
        throw err;
      },
    )
    .finally(async () => {
      removeSignals();
      await source.stop().catch(() => undefined);
      if (lagTimer) clearInterval(lagTimer);
      await stopReporter?.().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await modelOutputs.disconnect();
      await Promise.allSettled([events.disconnect(), dlqSink.disconnect(), influx?.close()]);
      await releases?.stop();
      await control?.stop();
      for (const m of [...retired, current]) await m.dispose().catch(() => undefined);
      await server?.close();
      logger.info({ pipeline }, 'detector stopped');
    });

  return {
    done,
    get model() {
      return current;
    },
    metricsPort: server?.port ?? null,
    async stop() {
      await source.stop();
      await done.catch(() => undefined);
    },
  };
}
