import { ConfigResourceTypes, type Admin, type Consumer, type Kafka } from 'kafkajs';
import { uniqueName } from '../helpers/names';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * The local broker does what the pipeline relies on: keyed messages land in one partition
 * per key, in order, and a consumer group reads every one of them.
 */
describe('local Kafka broker', () => {
  let f: PipelineFixture;
  let kafka: Kafka;
  let admin: Admin;
  let topic: string;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    f = await pipelineFixture('stack-kafka', { createTopics: false });
    ({ kafka, admin } = f);
    topic = await f.topic(3);
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await f?.teardown();
  });

  it('delivers 10,000 keyed messages on 3 partitions, none lost, in order per key', async () => {
    const keys = 40;
    const perKey = 250;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Interleave keys the way sensors do; each message carries its per-key sequence number.
    const messages = [];
    for (let seq = 0; seq < perKey; seq++) {
      for (let k = 0; k < keys; k++) messages.push({ key: `source-${k}`, value: String(seq) });
    }
    for (let i = 0; i < messages.length; i += 1000) {
      await producer.send({ topic, messages: messages.slice(i, i + 1000) });
    }
    await producer.disconnect();

    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0].partitions).toHaveLength(3);

    const seen = new Map<string, number[]>();
    const partitionsOfKey = new Map<string, Set<number>>();
    let received = 0;
    consumer = kafka.consumer({ groupId: uniqueName('stack-kafka-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key!.toString();
        if (!seen.has(key)) seen.set(key, []);
        seen.get(key)!.push(Number(message.value!.toString()));
        if (!partitionsOfKey.has(key)) partitionsOfKey.set(key, new Set());
        partitionsOfKey.get(key)!.add(partition);
        received++;
      },
    });
    await waitFor(() => received >= keys * perKey, {
      what: `${keys * perKey} messages consumed`,
      timeoutMs: 60_000,
      state: () => ({ received }),
    });

    expect(received).toBe(keys * perKey);
    expect(seen.size).toBe(keys);
    const expected = Array.from({ length: perKey }, (_, i) => i);
    for (const [key, seqs] of seen) {
      expect({ key, seqs }).toEqual({ key, seqs: expected });
      expect(partitionsOfKey.get(key)!.size).toBe(1);
    }
    // The keys spread over all three partitions, so order is really per partition, not global.
    const used = new Set([...partitionsOfKey.values()].flatMap((s) => [...s]));
    expect(used.size).toBe(3);
  });

  it('keeps history: a topic of frames timestamped months ago is not deleted by time retention', async () => {
    // Frames carry their event time; with time retention the broker's periodic check deletes
    // replayed or synthetic history under a consumer that has not read it yet.
    const topicConfigs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    const retention = topicConfigs.resources[0].configEntries.find(
      (e) => e.configName === 'retention.ms',
    );
    expect(retention?.configValue).toBe('-1');
  });
});
