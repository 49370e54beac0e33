import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { AeError, ErrorCodes } from '../core/errors';
import {
  describeSpec,
  rangeSize,
  resolveRange,
  type PartitionRange,
  type RangeSpec,
} from '../connectors/kafka/offset-range';

/** A run id for logs, tags and group names: time and a few random characters. */
export function newRunId(now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `r${t}-${randomBytes(2).toString('hex')}`;
}

/** What a replay reads: the range asked for and, before it, the warm-up. */
export interface ReplayPlan {
  /** The range asked for, per partition. */
  ranges: PartitionRange[];
  /** What is read: each partition from the earlier of its warm-up start and its range start. */
  readRanges: PartitionRange[];
  /** Records in the range. */
  total: number;
  /** Records read before the range, which fill windows and thresholds but write nothing. */
  warmup: number;
  /** Whether a record lies in the range (not in the warm-up). */
  inRange(record: { partition: number; offset: string }): boolean;
}

/**
 * Resolves a replay's range of `topic` (and its warm-up from `warmFrom`). Throws
 * AE_ERR_REPLAY_EMPTY_RANGE when the topic does not exist or the range holds no records,
 * naming each partition's offsets.
 */
export async function planReplay(
  admin: Admin,
  topic: string,
  spec: { from: RangeSpec; to: RangeSpec; warmFrom?: RangeSpec | undefined },
): Promise<ReplayPlan> {
  if (!(await admin.listTopics()).includes(topic)) {
    throw new AeError(ErrorCodes.REPLAY_EMPTY_RANGE, `input topic ${topic} does not exist`);
  }
  const ranges = await resolveRange(admin, topic, spec.from, spec.to);
  const total = rangeSize(ranges);
  if (total === 0) {
    const ends = (await admin.fetchTopicOffsets(topic))
      .sort((a, b) => a.partition - b.partition)
      .map((p) => `${p.partition}:[${p.low},${p.high})`)
      .join(' ');
    throw new AeError(
      ErrorCodes.REPLAY_EMPTY_RANGE,
      `no records in ${topic} from ${describeSpec(spec.from)} to ${describeSpec(spec.to)} ` +
        `(partition offsets ${ends || 'none'})`,
    );
  }
  const startOf = new Map(ranges.map((r) => [r.partition, r.start]));
  let readRanges: PartitionRange[] = ranges;
  if (spec.warmFrom) {
    const warm = await resolveRange(admin, topic, spec.warmFrom, { kind: 'latest' });
    const warmStart = new Map(warm.map((r) => [r.partition, r.start]));
    readRanges = ranges.map((r) => ({
      ...r,
      start: Math.min(r.start, warmStart.get(r.partition) ?? r.start),
    }));
  }
  return {
    ranges,
    readRanges,
    total,
    warmup: rangeSize(readRanges) - total,
    inRange: (record) => Number(record.offset) >= (startOf.get(record.partition) ?? 0),
  };
}
