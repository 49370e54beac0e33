import type { Kafka } from 'kafkajs';
import { readSecret } from '../core/secrets';
import { InfluxSink } from './influx/influx-sink';
import type {
  InfluxOutputConfig,
  KafkaConnectionConfig,
  KafkaInputConfig,
  TopicOutputConfig,
} from './connector-config';
import { newGroupStart } from './connector-config';
import { createKafka } from './kafka/kafka-client';
import { KafkaSink } from './kafka/kafka-sink';
import { KafkaSource, type KafkaSourceOptions } from './kafka/kafka-source';

/**
 * Builds the data-plane parts from the validated sections of a pipeline file.
 *
 * @example
 * const config = loadPipeline('pipelines/sensors.yaml');
 * const source = kafkaSourceFrom(config.input.kafka);
 * const dlq = kafkaSinkFrom(config.input.kafka.brokers, config.output.dlq);
 */
export function kafkaSourceFrom(
  config: KafkaInputConfig,
  kafka?: Kafka,
  hooks: Pick<KafkaSourceOptions, 'onAssign' | 'beforeCommit'> = {},
): KafkaSource {
  return new KafkaSource({
    ...hooks,
    brokers: config.brokers,
    topic: config.topic,
    group: config.group,
    clientId: config.clientId,
    fromBeginning: newGroupStart(config) === 'earliest',
    createTopic: config.createTopics,
    maxInFlight: config.maxInFlight,
    commitIntervalMs: config.commitIntervalMs,
    shutdownMs: config.shutdownMs,
    kafka: kafka ?? createKafka(config),
  });
}

/**
 * A sink for an output topic section (`output.kafka`, `output.dlq`); batching defaults apply
 * when absent. `connection` is the brokers, or the whole `input.kafka` section so its
 * credentials apply when no client is passed.
 */
export function kafkaSinkFrom(
  connection: string | KafkaConnectionConfig,
  config: Pick<TopicOutputConfig, 'topic'> & Partial<TopicOutputConfig>,
  kafka?: Kafka,
): KafkaSink {
  const conn = typeof connection === 'string' ? { brokers: connection } : connection;
  return new KafkaSink({
    brokers: conn.brokers,
    topic: config.topic,
    batchSize: config.batchSize,
    lingerMs: config.lingerMs,
    kafka: kafka ?? createKafka(conn),
  });
}

export function influxSinkFrom(config: InfluxOutputConfig): InfluxSink {
  return new InfluxSink({
    url: config.url,
    database: config.database,
    username: config.username,
    password: readSecret(config, 'password', 'output.influx'),
    batchSize: config.batchSize,
    maxBuffered: config.maxBuffered,
  });
}
