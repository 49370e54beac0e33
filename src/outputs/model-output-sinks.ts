import type { Kafka } from 'kafkajs';
import { createAvroCodec } from '../codecs/avro-codec';
import { createCodec } from '../codecs/codec-factory';
import type { Frame } from '../core/records';
import type { SchemaRegistryConfig } from '../codecs/codec-factory';
import type { FrameConfig } from '../core/frame-config';
import type {
  KafkaInputConfig,
  LatentOutputConfig,
  ReconstructionOutputConfig,
} from '../connectors/connector-config';
import type { BatchSink } from '../core/model-input';
import { kafkaSinkFrom } from '../connectors/connector-factory';
import type { KafkaSink } from '../connectors/kafka/kafka-sink';
import { LatentPointSink, LatentSink, type LatentVector } from './latent-sink';
import { ReconstructionSink } from './reconstruction-sink';
import type { PointWriter } from './score-sink';

/** The slice of a pipeline file the model outputs read. */
export interface ModelOutputsConfig {
  readonly name: string;
  readonly frame: FrameConfig;
  readonly input: {
    readonly kafka: Pick<KafkaInputConfig, 'brokers'>;
    readonly schema: string;
    readonly registry?: SchemaRegistryConfig | undefined;
  };
  readonly output: {
    readonly reconstruction?: ReconstructionOutputConfig | undefined;
    readonly latent?: LatentOutputConfig | undefined;
  };
}

/** The detector's optional model outputs and the producers they write with. */
export interface ModelOutputSinks {
  /** The sinks to add to the detector's list (empty when both outputs are off). */
  sinks: BatchSink<Frame>[];
  /** Connects the producers and registers schemas (registry mode); rejects on failure. */
  connect(): Promise<void>;
  /** Flushes and disconnects the producers. */
  disconnect(): Promise<void>;
}

/**
 * The sinks of `output.reconstruction` and `output.latent` (and the `latent` measurement
 * when `output.latent.influx`), on the detector's Kafka client and InfluxDB writer. The
 * reconstruction topic carries frames in the input schema (the registry subject is
 * `<topic>-value` when a registry is configured); the latent topic LatentVector records.
 *
 * @example
 * const outputs = modelOutputSinks(config, kafka, influx);
 * await outputs.connect();
 * sinks.push(...outputs.sinks);
 */
export function modelOutputSinks(
  config: ModelOutputsConfig,
  kafka: Kafka,
  influx: PointWriter | null,
): ModelOutputSinks {
  const brokers = config.input.kafka.brokers;
  const sinks: BatchSink<Frame>[] = [];
  const producers: KafkaSink[] = [];
  const ready: Array<() => Promise<void>> = [];
  const { reconstruction, latent } = config.output;
  if (reconstruction) {
    const producer = kafkaSinkFrom(brokers, reconstruction, kafka);
    const codec = createCodec<Frame>({
      schema: config.input.schema,
      topic: reconstruction.topic,
      ...(config.input.registry
        ? { registry: { ...config.input.registry, subject: undefined } }
        : {}),
    });
    producers.push(producer);
    ready.push(() => codec.ready());
    sinks.push(new ReconstructionSink<Frame>(producer, codec, config.frame));
  }
  if (latent) {
    const producer = kafkaSinkFrom(brokers, latent, kafka);
    producers.push(producer);
    sinks.push(
      new LatentSink<Frame>(
        producer,
        createAvroCodec<LatentVector>('latent-vector.avsc'),
        config.name,
      ),
    );
    if (latent.influx && influx) sinks.push(new LatentPointSink<Frame>(influx, config.name));
  }
  return {
    sinks,
    async connect() {
      await Promise.all(producers.map((p) => p.connect()));
      for (const r of ready) await r();
    },
    async disconnect() {
      await Promise.allSettled(producers.map((p) => p.disconnect()));
    },
  };
}
