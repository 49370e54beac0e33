import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import { lastValueFrom, tap } from 'rxjs';
import { AeError, ErrorCodes, messageOf } from '../../core/errors';
import type { KafkaRecord } from '../../core/kafka-record';
import { logger } from '../../observability/logger';
import { KafkaRangeSource } from './kafka-range-source';

/**
 * Makes sure a pipeline's state changelog exists and fits its input: compacted (only the
 * latest record per source is kept) and co-partitioned (the same partition count, so the
 * sources of input partition p keep their state in state partition p). Creates it when it
 * is missing; refuses one that does not fit with AE_ERR_STATE_TOPIC. Returns the partition
 * count; null when the input topic does not exist yet (nothing to match).
 *
 * @example await ensureStateTopic(admin, 'sensors.state', 'sensors.frames') // 6
 */
export async function ensureStateTopic(
  admin: Admin,
  topic: string,
  inputTopic: string,
): Promise<number | null> {
  const partitions = await partitionCount(admin, inputTopic);
  if (partitions === null) return null;
  const existing = await partitionCount(admin, topic);
  if (existing === null) {
    // False (not an error) when another detector of the pipeline created it meanwhile.
    const created = await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: partitions,
          configEntries: STATE_TOPIC_CONFIG,
        },
      ],
      waitForLeaders: true,
    });
    if (created) logger.info({ topic, partitions, input: inputTopic }, 'state topic created');
    return ensureStateTopic(admin, topic, inputTopic);
  }
  if (existing !== partitions) {
    throw new AeError(
      ErrorCodes.STATE_TOPIC,
      `state topic ${topic} has ${existing} partitions but the input ${inputTopic} has ${partitions}: ` +
        `they must match so each source's state sits in its input partition (delete ${topic} to have it created again, or set state.topic)`,
    );
  }
  const policy = await cleanupPolicy(admin, topic);
  if (!policy.split(',').includes('compact')) {
    throw new AeError(
      ErrorCodes.STATE_TOPIC,
      `state topic ${topic} has cleanup.policy=${policy}: it must be compacted, or old sources' state is deleted ` +
        `(kafka-configs --alter --entity-type topics --entity-name ${topic} --add-config cleanup.policy=compact)`,
    );
  }
  return partitions;
}

/**
 * Compacted, with segments rolled every 10 minutes or 64 MB: compaction only cleans closed
 * segments, and a restore reads the open one whole (a record per changed source per commit).
 */
const STATE_TOPIC_CONFIG = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.ms', value: String(10 * 60_000) },
  { name: 'segment.bytes', value: String(64 * 1024 * 1024) },
];

async function partitionCount(admin: Admin, topic: string): Promise<number | null> {
  if (!(await admin.listTopics()).includes(topic)) return null;
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]?.partitions.length ?? null;
}

async function cleanupPolicy(admin: Admin, topic: string): Promise<string> {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
    includeSynonyms: false,
  });
  const entry = resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy');
  return entry?.configValue ?? 'delete';
}

/**
 * Every record of the given partitions of a topic, from their start to their end as of
 * the call (a compacted changelog: its latest record per key is what counts), read by a
 * throwaway consumer group that is deleted afterwards.
 *
 * @example const records = await readPartitions(kafka, admin, 'sensors.state', [0, 3], 'g-restore-1');
 */
export async function readPartitions(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  partitions: readonly number[],
  groupId: string,
): Promise<KafkaRecord[]> {
  const wanted = new Set(partitions);
  const ranges = (await admin.fetchTopicOffsets(topic))
    .filter((p) => wanted.has(p.partition))
    .map((p) => ({ partition: p.partition, start: Number(p.low), end: Number(p.high) }));
  if (ranges.every((r) => r.end <= r.start)) return [];
  const source = new KafkaRangeSource({ kafka, topic, ranges, groupId, maxInFlight: 1_000_000 });
  const records: KafkaRecord[] = [];
  await lastValueFrom(
    source.records().pipe(
      tap((r) => {
        records.push(r);
        r.ack();
      }),
    ),
    { defaultValue: null },
  );
  await source.disconnected();
  await admin
    .deleteGroups([groupId])
    .catch((err: unknown) => logger.debug({ err: messageOf(err) }, 'restore group not deleted'));
  return records;
}
