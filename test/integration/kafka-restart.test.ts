import type { Kafka } from 'kafkajs';
import { Subscription } from 'rxjs';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { KafkaSource } from '../../src/connectors/kafka/kafka-source';
import { uniqueName } from '../helpers/names';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * At-least-once across a crash, against the real broker. A first consumer processes part of
 * a topic, leaving records unacked (a slow sink), and is then killed: disconnected at once,
 * with no final commit. A second consumer of the same group must then process every record
 * the first one did not finish; the test counts every frame and the duplicates.
 */
describe('KafkaSource crash and restart (real broker)', () => {
  let f: PipelineFixture;
  let kafka: Kafka;
  let topic: string;
  beforeAll(async () => {
    f = await pipelineFixture('kafka-restart', { createTopics: false });
    kafka = f.kafka;
    topic = await f.topic(3);
  });
  afterAll(() => f?.teardown());

  it('processes every frame at least once when a consumer is killed mid-stream and another takes over', async () => {
    const total = 20_000;
    const sink = new KafkaSink({ brokers: f.brokers, topic, kafka, batchSize: 5_000 });
    await sink.connect();
    await sink.sendMany(
      Array.from({ length: total }, (_, i) => ({
        key: `k${i % 30}`,
        value: Buffer.from(String(i)),
      })),
    );
    await sink.disconnect();

    const group = uniqueName('kafka-restart-group');
    const processed = new Map<string, number>(); // frame id -> times fully processed (acked)
    const processedBy = { first: 0, second: 0 };
    const count = (id: string, who: 'first' | 'second') => {
      processed.set(id, (processed.get(id) ?? 0) + 1);
      processedBy[who]++;
    };

    // First consumer: acks 3 of every 4 records at once; every 4th stays "in the sink".
    const first = new KafkaSource({
      brokers: f.brokers,
      topic,
      group,
      kafka,
      fromBeginning: true,
      commitIntervalMs: 100,
      maxInFlight: 1_000,
    });
    let seenByFirst = 0;
    const unfinished: string[] = [];
    const sub1: Subscription = first.records().subscribe((r) => {
      seenByFirst++;
      const id = r.value.toString();
      if (Number(id) % 4 === 3) unfinished.push(id);
      else {
        count(id, 'first');
        r.ack();
      }
    });
    await waitFor(() => seenByFirst >= 2_000, { what: 'the first consumer to be mid-stream' });
    await first.commit();
    await first.abort(); // the kill: no drain, no final commit
    sub1.unsubscribe();
    expect(processedBy.first).toBeLessThan(total);

    // Second consumer, same group and config: picks up from the last commit (and from the
    // beginning on a partition the first one never committed).
    const second = new KafkaSource({
      brokers: f.brokers,
      topic,
      group,
      kafka,
      fromBeginning: true,
      commitIntervalMs: 100,
    });
    const sub2 = second.records().subscribe((r) => {
      count(r.value.toString(), 'second');
      r.ack();
    });
    await waitFor(() => processed.size === total, {
      what: 'every frame processed',
      timeoutMs: 60_000,
      state: () => ({ processed: processed.size, ...processedBy }),
    });
    await second.stop();
    sub2.unsubscribe();

    const missing = Array.from({ length: total }, (_, i) => String(i)).filter(
      (id) => !processed.has(id),
    );
    expect(missing).toEqual([]);
    // every record the first consumer left unfinished was processed by the second
    expect(unfinished.length).toBeGreaterThan(0);
    expect(unfinished.filter((id) => !processed.has(id))).toEqual([]);
    const duplicates = [...processed.values()].filter((n) => n > 1).length;
    // redelivery is bounded by what was in flight after the last commit, never the whole topic
    expect(duplicates).toBeLessThan(seenByFirst);
    expect(processedBy.first + processedBy.second).toBe(
      total + [...processed.values()].reduce((a, n) => a + n - 1, 0),
    );
  }, 90_000);
  it('does not skip records when a group that starts at the latest offset crashes before its first commit', async () => {
    const topic2 = await f.topic(3, 'latest');
    const sink = new KafkaSink({ brokers: f.brokers, topic: topic2, kafka });
    await sink.connect();
    await sink.sendMany(
      Array.from({ length: 100 }, (_, i) => ({
        key: `k${i % 9}`,
        value: Buffer.from(`old-${i}`),
      })),
    );

    const group = uniqueName('kafka-restart-latest-group');
    const first = new KafkaSource({
      brokers: f.brokers,
      topic: topic2,
      group,
      kafka,
      commitIntervalMs: 100,
    });
    let seenByFirst = 0;
    const sub1 = first.records().subscribe(() => void seenByFirst++); // never acks: nothing committed
    await waitFor(() => first.assignedPartitions().length === 3, {
      what: 'the first consumer to join',
    });
    await sink.sendMany(
      Array.from({ length: 300 }, (_, i) => ({
        key: `k${i % 9}`,
        value: Buffer.from(`new-${i}`),
      })),
    );
    await waitFor(() => seenByFirst === 300, {
      what: 'the first consumer to see the new records',
    });
    await first.abort();
    sub1.unsubscribe();

    const second = new KafkaSource({ brokers: f.brokers, topic: topic2, group, kafka });
    const seen = new Set<string>();
    const sub2 = second.records().subscribe((r) => {
      seen.add(r.value.toString());
      r.ack();
    });
    await waitFor(() => seen.size >= 300, {
      what: 'the new records again',
      state: () => seen.size,
    });
    await second.stop();
    sub2.unsubscribe();
    await sink.disconnect();
    expect([...seen].filter((v) => v.startsWith('new-')).length).toBe(300);
    // and the records from before the group existed are still not read (latest means latest)
    expect([...seen].some((v) => v.startsWith('old-'))).toBe(false);
  }, 60_000);
});
