import { AeError, ErrorCodes } from '../../core/errors';

/**
 * Where a bounded read of a topic starts or ends, as a user writes it on the command line:
 *
 * | text                    | meaning                                                      |
 * |-------------------------|--------------------------------------------------------------|
 * | `earliest`              | the first offset still in each partition                     |
 * | `now`, `latest`         | each partition's end, captured when the read starts          |
 * | `2026-01-01T10:00:00Z`  | the first offset whose timestamp is >= that time (ISO 8601)  |
 * | `1200`                  | that offset in every partition                               |
 * | `0:1200,2:900`          | those offsets in those partitions                            |
 *
 * Ends are exclusive: `--from 0:100 --to 0:200` reads offsets 100..199 of partition 0.
 */
export type RangeSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'time'; ms: number; text: string }
  | { kind: 'offset'; offset: number }
  | { kind: 'offsets'; byPartition: ReadonlyMap<number, number> };

/** The offsets of one partition a bounded read covers: `start` <= offset < `end`. */
export interface PartitionRange {
  partition: number;
  start: number;
  end: number;
}

/** What resolving a range needs from the Kafka admin client (kafkajs' Admin has both). */
export interface OffsetLookup {
  fetchTopicOffsets(
    topic: string,
  ): Promise<Array<{ partition: number; low: string; high: string; offset?: string }>>;
  fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp?: number,
  ): Promise<Array<{ partition: number; offset: string }>>;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ].*)?$/;

/**
 * Parses a `--from` / `--to` value. Throws AE_ERR_REPLAY_RANGE naming the option and
 * the forms it takes.
 *
 * @example parseRangeSpec('2026-01-01T00:00:00Z', '--from') // { kind: 'time', ms: 1767225600000, ... }
 */
export function parseRangeSpec(text: string, option = '--from'): RangeSpec {
  const value = text.trim();
  const lower = value.toLowerCase();
  if (lower === 'earliest' || lower === 'beginning') return { kind: 'earliest' };
  if (lower === 'now' || lower === 'latest' || lower === 'end') return { kind: 'latest' };
  if (/^\d+$/.test(value)) return { kind: 'offset', offset: Number(value) };
  if (/^\d+:\d+(,\d+:\d+)*$/.test(value)) {
    const byPartition = new Map<number, number>();
    for (const pair of value.split(',')) {
      const [p, o] = pair.split(':').map(Number) as [number, number];
      if (byPartition.has(p)) throw rangeError(option, text, `partition ${p} is given twice`);
      byPartition.set(p, o);
    }
    return { kind: 'offsets', byPartition };
  }
  if (ISO_DATE.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return { kind: 'time', ms, text: new Date(ms).toISOString() };
  }
  throw rangeError(
    option,
    text,
    'expected an ISO time (2026-01-01T10:00:00Z), "earliest", "now", an offset (1200) or offsets per partition (0:1200,1:900)',
  );
}

function rangeError(option: string, text: string, why: string): AeError {
  return new AeError(ErrorCodes.REPLAY_RANGE, `${option} '${text}': ${why}`);
}

/** A spec as the summary prints it. */
export function describeSpec(spec: RangeSpec): string {
  switch (spec.kind) {
    case 'earliest':
      return 'earliest';
    case 'latest':
      return 'now';
    case 'time':
      return spec.text;
    case 'offset':
      return `offset ${spec.offset}`;
    case 'offsets':
      return [...spec.byPartition].map(([p, o]) => `${p}:${o}`).join(',');
  }
}

/**
 * Turns `from` / `to` into offsets per partition of `topic`. The partitions' ends are read
 * once, here: records produced after this call are never part of the range, so a read of
 * it stops by itself. Offsets outside what a partition holds are clamped to it; a
 * partition named in neither per-partition spec of `from` is left out.
 *
 * @example await resolveRange(admin, 'sensors.frames', parseRangeSpec('earliest'), parseRangeSpec('now'))
 */
export async function resolveRange(
  lookup: OffsetLookup,
  topic: string,
  from: RangeSpec,
  to: RangeSpec,
): Promise<PartitionRange[]> {
  if (from.kind === 'time' && to.kind === 'time' && to.ms < from.ms) {
    throw new AeError(ErrorCodes.REPLAY_RANGE, `--to ${to.text} is before --from ${from.text}`);
  }
  const bounds = await lookup.fetchTopicOffsets(topic);
  const at = async (spec: RangeSpec, which: 'from' | 'to'): Promise<Map<number, number>> => {
    const out = new Map<number, number>();
    if (spec.kind === 'time') {
      for (const p of await lookup.fetchTopicOffsetsByTimestamp(topic, spec.ms)) {
        out.set(p.partition, Number(p.offset));
      }
      return out;
    }
    for (const b of bounds) {
      const low = Number(b.low);
      const high = Number(b.high);
      let offset: number | undefined;
      if (spec.kind === 'earliest') offset = low;
      else if (spec.kind === 'latest') offset = high;
      else if (spec.kind === 'offset') offset = spec.offset;
      else offset = spec.byPartition.get(b.partition) ?? (which === 'to' ? high : undefined);
      if (offset !== undefined) out.set(b.partition, offset);
    }
    return out;
  };
  const [starts, ends] = [await at(from, 'from'), await at(to, 'to')];
  if (from.kind === 'offsets' || to.kind === 'offsets') {
    const known = new Set(bounds.map((b) => b.partition));
    for (const spec of [from, to]) {
      if (spec.kind !== 'offsets') continue;
      for (const p of spec.byPartition.keys()) {
        if (!known.has(p)) {
          throw new AeError(
            ErrorCodes.REPLAY_RANGE,
            `${topic} has no partition ${p} (partitions: ${[...known].sort((a, b) => a - b).join(', ')})`,
          );
        }
      }
    }
  }
  const ranges: PartitionRange[] = [];
  for (const b of [...bounds].sort((x, y) => x.partition - y.partition)) {
    const start = starts.get(b.partition);
    if (start === undefined) continue;
    const low = Number(b.low);
    const high = Number(b.high);
    const clamp = (o: number) => Math.min(high, Math.max(low, o));
    const s = clamp(start);
    const e = clamp(ends.get(b.partition) ?? high);
    ranges.push({ partition: b.partition, start: s, end: Math.max(s, e) });
  }
  return ranges;
}

/** Records in the ranges. */
export function rangeSize(ranges: readonly PartitionRange[]): number {
  return ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
}
