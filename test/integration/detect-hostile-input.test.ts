import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Admin } from 'kafkajs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { SensorFrame } from '../../src/core/records';
import { parsePipeline } from '../../src/config/load-pipeline';
import { DlqHeaders } from '../../src/outputs/dlq-sink';
import { consumerLag } from '../../src/connectors/kafka/consumer-lag';
import { createKafka } from '../../src/connectors/kafka/kafka-client';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { trainFromFile } from '../../src/registry/train-and-store';
import { startDetector, type Detector } from '../../src/app/detect';
import { seededRandom } from '../../src/core/seeded-random';
import { uniqueName } from '../helpers/names';
import { KAFKA_BROKERS } from '../helpers/stack';
import { waitFor } from '../helpers/wait-for';

/**
 * 10,000 hostile payloads (random bytes from fast-check and byte mutations of valid frames)
 * interleaved with 5,000 valid frames: the detector neither crashes nor hangs, every
 * record is accounted for (scored, or dead-lettered with a reason code), and the valid
 * frames are all scored.
 */
describe('hostile input (real Kafka)', () => {
  const kafka = createKafka({ brokers: KAFKA_BROKERS, clientId: 'aestream-test' });
  let admin: Admin;
  const name = uniqueName('hostile').replace(/[^a-z0-9-]/g, '');
  const topics = {
    input: `${name}.frames`,
    anomalies: `${name}.anomalies`,
    dlq: `${name}.dlq`,
    releases: `${name}.models`,
  };
  let detector: Detector | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [topics.input, topics.anomalies, topics.dlq].map((topic) => ({
        topic,
        numPartitions: 3,
      })),
      waitForLeaders: true,
    });
  });

  afterAll(async () => {
    await detector?.stop();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  });

  it('dead-letters every bad payload with a reason code and scores every valid frame', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aestream-hostile-'));
    const config = parsePipeline(
      `
name: ${name}
input:
  kafka: { brokers: "${KAFKA_BROKERS.join(',')}", topic: ${topics.input}, group: ${name}-detectors, fromBeginning: true }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 1, window: 8, stride: 1 }
model: { kind: dense-ae, hidden: [4, 2], store: ${join(dir, 'models')}, train: { epochs: 2 }, releases: { topic: ${topics.releases} } }
batch: { maxSize: 256, maxWaitMs: 10 }
threshold: { kind: ksigma, k: 5, calibration: 20 }
output:
  kafka: { topic: ${topics.anomalies} }
  dlq: { topic: ${topics.dlq} }
`,
      'hostile.yaml',
      { env: {}, baseDir: process.cwd() },
    );
    const csv = join(dir, 'train.csv');
    writeFileSync(
      csv,
      ['value', ...Array.from({ length: 300 }, (_, i) => String(Math.sin(i / 5)))].join('\n'),
    );
    await trainFromFile(config, { data: csv });

    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const valid = [
      ...new SyntheticSource({ seed: 8, sources: 10, length: 500, anomaliesPerSource: 0 }).frames(),
    ];
    const encoded = valid.map((f) => codec.encode(f));
    const random = seededRandom(99);
    const randomBytes = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 64 }), {
      numRuns: 5_000,
      seed: 7,
    });
    const mutated = Array.from({ length: 5_000 }, () => {
      const bytes = Buffer.from(encoded[Math.floor(random() * encoded.length)]);
      const flips = 1 + Math.floor(random() * 4);
      for (let k = 0; k < flips; k++)
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      return random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
    });
    const hostile = [...randomBytes.map((b) => Buffer.from(b)), ...mutated];

    // Each source's valid frames stay in order; hostile payloads go in between, on the same keys.
    const sink = new KafkaSink({
      brokers: KAFKA_BROKERS,
      topic: topics.input,
      kafka,
      batchSize: 5_000,
    });
    await sink.connect();
    const sends: Array<Promise<void>> = [];
    let h = 0;
    valid.forEach((f, i) => {
      sends.push(sink.send({ key: f.source, value: encoded[i], headers: codec.headers }));
      for (let k = 0; k < 2; k++) {
        sends.push(sink.send({ key: f.source, value: hostile[h++], headers: codec.headers }));
      }
    });
    await Promise.all(sends);
    await sink.disconnect();
    const total = valid.length + hostile.length;

    let scoredRecords = 0;
    const scoredValid = new Set<string>();
    detector = await startDetector(config, {
      metricsPort: null,
      onScored: (batch) => {
        for (const judged of batch) {
          scoredRecords += judged.covered.length;
          for (const c of judged.covered) {
            const f = c.value as SensorFrame;
            scoredValid.add(`${f.source}@${f.time}`);
          }
        }
      },
    });
    const lagLeft = async () =>
      (await consumerLag(admin, `${name}-detectors`, topics.input)).reduce(
        (sum, p) => sum + p.lag,
        0,
      );
    await waitFor(async () => (await lagLeft()) === 0, {
      what: `all ${total} records committed`,
      timeoutMs: 240_000,
      intervalMs: 250,
    });

    // Read the dead letters: each with a reason code from the documented set.
    const reasons = new Map<string, number>();
    const dlqEnd = (await admin.fetchTopicOffsets(topics.dlq)).reduce(
      (s, p) => s + Number(p.high),
      0,
    );
    let read = 0;
    const consumer = kafka.consumer({ groupId: uniqueName('hostile-dlq') });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.dlq, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        read++;
        const reason = String(message.headers![DlqHeaders.REASON]);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      },
    });
    await waitFor(() => read >= dlqEnd, { what: 'the DLQ read', timeoutMs: 60_000 });
    await consumer.disconnect();

    console.log(
      `[hostile] scored ${scoredRecords}, dead letters by reason ${JSON.stringify(Object.fromEntries(reasons))}`,
    );
    // Every record accounted for exactly once: scored (valid or mutated-but-valid) or dead-lettered.
    expect(scoredRecords + dlqEnd).toBe(total);
    expect(dlqEnd).toBeGreaterThan(hostile.length * 0.5);
    const known = [
      'AE_ERR_AVRO_DECODE',
      'AE_ERR_FRAME_SHAPE',
      'AE_ERR_NON_FINITE',
      'AE_ERR_FRAME_INVALID',
    ];
    expect([...reasons.keys()].every((r) => known.includes(r))).toBe(true);
    // And every valid frame was scored.
    expect(valid.every((f) => scoredValid.has(`${f.source}@${f.time}`))).toBe(true);
  });
});
