import type { Kafka } from 'kafkajs';
import { logger } from '../../observability/logger';

export interface TopicWaitOptions {
  /** Create the topic (broker defaults for partitions and replication) instead of waiting. */
  create?: boolean;
  /** True once the caller stops: the wait ends without the topic. */
  cancelled: () => boolean;
  /** How often the broker is asked again (default 1 s). */
  pollMs?: number;
}

/**
 * Waits until `topic` exists, or creates it: a detector started before anything was produced
 * (the topic not yet made by a producer) is ready as soon as the topic appears, instead of
 * failing. Logs once that it waits. Resolves true with the topic, false when cancelled.
 *
 * @example if (!(await waitForTopic(kafka, 'sensors.frames', { cancelled: () => stopping }))) return;
 */
export async function waitForTopic(
  kafka: Kafka,
  topic: string,
  { create = false, cancelled, pollMs = 1_000 }: TopicWaitOptions,
): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    let waiting = false;
    for (;;) {
      if ((await admin.listTopics()).includes(topic)) {
        if (waiting) logger.info({ topic }, `topic ${topic} appeared`);
        return true;
      }
      if (create) {
        await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
        logger.info({ topic }, `topic ${topic} created (input.kafka.createTopics)`);
        return true;
      }
      if (!waiting) {
        logger.warn({ topic }, `waiting for topic ${topic} (create it, or produce to it)`);
        waiting = true;
      }
      for (let slept = 0; slept < pollMs; slept += 100) {
        if (cancelled()) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
