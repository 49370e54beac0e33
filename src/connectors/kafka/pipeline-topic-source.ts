import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { Observable } from 'rxjs';
import { createAvroCodec } from '../../codecs/avro-codec';
import { messageOf, type ErrorCode } from '../../core/errors';
import { logger } from '../../observability/logger';
import { kafkaError } from './kafka-errors';

/**
 * Makes sure a shared control topic exists (one partition, so records keep their order);
 * a no-op when it exists. `compact` keeps only the latest record per key.
 */
export async function ensureSharedTopic(
  kafka: Kafka,
  topic: string,
  options: { compact: boolean },
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (existing.includes(topic)) return;
    // Resolves false, not an error, when another process created it in the meantime.
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          configEntries: options.compact ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

export interface PipelineTopicOptions {
  /** The shared topic, e.g. aestream.models or aestream.control. */
  topic: string;
  /** Only records keyed by this pipeline are read. */
  pipeline: string;
  /** The Avro record type of the topic (a schemas/*.avsc name). */
  recordType: string;
  /** What the records are, for log lines ("model release", "threshold command"). */
  what: string;
  /** Reason code logged for a record that does not decode. */
  badRecordCode: ErrorCode;
  /** Create the topic compacted when it does not exist. */
  compact: boolean;
}

/**
 * One pipeline's records on a shared control topic (model releases, threshold commands),
 * from the start of the topic, then as they are published. Every reader uses a consumer
 * group of its own and commits nothing, so every running detector sees every record. A
 * record that does not decode is logged with its coordinates and skipped: a bad control
 * record must never stop a detector.
 *
 * @example
 * const source = new PipelineTopicSource<ThresholdCommand>(kafka, { topic: 'aestream.control', pipeline: 'sensors', recordType: 'ThresholdCommand', what: 'threshold command', badRecordCode: ErrorCodes.THRESHOLD_COMMAND, compact: false });
 * source.records().subscribe(apply);
 */
export class PipelineTopicSource<T> {
  private readonly consumer: Consumer;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: PipelineTopicOptions,
  ) {
    const id = `${hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
    const kind = options.recordType.toLowerCase();
    this.consumer = kafka.consumer({
      groupId: `aestream.${kind}.${options.pipeline}.${id}`,
      sessionTimeout: 10_000,
      // Control records are few; answer within a fraction of a second.
      maxWaitTimeInMs: 100,
    });
  }

  records(): Observable<T> {
    const { kafka, consumer, options } = this;
    const { topic, pipeline, what } = options;
    return new Observable<T>((subscriber) => {
      const codec = createAvroCodec<T>(options.recordType);
      const start = async () => {
        await ensureSharedTopic(kafka, topic, { compact: options.compact });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ message, partition }) => {
            if (message.key?.toString('utf8') !== pipeline || !message.value) return;
            let record: T;
            try {
              record = codec.decode(message.value, message.headers as never);
            } catch (err) {
              logger.warn(
                {
                  pipeline,
                  topic,
                  partition,
                  offset: message.offset,
                  code: options.badRecordCode,
                  err: messageOf(err),
                },
                `${what} does not decode; skipped`,
              );
              return;
            }
            subscriber.next(record);
          },
        });
      };
      start().catch((err: unknown) => {
        if (!this.stopped) {
          subscriber.error(kafkaError(`${what}s on ${topic}`, err));
        }
      });
      return () => void this.stop();
    });
  }

  /** Leaves the group and disconnects; resolves when done. */
  stop(): Promise<void> {
    this.stopped ??= this.consumer.disconnect().catch(() => undefined);
    return this.stopped;
  }
}
