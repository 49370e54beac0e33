import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { logger } from '../../observability/logger';
import type { KafkaConnectionConfig } from '../connector-config';
import { isTransientLogLine } from './kafka-errors';
import { kafkaSecurity } from './kafka-security';

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs client whose own log lines go through the aestream logger, at WARN and above
 * (kafkajs logs every group join at INFO, which is noise for an operator). The ONE place
 * kafkajs clients are made: a pipeline's `input.kafka` (sasl, tls) applies here, so pass
 * that section on whole.
 *
 * @example
 * const kafka = createKafka({ brokers: '127.0.0.1:9092', clientId: 'aestream' });
 * const secured = createKafka({ ...config.input.kafka, clientId: 'aestream-replay' });
 */
export function createKafka(options: KafkaConnectionConfig): Kafka {
  const brokers = Array.isArray(options.brokers) ? options.brokers : options.brokers.split(',');
  return new Kafka({
    clientId: options.clientId ?? 'aestream',
    brokers,
    ...kafkaSecurity(options),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...rest } = log;
        // kafkajs puts whole request objects in some entries; keep only scalar fields.
        const fields: Record<string, unknown> = { component: `kafkajs.${namespace}` };
        for (const [k, v] of Object.entries(rest)) {
          if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v;
        }
        // kafkajs logs these retriable states at ERROR while it retries them itself (a topic
        // just auto-created, a group rebalancing); real failures reach the caller as errors.
        const transient = isTransientLogLine(message, rest.error);
        logger[transient ? 'debug' : (levelNames[level] ?? 'info')](fields, message);
      },
  });
}
