import { bufferCount, concatMap, mergeAll, tap } from 'rxjs';
import type { Kafka } from 'kafkajs';
import type { KafkaRecord } from '../../src/core/kafka-record';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { SensorFrame } from '../../src/core/records';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { KafkaSource } from '../../src/connectors/kafka/kafka-source';
import { decodeRecords } from '../../src/operators/decode-records';
import { uniqueName } from '../helpers/names';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * The data plane's Kafka ends against the real broker: 100,000 Avro frames from 50 sources
 * go through KafkaSink to a 3-partition topic and come back through KafkaSource in order
 * per source; once everything is acked, the group's committed offsets reach the end.
 */
describe('KafkaSink -> KafkaSource (real broker)', () => {
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  let f: PipelineFixture;
  let kafka: Kafka;
  beforeAll(async () => {
    f = await pipelineFixture('kafka-dp', { createTopics: false });
    kafka = f.kafka;
  });
  afterAll(() => f?.teardown());
  const topicWith = (partitions: number) => f.topic(partitions);

  it('carries 100,000 frames on 3 partitions, every one, in order per key, and commits to the end', async () => {
    const topic = await topicWith(3);
    const keys = 50;
    const total = 100_000;
    const sink = new KafkaSink({ brokers: f.brokers, topic, kafka, batchSize: 5_000 });
    await sink.connect();
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      const source = `sensor-${i % keys}`;
      const seq = Math.floor(i / keys);
      const value = codec.encode({
        source,
        time: 1_700_000_000_000 + i,
        values: [Math.sin(i)],
        seq,
        attributes: {},
      });
      sends.push(sink.send({ key: source, value, headers: codec.headers }));
    }
    await Promise.all(sends);
    await sink.disconnect();
    expect(sink.acked).toBe(total);

    const group = uniqueName('kafka-dp-group');
    const source = new KafkaSource({
      brokers: f.brokers,
      topic,
      group,
      kafka,
      fromBeginning: true,
      maxInFlight: 2_000,
      commitIntervalMs: 200,
    });
    const lastSeq = new Map<string, number>();
    const partitionOf = new Map<string, number>();
    const outOfOrder: string[] = [];
    let received = 0;
    let maxInFlight = 0;
    const sub = source
      .records()
      .pipe(
        decodeRecords(codec),
        tap(() => (maxInFlight = Math.max(maxInFlight, source.inFlight()))),
        // an asynchronous, batching sink: acks arrive later than the records, 500 at a time
        bufferCount(500),
        concatMap(async (batch) => {
          await new Promise<void>((r) => setImmediate(r));
          return batch;
        }),
        mergeAll(),
      )
      .subscribe((o) => {
        if (!o.ok) throw o.error;
        const f = o.value;
        const prev = lastSeq.get(f.source) ?? -1;
        if (f.seq !== prev + 1) outOfOrder.push(`${f.source}: ${prev} then ${f.seq}`);
        lastSeq.set(f.source, f.seq ?? -1);
        if ((partitionOf.get(f.source) ?? o.record.partition) !== o.record.partition)
          outOfOrder.push(`${f.source} on two partitions`);
        partitionOf.set(f.source, o.record.partition);
        received++;
        o.record.ack();
      });
    await waitFor(() => received >= total, {
      what: '100,000 frames consumed',
      timeoutMs: 90_000,
      state: () => ({ received }),
    });
    const result = await source.stop();
    sub.unsubscribe();

    expect(received).toBe(total);
    expect(outOfOrder).toEqual([]);
    expect([...lastSeq.values()].every((s) => s === total / keys - 1)).toBe(true);
    expect(new Set(partitionOf.values()).size).toBe(3);
    expect(result).toEqual({ drained: true, inFlight: 0 });
    // in-flight stayed bounded: maxInFlight per partition, 3 partitions
    expect(maxInFlight).toBeLessThanOrEqual(3 * 2_000);

    const { ends, committed } = await f.offsets(topic, group);
    expect(committed).toEqual(ends);
  }, 120_000);

  it('commits only up to the first unacked record of each partition', async () => {
    const topic = await topicWith(1);
    const sink = new KafkaSink({ brokers: f.brokers, topic, kafka });
    await sink.connect();
    await sink.sendMany(
      Array.from({ length: 100 }, (_, i) => ({
        key: 'k',
        value: codec.encode({ source: 'k', time: i, values: [i], seq: i, attributes: {} }),
      })),
    );
    await sink.disconnect();

    const group = uniqueName('kafka-dp-group');
    const source = new KafkaSource({
      brokers: f.brokers,
      topic,
      group,
      kafka,
      fromBeginning: true,
      commitIntervalMs: 100,
    });
    const seen: number[] = [];
    const sub = source.records().subscribe((r) => {
      seen.push(Number(r.offset));
      if (Number(r.offset) !== 40) r.ack(); // offset 40 never finishes
    });
    await waitFor(() => seen.length === 100, { what: '100 records' });
    await source.commit();
    const result = await source.stop(500);
    sub.unsubscribe();
    expect(result).toEqual({ drained: false, inFlight: 60 });
    expect((await f.offsets(topic, group)).committed).toEqual([40]);
  }, 60_000);
  it('holds a partition at maxInFlight until half is acked, goes on without a record twice, and stops while holding', async () => {
    const topic = await topicWith(1);
    const sink = new KafkaSink({ brokers: f.brokers, topic, kafka });
    await sink.connect();
    await sink.sendMany(
      Array.from({ length: 1_000 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })),
    );
    await sink.disconnect();

    const source = new KafkaSource({
      brokers: f.brokers,
      topic,
      group: uniqueName('kafka-dp-group'),
      kafka,
      fromBeginning: true,
      maxInFlight: 100,
      commitIntervalMs: 60_000,
    });
    const held: KafkaRecord[] = [];
    const sub = source.records().subscribe((r) => held.push(r));
    await waitFor(() => held.length === 100, { what: 'the first 100 records' });
    // a slow sink: nothing is acked, so nothing more is handed on
    await new Promise((r) => setTimeout(r, 1_500));
    expect(held.length).toBe(100);
    expect(source.pausedPartitions()).toEqual([0]);

    for (const r of held.slice(0, 49)) r.ack();
    await new Promise((r) => setTimeout(r, 500));
    expect(held.length).toBe(100); // 51 still in flight: more than half
    held[49]!.ack();
    await waitFor(() => held.length === 150, { what: 'the next 50 records after half was acked' });
    const offsets = held.map((r) => Number(r.offset));
    expect(offsets).toEqual(Array.from({ length: 150 }, (_, i) => i));

    // stopped while a batch waits for acks: returns at its deadline instead of hanging
    const result = await source.stop(300);
    sub.unsubscribe();
    expect(result).toEqual({ drained: false, inFlight: 100 });
  }, 60_000);
  it('on SIGTERM stops fetching, completes, waits for in-flight acks, commits them and disconnects', async () => {
    const topic = await topicWith(2);
    const sink = new KafkaSink({ brokers: f.brokers, topic, kafka });
    await sink.connect();
    await sink.sendMany(
      Array.from({ length: 1_000 }, (_, i) => ({
        key: `k${i % 4}`,
        value: Buffer.from(String(i)),
      })),
    );
    await sink.disconnect();

    const group = uniqueName('kafka-dp-group');
    const source = new KafkaSource({
      brokers: f.brokers,
      topic,
      group,
      kafka,
      fromBeginning: true,
      commitIntervalMs: 60_000,
      shutdownMs: 5_000,
    });
    const held: Array<() => void> = [];
    let completed = false;
    let seen = 0;
    source.records().subscribe({
      next: (r) => {
        seen++;
        held.push(() => r.ack()); // a slow sink: acks come later
      },
      complete: () => (completed = true),
    });
    const removeSignals = source.handleSignals();
    await waitFor(() => seen === 1_000, { what: '1,000 records delivered' });
    process.emit('SIGTERM');
    await waitFor(() => completed, { what: 'the stream to complete on SIGTERM' });
    // the sink finishes its work after the signal; the source waits for it before committing
    setTimeout(() => held.splice(0).forEach((ack) => ack()), 300);
    expect(await source.stop()).toEqual({ drained: true, inFlight: 0 });
    removeSignals();
    const { ends, committed } = await f.offsets(topic, group);
    expect(committed).toEqual(ends);
  }, 60_000);
});
