import type { Kafka } from 'kafkajs';
import { InfluxSink } from './influx-sink';
import type { InfluxOutputConfig, KafkaInputConfig, TopicOutputConfig } from './io-config';
import { KafkaSink } from './kafka-sink';
import { KafkaSource } from './kafka-source';

/**
 * Builds the data-plane parts from the validated sections of a pipeline file.
 *
 * @example
 * const config = loadPipeline('pipelines/sensors.yaml');
 * const source = kafkaSourceFrom(config.input.kafka);
 * const dlq = kafkaSinkFrom(config.input.kafka.brokers, config.output.dlq);
 */
export function kafkaSourceFrom(config: KafkaInputConfig, kafka?: Kafka): KafkaSource {
  return new KafkaSource({
    brokers: config.brokers,
    topic: config.topic,
    group: config.group,
    clientId: config.clientId,
    fromBeginning: config.fromBeginning,
    maxInFlight: config.maxInFlight,
    commitIntervalMs: config.commitIntervalMs,
    shutdownMs: config.shutdownMs,
    kafka,
  });
}

/** A sink for an output topic section (`output.kafka`, `output.dlq`); batching defaults apply when absent. */
export function kafkaSinkFrom(
  brokers: string,
  config: Pick<TopicOutputConfig, 'topic'> & Partial<TopicOutputConfig>,
  kafka?: Kafka,
): KafkaSink {
  return new KafkaSink({
    brokers,
    topic: config.topic,
    batchSize: config.batchSize,
    lingerMs: config.lingerMs,
    kafka,
  });
}

export function influxSinkFrom(config: InfluxOutputConfig): InfluxSink {
  return new InfluxSink({
    url: config.url,
    database: config.database,
    username: config.username,
    password: config.password,
    batchSize: config.batchSize,
    flushMs: config.flushMs,
    maxBuffered: config.maxBuffered,
  });
}
