import { Counter, register } from 'prom-client';
import type { AeError } from '../core/errors';
import type { KafkaRecord } from '../core/kafka-record';
import type { OutboundMessage } from '../connectors/kafka/kafka-sink';

/** Where dead letters are written: a KafkaSink, or anything that acks messages the same way. */
export interface MessageSink {
  readonly topic: string;
  send(message: OutboundMessage): Promise<void>;
}

/** Header names of a dead letter. The value is the original bytes, untouched. */
export const DlqHeaders = {
  REASON: 'ae.reason',
  MESSAGE: 'ae.message',
  TOPIC: 'ae.origin.topic',
  PARTITION: 'ae.origin.partition',
  OFFSET: 'ae.origin.offset',
  TIMESTAMP: 'ae.origin.timestamp',
  TIME: 'ae.time',
} as const;

/** The dead-letter counter, labelled by reason code (one process-wide metric). */
function dlqCounter(): Counter<'reason' | 'topic'> {
  const name = 'aestream_dlq_records_total';
  return (
    (register.getSingleMetric(name) as Counter<'reason' | 'topic'> | undefined) ??
    new Counter({
      name,
      help: 'Records sent to a dead-letter topic, by reason code and dead-letter topic.',
      labelNames: ['reason', 'topic'],
    })
  );
}

/**
 * The dead letter of a record: its original key and bytes, its original headers, and
 * headers saying why and where from. Nothing of the record is lost.
 */
export function deadLetter(record: KafkaRecord, error: AeError, now = Date.now()) {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DlqHeaders.REASON]: error.code,
      // Long messages are cut: a header is not a log, and brokers cap record sizes.
      [DlqHeaders.MESSAGE]: error.message.slice(0, 1000),
      [DlqHeaders.TOPIC]: record.topic,
      [DlqHeaders.PARTITION]: String(record.partition),
      [DlqHeaders.OFFSET]: record.offset,
      [DlqHeaders.TIMESTAMP]: String(record.timestamp),
      [DlqHeaders.TIME]: new Date(now).toISOString(),
    } as Record<string, string | Buffer>,
    timestamp: record.timestamp,
  };
}

/**
 * Dead-letter output: writes a failed record with its reason to the DLQ topic and counts it
 * per reason (metric `aestream_dlq_records_total{reason}` and `counts()`).
 *
 * @example
 * const dlq = new DlqSink(new KafkaSink({ brokers, topic: 'sensors.dlq' }));
 * await dlq.send(record, new AeError(ErrorCodes.NON_FINITE, 'values[3] is NaN'));
 * record.ack();
 */
export class DlqSink {
  private readonly counter = dlqCounter();
  private readonly perReason = new Map<string, number>();

  constructor(readonly sink: MessageSink) {}

  /** Resolves when the dead letter is acked by the broker. */
  async send(record: KafkaRecord, error: AeError): Promise<void> {
    await this.sink.send(deadLetter(record, error));
    this.perReason.set(error.code, (this.perReason.get(error.code) ?? 0) + 1);
    this.counter.inc({ reason: error.code, topic: this.sink.topic });
  }

  /** Dead letters written by this sink, per reason code. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.perReason);
  }
}
