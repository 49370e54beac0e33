import {
  Partitioners,
  type CompressionTypes,
  type IHeaders,
  type Kafka,
  type Producer,
} from 'kafkajs';
import { messageOf } from '../../core/errors';
import { logger } from '../../observability/logger';
import { gauge } from '../../observability/metrics';
import { createKafka } from './kafka-client';
import { isRetriableKafkaError, kafkaError } from './kafka-errors';
import { OutageReport } from '../outage-report';
import { defaultBackoff, retry, type BackoffPolicy } from '../retry';

/** One message to write; the key picks the partition, so one source stays in order. */
export interface OutboundMessage {
  key: Buffer | string | null;
  value: Buffer;
  headers?: IHeaders;
  /** Event time, ms since the epoch, as the Kafka timestamp; the broker's time when absent. */
  timestamp?: number;
  /** The partition to write to; by default the key's (murmur2, as Kafka's Java clients). */
  partition?: number;
}

export interface KafkaSinkOptions {
  brokers: string | string[];
  topic: string;
  clientId?: string;
  /** Messages per produce request (default 1,000). */
  batchSize?: number;
  /** Longest a message waits for its batch to fill (default 5 ms). */
  lingerMs?: number;
  compression?: CompressionTypes;
  /** Reuse a kafkajs client (otherwise one is made from brokers/clientId). */
  kafka?: Kafka;
  /** Waits between sends of a batch while the broker is unreachable (default: 200 ms to 10 s). */
  backoff?: BackoffPolicy;
}

/** One send/sendMany call: settled when all its messages are acked, or one failed. */
interface Call {
  remaining: number;
  failed: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Pending {
  message: OutboundMessage;
  call: Call;
}

/**
 * Writes messages to one topic with an idempotent producer (acks from all in-sync
 * replicas, retries without duplicates). Messages are batched by size and linger time;
 * one request is in flight at a time, so the order of `send` calls is the order per
 * partition. `send` resolves when the broker has acked the message: that is the moment to
 * ack the input record. While the broker is unreachable (down, restarting) a batch is sent
 * again with backoff for as long as it takes, so the caller holds its input instead of
 * failing; one log line says Kafka is unavailable, one that it is back, and
 * `aestream_kafka_sink_up{topic}` says so too. `disconnect()` gives up on such a batch and
 * rejects its sends. Errors a retry cannot fix (message too large, no permission) reject at once.
 *
 * @example
 * const sink = new KafkaSink({ brokers: '127.0.0.1:9092', topic: 'sensors.anomalies' });
 * await sink.connect();
 * await sink.send({ key: 'pump-1', value: bytes });
 * await sink.disconnect();
 */
export class KafkaSink {
  readonly topic: string;
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly compression: CompressionTypes | undefined;
  private buffer: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private connected = false;
  private closing = false;
  private sent = 0;
  private readonly backoff: BackoffPolicy;
  private readonly outage: OutageReport<'topic'>;

  constructor(options: KafkaSinkOptions) {
    this.topic = options.topic;
    this.kafka =
      options.kafka ?? createKafka({ brokers: options.brokers, clientId: options.clientId });
    // The default (murmur2, Java-compatible) partitioner, named so kafkajs does not warn about it.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.batchSize = options.batchSize ?? 1_000;
    this.lingerMs = options.lingerMs ?? 5;
    this.compression = options.compression;
    this.backoff = options.backoff ?? defaultBackoff;
    this.outage = new OutageReport(
      gauge(
        'aestream_kafka_sink_up',
        'Whether the last produce to the topic succeeded (1) or is being retried (0).',
        ['topic'],
      ),
      { topic: this.topic },
      'Kafka unavailable: holding messages and sending again with backoff',
      'Kafka writes work again',
    );
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    try {
      await this.producer.connect();
      this.connected = true;
    } catch (err) {
      throw kafkaError(`sink ${this.topic}`, err);
    }
  }

  /** How long writes have been failing and retried (ms); 0 while they work. */
  get downForMs(): number {
    return this.outage.downForMs();
  }

  /** Messages acked by the broker so far. */
  get acked(): number {
    return this.sent;
  }

  /** Queues one message; resolves when the broker acked it, rejects with AE_ERR_KAFKA. */
  send(message: OutboundMessage): Promise<void> {
    return this.sendMany([message]);
  }

  /** Queues many messages (one promise for all: cheaper than many sends); resolves when all are acked. */
  sendMany(messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const call: Call = { remaining: messages.length, failed: false, resolve, reject };
      for (const message of messages) {
        this.buffer.push({ message, call });
        if (this.buffer.length % this.batchSize === 0) this.scheduleFlush(0);
      }
      if (this.buffer.length % this.batchSize !== 0) this.scheduleFlush(this.lingerMs);
    });
  }

  /** Sends whatever is queued and waits for every earlier send. */
  async flush(): Promise<void> {
    this.scheduleFlush(0);
    await this.flushing;
    if (this.buffer.length > 0) await this.flush();
  }

  /**
   * Flushes and closes the producer, also after a failed connect: kafkajs may hold a socket
   * from that attempt (a port that accepted but never spoke Kafka), which keeps the process alive.
   */
  async disconnect(): Promise<void> {
    this.closing = true;
    await this.flush();
    await this.producer.disconnect();
    this.connected = false;
  }

  private scheduleFlush(delayMs: number): void {
    if (delayMs > 0 && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (delayMs === 0) {
      this.flushing = this.flushing.then(() => this.sendBuffered());
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.sendBuffered());
    }, delayMs);
  }

  private async sendBuffered(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize);
      const messages = batch.map(({ message: m }) => ({
        key: m.key,
        value: m.value,
        headers: m.headers,
        timestamp: m.timestamp === undefined ? undefined : String(m.timestamp),
        partition: m.partition,
      }));
      try {
        await retry(
          () => this.producer.send({ topic: this.topic, compression: this.compression, messages }),
          {
            policy: this.backoff,
            shouldRetry: isRetriableKafkaError,
            cancelled: () => this.closing,
            onRetry: (err) => this.outage.failed(err, { messages: batch.length }),
          },
        );
        this.outage.succeeded();
        this.sent += batch.length;
        for (const p of batch) if (--p.call.remaining === 0 && !p.call.failed) p.call.resolve();
      } catch (err) {
        logger.warn(
          { topic: this.topic, err: messageOf(err), messages: batch.length },
          'kafka send failed',
        );
        const error = kafkaError(`send to ${this.topic}`, err);
        for (const p of batch) {
          if (!p.call.failed) p.call.reject(error);
          p.call.failed = true;
        }
      }
    }
  }
}
