import type { Admin, Kafka } from 'kafkajs';
import { readPartitions } from '../connectors/kafka/state-topic';
import type { PartitionRange } from '../connectors/kafka/offset-range';
import { AeError, ErrorCodes } from '../core/errors';
import { sourceStateCodec, type SourceStateRecord } from '../operators/source-states';

/** The state a replay starts from (`--warm-from state`). */
export interface StateWarmUp {
  /** Per source, its latest state record that includes only frames before the range. */
  states: SourceStateRecord[];
  /** Per partition with such states: where reading starts (after the oldest of them). */
  starts: Map<number, number>;
  /** State records read, and those that did not decode or belong to another pipeline. */
  read: number;
  unusable: number;
}

/**
 * Reads the pipeline's state changelog for a replay of `ranges`: for each source, the
 * latest record whose covered offset lies before the range's start in its partition. The
 * changelog is compacted, so such a record is only there while its segment is not yet
 * compacted (a replay of the recent past), or when the source sent nothing since. A
 * replay restores these and reads each partition from just after the oldest of them:
 * every source then enters the range as production had it (see `replay`).
 *
 * @example const warm = await stateBefore(kafka, admin, 'sensors.state', 'sensors', plan.ranges, 'g');
 */
export async function stateBefore(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  pipeline: string,
  ranges: readonly PartitionRange[],
  groupId: string,
): Promise<StateWarmUp> {
  if (!(await admin.listTopics()).includes(topic)) {
    throw new AeError(
      ErrorCodes.REPLAY_RANGE,
      `--warm-from state: the state topic ${topic} does not exist (state.enabled false, or no detector ran yet)`,
    );
  }
  const startOf = new Map(ranges.map((r) => [r.partition, r.start]));
  const records = await readPartitions(kafka, admin, topic, [...startOf.keys()], groupId);
  const codec = sourceStateCodec();
  const latest = new Map<string, SourceStateRecord>();
  let unusable = 0;
  for (const r of records) {
    if (r.value.length === 0) continue;
    let state: SourceStateRecord;
    try {
      state = codec.decode(r.value, r.headers);
    } catch {
      unusable++;
      continue;
    }
    if (state.pipeline !== pipeline) {
      unusable++;
      continue;
    }
    const start = startOf.get(state.partition);
    // Records of a partition arrive in the order they were written: the last one before the range wins.
    if (start !== undefined && state.offset < start) latest.set(state.source, state);
  }
  const states = [...latest.values()];
  const starts = new Map<number, number>();
  for (const s of states) {
    const from = s.offset + 1;
    starts.set(s.partition, Math.min(starts.get(s.partition) ?? from, from));
  }
  return { states, starts, read: records.length, unusable };
}
