import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Group = (args: {
  topic: string;
  partitionMetadata: unknown[];
  messages: Array<{ key: string }>;
  partitioner: (args: { message: { key: string } }) => number;
}) => Record<string, Array<{ key: string }>>;

// The function kafkajs's producer groups every send's messages with (patches/kafkajs+*.patch).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal file without types
const group = require('kafkajs/src/producer/groupMessagesPerPartition') as Group;

describe('the kafkajs patch (patch-package, applied on npm ci)', () => {
  const messages = Array.from({ length: 1_000 }, (_, i) => ({ key: `k${i}` }));
  const partitioner = ({ message }: { message: { key: string } }) =>
    Number(message.key.slice(1)) % 3;

  it('is listed for the kafkajs version installed', () => {
    const { version } = JSON.parse(
      readFileSync(require.resolve('kafkajs/package.json'), 'utf8'),
    ) as { version: string };
    expect(readdirSync(join(__dirname, '..', '..', '..', 'patches'))).toContain(
      `kafkajs+${version}.patch`,
    );
  });

  it('groups messages per partition in their order, without copying a partition per message', () => {
    // The unpatched function spreads the partition's array for every message: one array
    // iteration per message (a send of n messages copies O(n²) elements).
    const iterator = Array.prototype[Symbol.iterator];
    let iterations = 0;
    Array.prototype[Symbol.iterator] = function (this: unknown[]) {
      iterations++;
      return iterator.call(this);
    };
    let grouped: ReturnType<Group>;
    try {
      grouped = group({ topic: 't', partitionMetadata: [{}, {}, {}], messages, partitioner });
    } finally {
      Array.prototype[Symbol.iterator] = iterator;
    }
    expect(iterations).toBeLessThan(10);
    expect(Object.keys(grouped)).toEqual(['0', '1', '2']);
    for (const p of [0, 1, 2]) expect(grouped[p]).toEqual(messages.filter((_, i) => i % 3 === p));
    expect(group({ topic: 't', partitionMetadata: [], messages, partitioner })).toEqual({});
  });
});

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's internal files, without types */
type Encoded = { buffer: Buffer };
const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request') as (
  args: Record<string, unknown>,
) => unknown;
const encodeRequest = require('kafkajs/src/protocol/request') as (args: {
  correlationId: number;
  clientId: string;
  request: unknown;
}) => Promise<Encoded>;
const Long = require('kafkajs/src/utils/long') as {
  fromInt(n: number): unknown;
  fromValue(n: unknown): unknown;
};
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;
/* eslint-enable @typescript-eslint/no-require-imports */

describe('the kafkajs patch: produce requests encoded without zero-filled or regrown buffers', () => {
  // 3 partitions of 100 records of 1,000 bytes, each with a key, a header and a timestamp.
  const topicData = () => [
    {
      topic: 't.state',
      partitions: [0, 1, 2].map((partition) => ({
        partition,
        firstSequence: 7 * partition,
        messages: Array.from({ length: 100 }, (_, i) => ({
          key: `s-${partition}-${i}`,
          value: Buffer.alloc(1_000, (partition * 31 + i) % 251),
          headers: { 'ae.schema': '0123456789abcdef' },
          timestamp: String(1_700_000_000_000 + i),
        })),
      })),
    },
  ];

  it('writes the bytes upstream kafkajs 2.2.4 writes, allocating no zero-filled buffer and copying less', async () => {
    const data = topicData();
    const request = produceRequest({
      acks: -1,
      timeout: 30_000,
      producerId: Long.fromInt(5),
      producerEpoch: 1,
      topicData: data,
    });
    const { alloc, from } = Buffer;
    const { copy } = Buffer.prototype;
    const { fromValue } = Long;
    let allocs = 0;
    let froms = 0;
    let longs = 0;
    let copied = 0;
    Buffer.from = ((...args: Parameters<typeof from>) => {
      froms++;
      return from.apply(Buffer, args as [string]);
    }) as typeof from;
    Long.fromValue = (n) => {
      longs++;
      return fromValue.call(Long, n);
    };
    Buffer.alloc = ((...args: Parameters<typeof alloc>) => {
      allocs++;
      return alloc(...args);
    }) as typeof alloc;
    Buffer.prototype.copy = function (
      this: Buffer,
      target: Uint8Array,
      targetStart?: number,
      start = 0,
      end?: number,
    ) {
      copied += Math.max(0, Math.min(end ?? this.length, this.length) - start);
      return copy.call(this, target, targetStart, start, end);
    };
    let encoded: Encoded;
    try {
      encoded = await encodeRequest({ correlationId: 3, clientId: 'aestream', request });
    } finally {
      Buffer.alloc = alloc;
      Buffer.from = from;
      Buffer.prototype.copy = copy;
      Long.fromValue = fromValue;
    }
    // Recorded with the unpatched kafkajs 2.2.4: the patch changes how, not what, it writes.
    expect(encoded.buffer.length).toBe(313_040);
    expect(createHash('sha256').update(encoded.buffer).digest('hex')).toBe(
      '8cdd5de2a3861c687b568f00f4f0f26b40f3ec552062798075f77d9e9a78a0ff',
    );
    // Unpatched: 1,252 zero-filled allocations, 12.7 copies of the 300,000 value bytes, and per
    // record a Buffer per varint and Long arithmetic for its timestamp (2,400 and 1,644 calls).
    expect(allocs).toBe(0);
    expect(copied / 300_000).toBeLessThan(10);
    expect(froms).toBe(0);
    expect(longs).toBeLessThan(20);
  });

  it('computes CRC-32C as the byte-at-a-time definition does, at every length and alignment', () => {
    const table = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      return c >>> 0;
    });
    const reference = (b: Buffer) => {
      let crc = 0xffffffff;
      for (const x of b) crc = table[(crc ^ x) & 0xff]! ^ (crc >>> 8);
      return (crc ^ 0xffffffff) >>> 0;
    };
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    const bytes = randomBytes(4_096);
    for (let start = 0; start < 9; start++)
      for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 63, 1_000, 4_000])
        expect(crc32C(bytes.subarray(start, start + length))).toBe(
          reference(bytes.subarray(start, start + length)),
        );
  });
});

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's internal files, without types */
type Decoded = {
  records: Array<{
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[]>;
  }>;
};
const { RecordBatch: encodeBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (args: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
};
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (
  args: Record<string, unknown>,
) => unknown;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<Decoded>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
const Batch = require('kafkajs/src/consumer/batch') as new (
  topic: string,
  fetchedOffset: string,
  data: { partition: number; messages: Array<{ offset: string }> },
) => { messages: Array<{ offset: string }> };
/* eslint-enable @typescript-eslint/no-require-imports */

describe('the kafkajs patch: fetched records decoded without BigInt arithmetic per record', () => {
  // Timestamp deltas of 1, 2 and 3 varint bytes, a negative one, and one past 2^49 (9 bytes).
  const deltas = [0, 1, 100, 20_000, -5, 2 ** 50 + 3];
  const batch = (firstOffset: bigint, firstTimestamp: bigint) =>
    encodeBatch({
      firstOffset: Long.fromValue(firstOffset),
      firstTimestamp: Long.fromValue(firstTimestamp),
      maxTimestamp: Long.fromValue(firstTimestamp),
      lastOffsetDelta: deltas.length - 1,
      records: deltas.map((timestampDelta, offsetDelta) =>
        encodeRecord({
          offsetDelta,
          timestampDelta: Long.fromValue(timestampDelta),
          key: offsetDelta === 2 ? null : Buffer.from(`k${offsetDelta}`),
          value: Buffer.from(`v${offsetDelta}`),
          headers: offsetDelta === 1 ? { a: ['1', '2', '3'], b: 'x' } : { 'ae.schema': 'abc' },
        }),
      ),
    });

  it.each([
    ['offsets and times as numbers', 1_234n, 1_700_000_000_000n],
    ['offsets past 2^53 (the BigInt path)', 2n ** 60n, 1_700_000_000_000n],
    ['times past 2^53', 7n, 2n ** 62n],
  ])(
    'gives each record the offset, time, key, value and headers it was written with: %s',
    async (_, firstOffset, firstTimestamp) => {
      const { buffer } = await batch(firstOffset, firstTimestamp);
      const { fromValue } = Long;
      let longs = 0;
      Long.fromValue = (n) => {
        longs++;
        return fromValue.call(Long, n);
      };
      let decoded: Decoded;
      try {
        decoded = await decodeBatch(new Decoder(buffer));
      } finally {
        Long.fromValue = fromValue;
      }
      expect(decoded.records.map((r) => r.offset)).toEqual(
        deltas.map((_, i) => String(firstOffset + BigInt(i))),
      );
      expect(decoded.records.map((r) => r.timestamp)).toEqual(
        deltas.map((d) => String(firstTimestamp + BigInt(d))),
      );
      expect(decoded.records.map((r) => r.key?.toString() ?? null)).toEqual(
        deltas.map((_, i) => (i === 2 ? null : `k${i}`)),
      );
      expect(decoded.records.map((r) => r.value?.toString())).toEqual(
        deltas.map((_, i) => `v${i}`),
      );
      const headers = decoded.records.map((r) =>
        Object.fromEntries(
          Object.entries(r.headers).map(([k, v]) => [
            k,
            Array.isArray(v) ? v.map(String) : String(v),
          ]),
        ),
      );
      expect(headers[1]).toEqual({ a: ['1', '2', '3'], b: 'x' });
      expect(headers[0]).toEqual({ 'ae.schema': 'abc' });
      // Unpatched: two Longs parsed from the batch's strings per record (12 here). Only the
      // delta past 2^49 and whatever is past 2^53 take Long arithmetic now.
      if (firstOffset < 2n ** 53n && firstTimestamp < 2n ** 53n) expect(longs).toBe(1);
    },
  );

  it('passes on the messages at and after the fetched offset, as upstream does', () => {
    const messages = ['8', '9', '10', '11'].map((offset) => ({ offset }));
    expect(new Batch('t', '10', { partition: 0, messages }).messages).toEqual(messages.slice(2));
    const big = ['18014398509481983', '18014398509481984', '18014398509481985'].map((offset) => ({
      offset,
    }));
    expect(new Batch('t', '18014398509481984', { partition: 0, messages: big }).messages).toEqual(
      big.slice(1),
    );
  });
});
