import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { Observable } from 'rxjs';
import { createAvroCodec } from '../codecs/avro-codec';
import type { ModelRelease } from '../codecs/records';
import { AeError, ErrorCodes, messageOf } from '../errors';
import { logger } from '../observability/logger';

/**
 * Makes sure the releases topic exists as a compacted topic (the latest release per
 * pipeline key is kept forever); a no-op when it exists.
 */
export async function ensureReleaseTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (existing.includes(topic)) return;
    await admin
      .createTopics({
        topics: [
          {
            topic,
            numPartitions: 1,
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
        waitForLeaders: true,
      })
      .catch((err: unknown) => {
        // Another detector may have created it in the meantime.
        if (!/already exists/i.test(messageOf(err))) throw err;
      });
  } finally {
    await admin.disconnect();
  }
}

/**
 * The releases of one pipeline on the releases topic, from the start of the (compacted)
 * topic, then as they are published. Each detector reads with a group of its own, so
 * every detector sees every release. A record that does not decode is logged and skipped:
 * a bad release must never stop the detector.
 *
 * @example
 * const source = new ReleaseSource(kafka, 'aestream.models', 'sensors');
 * source.releases().subscribe((r) => swapTo(r));
 * await source.stop();
 */
export class ReleaseSource {
  private readonly consumer: Consumer;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly pipeline: string,
  ) {
    const groupId = `aestream.releases.${pipeline}.${hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
    this.consumer = kafka.consumer({ groupId, sessionTimeout: 10_000 });
  }

  releases(): Observable<ModelRelease> {
    const { kafka, topic, pipeline, consumer } = this;
    return new Observable<ModelRelease>((subscriber) => {
      const codec = createAvroCodec<ModelRelease>('ModelRelease');
      const start = async () => {
        await ensureReleaseTopic(kafka, topic);
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message, partition }) => {
            if (message.key?.toString('utf8') !== pipeline || !message.value) return;
            try {
              subscriber.next(codec.decode(message.value, message.headers as never));
            } catch (err) {
              logger.warn(
                {
                  pipeline,
                  topic,
                  partition,
                  offset: message.offset,
                  code: ErrorCodes.MODEL_CORRUPT,
                  err: messageOf(err),
                },
                'model release does not decode; skipped',
              );
            }
          },
        });
      };
      start().catch((err: unknown) => {
        if (!this.stopped) {
          subscriber.error(
            new AeError(ErrorCodes.KAFKA, `model releases on ${topic}: ${messageOf(err)}`, {
              cause: err,
              retriable: true,
            }),
          );
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
