import { lastValueFrom, type Observable } from 'rxjs';
import type { Kafka } from 'kafkajs';
import type { RecordCodec } from '../codecs/avro-codec';
import { influxSinkFrom, kafkaSinkFrom } from '../connectors/connector-factory';
import type { InfluxSink } from '../connectors/influx/influx-sink';
import type { KafkaSink } from '../connectors/kafka/kafka-sink';
import { createCodec } from '../codecs/codec-factory';
import type { PipelineConfig } from '../config/pipeline-schema';
import { messageOf } from '../core/errors';
import { CloseStack } from '../core/lifecycle';
import type { Frame } from '../core/records';
import type { Health, JsonRoutes } from '../observability/health-server';
import { startHealthServer } from '../observability/health-server';
import { logger } from '../observability/logger';

/** The close stack of a pipeline run: a close that fails or hangs is logged, not thrown. */
export function closeStackOf(pipeline: string): CloseStack {
  return new CloseStack({
    onError: ({ name, error }) =>
      logger.warn({ pipeline, resource: name, err: messageOf(error) }, 'close failed'),
  });
}

/** The codec of the pipeline's input frames, ready (registered with the registry, if any). */
export async function inputCodec(
  config: Readonly<PipelineConfig>,
  topic = config.input.kafka.topic,
): Promise<RecordCodec<Frame>> {
  const codec = createCodec<Frame>({
    schema: config.input.schema,
    topic,
    ...(config.input.registry ? { registry: config.input.registry } : {}),
  });
  await codec.ready();
  return codec;
}

/** Registers a producer's disconnect on the stack, then connects it. */
export async function connectOn(
  stack: CloseStack,
  name: string,
  client: { connect(): Promise<unknown>; disconnect(): Promise<unknown> },
): Promise<void> {
  stack.defer(name, () => client.disconnect());
  await client.connect();
}

/**
 * The producers of the anomaly events and dead letters (on the pipeline's topics unless
 * others are given) and the InfluxDB writer when the pipeline has one, connected and
 * closed with the stack.
 */
export async function openOutputClients(
  config: Readonly<PipelineConfig>,
  kafka: Kafka,
  stack: CloseStack,
  topics = { events: config.output.kafka.topic, dlq: config.output.dlq.topic },
): Promise<{ events: KafkaSink; dlq: KafkaSink; influx: InfluxSink | null }> {
  const brokers = config.input.kafka.brokers;
  const events = kafkaSinkFrom(brokers, { ...config.output.kafka, topic: topics.events }, kafka);
  const dlq = kafkaSinkFrom(brokers, { ...config.output.dlq, topic: topics.dlq }, kafka);
  await Promise.all([
    connectOn(stack, 'events producer', events),
    connectOn(stack, 'dead-letter producer', dlq),
  ]);
  const influx = config.output.influx ? influxSinkFrom(config.output.influx) : null;
  if (influx) stack.defer('influx writer', () => influx.close());
  return { events, dlq, influx };
}

/** /metrics, /healthz and /readyz (and `routes`) on `port`, closed with the stack; null: none. */
export async function healthServerOn(
  stack: CloseStack,
  health: Health,
  port: number | null,
  routes?: JsonRoutes,
): Promise<{ port: number } | null> {
  if (port === null) return null;
  const server = await startHealthServer(health, port, '0.0.0.0', routes);
  stack.defer('health server', () => server.close());
  return server;
}

/**
 * Runs a pipeline's flow to its end (a stop, a signal, or a fatal error, which breaks the
 * health), then closes everything on the stack. When `source` stops with records unacked
 * (a sink down past the drain deadline), the run ends then: those stages never finish, and
 * the records are read again by the group's next member.
 */
export function runToEnd(
  flow: Observable<unknown>,
  health: Health,
  stack: CloseStack,
  stopped: () => void,
  source?: { stopped: Promise<{ drained: boolean }> },
): Promise<void> {
  const ended = lastValueFrom(flow, { defaultValue: [] });
  const abandoned = new Promise<void>((resolve) => {
    void source?.stopped.then(({ drained }) => {
      if (!drained) {
        ended.catch(() => undefined); // its stages fail as the stack closes the sinks
        resolve();
      }
    });
  });
  return Promise.race([ended, abandoned])
    .then(
      () => undefined,
      (err: unknown) => {
        health.fail(messageOf(err));
        throw err;
      },
    )
    .finally(async () => {
      await stack.close();
      stopped();
    });
}

/** A sink that retries through outages and says for how long its writes have been failing. */
export interface WatchedSink {
  readonly downForMs: number;
}

/**
 * Readiness follows the sinks a run cannot commit without: while one has been failing for
 * longer than `graceMs`, /readyz answers not-ready with the reason in its body (/healthz stays
 * up: the process is fine and resumes when the sink is back). Checked every `intervalMs`
 * until the stack closes; returns the check.
 */
export function watchSinks(
  health: Health,
  sinks: Readonly<Record<string, WatchedSink | null>>,
  graceMs: number,
  stack: CloseStack,
  intervalMs = 1_000,
): () => void {
  const check = () => {
    for (const [name, sink] of Object.entries(sinks)) {
      if (!sink) continue;
      const down = sink.downForMs;
      const reason = `${name} writes have failed for ${Math.round(down / 1000)} s (grace ${Math.round(graceMs / 1000)} s)`;
      health.set(`sink ${name}`, down <= graceMs, reason);
    }
  };
  check();
  const timer = setInterval(check, intervalMs);
  timer.unref();
  stack.defer('sink watch', () => clearInterval(timer));
  return check;
}
