import type { Admin } from 'kafkajs';

export interface PartitionLag {
  partition: number;
  /** Messages between the group's committed offset and the partition's end. */
  lag: number;
}

/**
 * The consumer lag of a group on a topic, per partition: end offset minus committed
 * offset (a partition without a commit counts from its start). What KEDA scales on.
 *
 * @example await consumerLag(admin, 'aestream-sensors', 'sensors.frames') // [{ partition: 0, lag: 12 }, ...]
 */
export async function consumerLag(
  admin: Admin,
  group: string,
  topic: string,
): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const committedBy = new Map<number, number>();
  for (const p of committed[0]?.partitions ?? []) committedBy.set(p.partition, Number(p.offset));
  return ends
    .map((end) => {
      const at = committedBy.get(end.partition) ?? -1;
      const from = at >= 0 ? at : Number(end.low);
      return { partition: end.partition, lag: Math.max(0, Number(end.high) - from) };
    })
    .sort((a, b) => a.partition - b.partition);
}
