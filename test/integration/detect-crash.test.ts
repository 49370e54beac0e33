import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import type { Admin } from 'kafkajs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { AnomalyEvent, SensorFrame } from '../../src/core/records';
import { loadPipeline } from '../../src/config/load-pipeline';
import { DlqHeaders } from '../../src/outputs/dlq-sink';
import { createKafka } from '../../src/connectors/kafka/kafka-client';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { trainFromFile } from '../../src/registry/train-and-store';
import { builtCli, spawnDetector, type DetectorProcess } from '../helpers/detector-process';
import { uniqueDatabase, uniqueName } from '../helpers/names';
import { INFLUX_URL, KAFKA_BROKERS } from '../helpers/stack';
import { waitFor } from '../helpers/wait-for';

/**
 * kill -9 of a detector mid-stream, then a restart: every valid frame ends with a score
 * point and every bad one with a dead letter (counted by offset); what is redone after the
 * crash carries the same event ids.
 */
describe('a detector killed with SIGKILL and restarted (real Kafka and InfluxDB)', () => {
  const kafka = createKafka({ brokers: KAFKA_BROKERS, clientId: 'aestream-test' });
  let admin: Admin;
  const name = uniqueName('crash').replace(/[^a-z0-9-]/g, '');
  const topics = {
    input: `${name}.frames`,
    anomalies: `${name}.anomalies`,
    dlq: `${name}.dlq`,
    releases: `${name}.models`,
  };
  const database = uniqueDatabase('crash');
  const influx = new InfluxDB({
    host: new URL(INFLUX_URL).hostname,
    port: Number(new URL(INFLUX_URL).port),
    database,
  });
  const detectors: DetectorProcess[] = [];

  beforeAll(async () => {
    builtCli();
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: topics.input, numPartitions: 6 },
        { topic: topics.anomalies, numPartitions: 3 },
        { topic: topics.dlq, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
  });

  afterAll(async () => {
    for (const d of detectors) d.child.kill('SIGKILL');
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    await influx.dropDatabase(database).catch(() => undefined);
  });

  it('loses nothing: every valid frame scored, every bad one dead-lettered, redone events keep their ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aestream-crash-'));
    const pipelineFile = join(dir, 'crash.yaml');
    writeFileSync(
      pipelineFile,
      `
name: ${name}
input:
  kafka: { brokers: "${KAFKA_BROKERS.join(',')}", topic: ${topics.input}, group: ${name}-detectors, fromBeginning: true, commitIntervalMs: 500 }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 1, window: 16, stride: 1 }
model: { kind: dense-ae, hidden: [8, 3], store: ${join(dir, 'models')}, train: { epochs: 3 }, releases: { topic: ${topics.releases} } }
batch: { maxSize: 64, maxWaitMs: 10 }
threshold: { kind: ksigma, k: 3, calibration: 30 }
output:
  kafka: { topic: ${topics.anomalies} }
  influx: { url: "${INFLUX_URL}", database: ${database}, flushMs: 100 }
  dlq: { topic: ${topics.dlq} }
`,
    );
    const config = loadPipeline(pipelineFile, { baseDir: process.cwd() });
    const csv = join(dir, 'train.csv');
    writeFileSync(
      csv,
      ['value', ...Array.from({ length: 500 }, (_, i) => String(Math.sin(i / 5)))].join('\n'),
    );
    await trainFromFile(config, { data: csv });

    // 12 sources x 1,000 readings with anomalies (so there are events to redo), and one
    // undecodable message after every 100 frames.
    const gen = new SyntheticSource({ seed: 4, sources: 12, length: 1000, anomaliesPerSource: 2 });
    const frames = [...gen.frames()];
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const sink = new KafkaSink({
      brokers: KAFKA_BROKERS,
      topic: topics.input,
      kafka,
      batchSize: 2_000,
    });
    await sink.connect();
    const sends: Array<Promise<void>> = [];
    let bad = 0;
    frames.forEach((f, i) => {
      sends.push(
        sink.send({
          key: f.source,
          value: codec.encode(f),
          headers: codec.headers,
          timestamp: f.time,
        }),
      );
      if (i % 100 === 99) {
        bad++;
        sends.push(
          sink.send({
            key: f.source,
            value: Buffer.from([0xde, 0xad, 0xbe, 0xef, bad & 0xff]),
            headers: codec.headers,
          }),
        );
      }
    });
    await Promise.all(sends);
    await sink.disconnect();

    const points = async () => {
      const rows = await influx
        .query<{ count: number }>(`SELECT count("error") AS "count" FROM "score"`)
        .catch(() => []);
      return rows[0]?.count ?? 0;
    };
    detectors.push(spawnDetector(pipelineFile));
    await waitFor(async () => (await points()) >= frames.length / 3, {
      what: 'the first detector to score a third of the frames',
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    detectors[0].child.kill('SIGKILL');
    expect(await detectors[0].exited).toBeNull(); // killed by the signal: no exit code, no clean shutdown
    const scoredBeforeCrash = await points();
    expect(scoredBeforeCrash).toBeLessThan(frames.length);

    detectors.push(spawnDetector(pipelineFile));
    const ends = await admin.fetchTopicOffsets(topics.input);
    const total = ends.reduce((sum, p) => sum + Number(p.high), 0);
    expect(total).toBe(frames.length + bad);
    let lastCommitted: string[] = [];
    const committed = async () => {
      const [offsets] = await admin.fetchOffsets({
        groupId: `${name}-detectors`,
        topics: [topics.input],
      });
      lastCommitted = offsets.partitions.map((p) => `${p.partition}:${p.offset}`);
      return offsets.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    await waitFor(async () => (await committed()) >= total, {
      what: 'the restarted detector to commit every offset',
      timeoutMs: 180_000,
      intervalMs: 250,
      state: () => ({ committed: lastCommitted, log: detectors[1].log.slice(-2) }),
    });

    // Every valid frame has its score point (one per source and time: redone ones overwrite).
    expect(await points()).toBe(frames.length);

    // Every bad message is in the DLQ, by its origin offset (once or, if redone, more).
    const dead = new Set<string>();
    const reasons = new Set<string>();
    const events = new Map<string, AnomalyEvent[]>();
    const eventCodec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
    const dlqEnd = (await admin.fetchTopicOffsets(topics.dlq)).reduce(
      (s, p) => s + Number(p.high),
      0,
    );
    const eventsEnd = (await admin.fetchTopicOffsets(topics.anomalies)).reduce(
      (s, p) => s + Number(p.high),
      0,
    );
    let read = 0;
    const consumer = kafka.consumer({ groupId: uniqueName('crash-check') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.dlq, topics.anomalies], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        read++;
        if (topic === topics.dlq) {
          const h = message.headers!;
          dead.add(`${h[DlqHeaders.PARTITION]}-${h[DlqHeaders.OFFSET]}`);
          reasons.add(String(h[DlqHeaders.REASON]));
        } else {
          const e = eventCodec.decode(message.value!, message.headers as never);
          events.set(e.id, [...(events.get(e.id) ?? []), e]);
        }
      },
    });
    await waitFor(() => read >= dlqEnd + eventsEnd, {
      what: 'the DLQ and the anomaly topic read',
      timeoutMs: 60_000,
    });
    await consumer.disconnect();
    expect(dead.size).toBe(bad);
    expect([...reasons]).toEqual(['AE_ERR_AVRO_DECODE']);

    // Redone events are the same events: same id, same score and source.
    const redone = [...events.values()].filter((list) => list.length > 1);
    for (const list of redone) {
      expect(new Set(list.map((e) => `${e.source} ${e.score} ${e.eventTime}`)).size).toBe(1);
    }
    console.log(
      `[crash] ${scoredBeforeCrash} of ${frames.length} frames scored before SIGKILL; ${events.size} distinct events, ${redone.length} redone after the restart`,
    );
  });
});
