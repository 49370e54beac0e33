import { AeError } from '../../../src/core/errors';
import {
  describeSpec,
  parseRangeSpec,
  rangeSize,
  resolveRange,
  type OffsetLookup,
} from '../../../src/connectors/kafka/offset-range';

/**
 * A topic of 3 partitions as the admin client describes it: partition p holds offsets
 * [low, high) with one record per second from `t0`, so the offset of a time is computable.
 */
function fakeTopic(): OffsetLookup & { calls: string[] } {
  const t0 = Date.UTC(2026, 0, 1);
  const parts = [
    { partition: 0, low: 0, high: 100 },
    { partition: 1, low: 10, high: 60 },
    { partition: 2, low: 0, high: 0 },
  ];
  const calls: string[] = [];
  return {
    calls,
    async fetchTopicOffsets(topic) {
      calls.push(`offsets ${topic}`);
      return parts.map((p) => ({
        partition: p.partition,
        low: String(p.low),
        high: String(p.high),
        offset: String(p.high),
      }));
    },
    async fetchTopicOffsetsByTimestamp(topic, ts) {
      calls.push(`byTime ${topic} ${ts}`);
      // Record at offset o has timestamp t0 + o s; kafkajs answers the high watermark when
      // no record is that late.
      return parts.map((p) => {
        const o = Math.max(p.low, Math.ceil(((ts ?? 0) - t0) / 1000));
        return { partition: p.partition, offset: String(Math.min(o, p.high)) };
      });
    },
  };
}

describe('range specs', () => {
  it('parses every form the CLI documents', () => {
    expect(parseRangeSpec('earliest')).toEqual({ kind: 'earliest' });
    expect(parseRangeSpec('now')).toEqual({ kind: 'latest' });
    expect(parseRangeSpec('LATEST')).toEqual({ kind: 'latest' });
    expect(parseRangeSpec('1200')).toEqual({ kind: 'offset', offset: 1200 });
    const per = parseRangeSpec('0:5,2:7');
    expect(per.kind === 'offsets' && [...per.byPartition]).toEqual([
      [0, 5],
      [2, 7],
    ]);
    expect(parseRangeSpec('2026-01-01T00:01:00Z')).toEqual({
      kind: 'time',
      ms: Date.UTC(2026, 0, 1, 0, 1),
      text: '2026-01-01T00:01:00.000Z',
    });
    expect(describeSpec(parseRangeSpec('0:5,2:7'))).toBe('0:5,2:7');
  });

  it('refuses what it cannot read, naming the option', () => {
    for (const bad of ['yesterday', '2026-13-45T00:00:00Z', '-5', '0:1,0:2', '1:2:3', '']) {
      let err: unknown;
      try {
        parseRangeSpec(bad, '--to');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AeError);
      expect((err as AeError).code).toBe('AE_ERR_REPLAY_RANGE');
      expect((err as AeError).message).toContain('--to');
    }
  });
});

describe('resolveRange', () => {
  const t0 = Date.UTC(2026, 0, 1);

  it('earliest..now covers each partition from low to the high watermark read at the start', async () => {
    const ranges = await resolveRange(
      fakeTopic(),
      't',
      parseRangeSpec('earliest'),
      parseRangeSpec('now'),
    );
    expect(ranges).toEqual([
      { partition: 0, start: 0, end: 100 },
      { partition: 1, start: 10, end: 60 },
      { partition: 2, start: 0, end: 0 },
    ]);
    expect(rangeSize(ranges)).toBe(150);
  });

  it('turns times into the first offsets at or after them, end exclusive', async () => {
    const from = parseRangeSpec(new Date(t0 + 20_000).toISOString());
    const to = parseRangeSpec(new Date(t0 + 50_000).toISOString());
    const ranges = await resolveRange(fakeTopic(), 't', from, to);
    expect(ranges).toEqual([
      { partition: 0, start: 20, end: 50 },
      { partition: 1, start: 20, end: 50 },
      { partition: 2, start: 0, end: 0 },
    ]);
  });

  it('clamps offsets to what a partition holds, and a time after the data gives an empty range', async () => {
    expect(await resolveRange(fakeTopic(), 't', parseRangeSpec('5'), parseRangeSpec('80'))).toEqual(
      [
        { partition: 0, start: 5, end: 80 },
        { partition: 1, start: 10, end: 60 },
        { partition: 2, start: 0, end: 0 },
      ],
    );
    const late = parseRangeSpec(new Date(t0 + 999_000).toISOString());
    expect(rangeSize(await resolveRange(fakeTopic(), 't', late, parseRangeSpec('now')))).toBe(0);
  });

  it('per-partition starts leave the other partitions out; per-partition ends default to the end', async () => {
    const ranges = await resolveRange(
      fakeTopic(),
      't',
      parseRangeSpec('1:30'),
      parseRangeSpec('0:10'),
    );
    expect(ranges).toEqual([{ partition: 1, start: 30, end: 60 }]);
  });

  it('refuses an end before the start and a partition the topic does not have', async () => {
    const from = parseRangeSpec(new Date(t0 + 50_000).toISOString());
    const to = parseRangeSpec(new Date(t0 + 20_000).toISOString());
    await expect(resolveRange(fakeTopic(), 't', from, to)).rejects.toMatchObject({
      code: 'AE_ERR_REPLAY_RANGE',
    });
    await expect(
      resolveRange(fakeTopic(), 't', parseRangeSpec('7:0'), parseRangeSpec('now')),
    ).rejects.toThrow(/no partition 7/);
  });
});
