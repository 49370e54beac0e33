import {
  Kafka,
  KafkaJSBrokerNotFound,
  KafkaJSConnectionError,
  KafkaJSRequestTimeoutError,
  logLevel,
  type LogEntry,
} from 'kafkajs';
import { AeError, ErrorCodes, messageOf } from '../../core/errors';
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

/** Longest a client tries to reach the brokers, where the connection section names no time. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;

/**
 * Longest one broker request may take (kafkajs: 30 s). kafkajs waits this long for the first
 * answer of a port that does not speak Kafka, and a disconnect waits for that request;
 * fetches and group joins set longer ones of their own.
 */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * kafkajs logs each failed try to reach a broker at ERROR, a dozen lines before it gives up;
 * the error the command ends with names the brokers, and a running pipeline's sinks and
 * source report an outage once. So these are debug lines.
 */
const CONNECTION_NOISE =
  /^(Connection error|Connection timeout|Failed to connect to seed broker|Request ApiVersions\b.* timed out)/;

/** No Kafka broker answered at the bootstrap brokers: a wrong address, or none running there. */
export class KafkaUnreachableError extends AeError {
  constructor(
    readonly brokers: readonly string[],
    reason: string,
    cause?: unknown,
  ) {
    super(ErrorCodes.KAFKA, `cannot reach the brokers ${brokers.join(',')}: ${reason}`, {
      cause,
      retriable: true,
    });
    this.name = 'KafkaUnreachableError';
  }
}

/**
 * A kafkajs client whose own log lines go through the aestream logger, at WARN and above
 * (kafkajs logs every group join at INFO, which is noise for an operator). The ONE place
 * kafkajs clients are made: a pipeline's `input.kafka` (sasl, tls) applies here, so pass
 * that section on whole. The `connect()` of its producers, consumers and admins gives up
 * after `connectTimeoutMs` and fails with a KafkaUnreachableError when no broker answers.
 *
 * @example
 * const kafka = createKafka({ brokers: '127.0.0.1:9092', clientId: 'aestream' });
 * const secured = createKafka({ ...config.input.kafka, clientId: 'aestream-replay' });
 */
export function createKafka(options: KafkaConnectionConfig): Kafka {
  const brokers = Array.isArray(options.brokers) ? options.brokers : options.brokers.split(',');
  const kafka = new Kafka({
    clientId: options.clientId ?? 'aestream',
    brokers,
    ...kafkaSecurity(options),
    requestTimeout: REQUEST_TIMEOUT_MS,
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
        const quiet = isTransientLogLine(message, rest.error) || CONNECTION_NOISE.test(message);
        logger[quiet ? 'debug' : (levelNames[level] ?? 'info')](fields, message);
      },
  });
  return withBoundedConnects(
    kafka,
    brokers,
    options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  );
}

type Connectable = { connect(): Promise<void> };

/** Every client the Kafka object makes connects within `timeoutMs`. */
function withBoundedConnects(kafka: Kafka, brokers: string[], timeoutMs: number): Kafka {
  const bounded = <C extends Connectable>(client: C): C => {
    const connect = client.connect.bind(client);
    client.connect = () => connectWithin(connect, brokers, timeoutMs);
    return client;
  };
  const { producer, consumer, admin } = kafka;
  kafka.producer = (config) => bounded(producer.call(kafka, config));
  kafka.consumer = (config) => bounded(consumer.call(kafka, config));
  kafka.admin = (config) => bounded(admin.call(kafka, config));
  return kafka;
}

/**
 * kafkajs retries an unreachable broker list on its own, each try waiting out a timeout; this
 * bounds the whole and names the brokers. Other failures (refused credentials) pass unchanged.
 */
async function connectWithin(
  connect: () => Promise<void>,
  brokers: string[],
  timeoutMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const connecting = connect();
  connecting.catch(() => undefined); // settles after the deadline too
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KafkaUnreachableError(
            brokers,
            `no broker answered within ${Math.round(timeoutMs / 1000)} s`,
          ),
        ),
      timeoutMs,
    );
    timer.unref();
  });
  try {
    await Promise.race([connecting, late]);
  } catch (err) {
    const reason = unreachableReason(err);
    if (err instanceof KafkaUnreachableError || reason === null) throw err;
    throw new KafkaUnreachableError(brokers, reason, err);
  } finally {
    clearTimeout(timer);
  }
}

/** Why a failed connect means no broker answered, or null when it failed for another reason. */
function unreachableReason(err: unknown): string | null {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof KafkaJSRequestTimeoutError || messageOf(e) === 'Broker not connected') {
      return 'something accepts connections there but does not answer as a Kafka broker';
    }
    if (e instanceof KafkaJSConnectionError || e instanceof KafkaJSBrokerNotFound) {
      return messageOf(e);
    }
    const { cause, originalError } = e as { cause?: unknown; originalError?: unknown };
    e = cause ?? originalError;
  }
  return null;
}
