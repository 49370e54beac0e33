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
