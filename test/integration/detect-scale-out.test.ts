import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import type { Admin } from 'kafkajs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { SensorFrame } from '../../src/core/records';
import { loadPipeline } from '../../src/config/load-pipeline';
import { createKafka } from '../../src/connectors/kafka/kafka-client';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { trainFromFile } from '../../src/registry/train-and-store';
import {
  assigned,
  builtCli,
  spawnDetector,
  type DetectorProcess,
} from '../helpers/detector-process';
import { uniqueDatabase, uniqueName } from '../helpers/names';
import { INFLUX_URL, KAFKA_BROKERS } from '../helpers/stack';
import { waitFor } from '../helpers/wait-for';

/**
 * Two detector processes in one consumer group share a 6-partition topic: the second one's
 * join rebalances the partitions while frames flow, and every frame still ends with a score
 * point (none lost; duplicates, if any, overwrite their own point).
 */
describe('two detector processes in one group (real Kafka and InfluxDB)', () => {
  const kafka = createKafka({ brokers: KAFKA_BROKERS, clientId: 'aestream-test' });
  let admin: Admin;
  const name = uniqueName('scale').replace(/[^a-z0-9-]/g, '');
  const topics = {
    input: `${name}.frames`,
    anomalies: `${name}.anomalies`,
    dlq: `${name}.dlq`,
    releases: `${name}.models`,
  };
  const database = uniqueDatabase('scale');
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

  it('shares the partitions and scores every frame at least once across the rebalance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aestream-scale-'));
    const pipelineFile = join(dir, 'scale.yaml');
    writeFileSync(
      pipelineFile,
      `
name: ${name}
input:
  kafka: { brokers: "${KAFKA_BROKERS.join(',')}", topic: ${topics.input}, group: ${name}-detectors, fromBeginning: true }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 1, window: 16, stride: 1 }
model: { kind: dense-ae, hidden: [8, 3], store: ${join(dir, 'models')}, train: { epochs: 3 }, releases: { topic: ${topics.releases} } }
batch: { maxSize: 128, maxWaitMs: 20 }
threshold: { kind: ksigma, k: 6, calibration: 50 }
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

    const gen = new SyntheticSource({ seed: 9, sources: 24, length: 500, anomaliesPerSource: 0 });
    const frames = [...gen.frames()];
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const sink = new KafkaSink({
      brokers: KAFKA_BROKERS,
      topic: topics.input,
      kafka,
      batchSize: 2_000,
    });
    await sink.connect();
    const produce = (part: SensorFrame[]) =>
      Promise.all(
        part.map((f) =>
          sink.send({
            key: f.source,
            value: codec.encode(f),
            headers: codec.headers,
            timestamp: f.time,
          }),
        ),
      );
    const points = async () => {
      const rows = await influx
        .query<{ count: number }>(`SELECT count("error") AS "count" FROM "score"`)
        .catch(() => []);
      return rows[0]?.count ?? 0;
    };

    const half = frames.length / 2;
    await produce(frames.slice(0, half));
    detectors.push(spawnDetector(pipelineFile));
    await waitFor(async () => (await points()) > 0, {
      what: 'the first detector to score',
      timeoutMs: 120_000,
      intervalMs: 250,
    });

    // The second process joins while the first is busy: the partitions are rebalanced.
    detectors.push(spawnDetector(pipelineFile));
    await waitFor(() => assigned(detectors[1]).length > 0, {
      what: 'the second detector to get partitions',
      timeoutMs: 120_000,
      state: () => detectors[1].log.slice(-5),
    });
    await produce(frames.slice(half));
    await sink.disconnect();

    await waitFor(async () => (await points()) >= frames.length, {
      what: `${frames.length} score points`,
      timeoutMs: 240_000,
      intervalMs: 500,
      state: () => detectors.map((d) => d.log.slice(-2)),
    });
    expect(await points()).toBe(frames.length);
    const [a, b] = detectors.map(assigned);
    expect([...a, ...b].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);

    // SIGTERM drains and commits: both exit cleanly.
    for (const d of detectors) d.child.kill('SIGTERM');
    expect(await Promise.all(detectors.map((d) => d.exited))).toEqual([0, 0]);
    const committed = await admin.fetchOffsets({
      groupId: `${name}-detectors`,
      topics: [topics.input],
    });
    const ends = await admin.fetchTopicOffsets(topics.input);
    const byPartition = (list: Array<{ partition: number; offset?: string; high?: string }>) =>
      Object.fromEntries(list.map((p) => [p.partition, Number(p.offset ?? p.high)]));
    expect(byPartition(committed[0].partitions)).toEqual(byPartition(ends));
  });
});
