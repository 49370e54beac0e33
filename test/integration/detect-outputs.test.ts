import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import type { Admin } from 'kafkajs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import { windowsOf } from '../../src/codecs/sensor-windows';
import type { SensorFrame } from '../../src/codecs/records';
import { parsePipeline } from '../../src/config/load-pipeline';
import { createKafka } from '../../src/io/kafka-client';
import { KafkaSink } from '../../src/io/kafka-sink';
import type { LatentVector } from '../../src/io/latent-sink';
import { trainAndStore } from '../../src/models/train-from-file';
import { startDetector, type Detector } from '../../src/pipelines/detect';
import { seededRandom } from '../../src/seeded-random';
import { uniqueDatabase, uniqueName } from '../helpers/names';
import { INFLUX_URL, KAFKA_BROKERS } from '../helpers/stack';
import { waitFor } from '../helpers/wait-for';

const SOURCES = 4;
const PER_SOURCE = 250;
const WINDOW = 16;
const LATENT = 4;

/** Reading t of a source: two smooth features around different levels, a little noise. */
function reading(source: number, t: number, random: () => number): number[] {
  return [
    50 + Math.sin((t + 13 * source) / 6) + 0.05 * (random() - 0.5),
    -3 + 0.5 * Math.cos((t + 7 * source) / 9) + 0.05 * (random() - 0.5),
  ];
}

/**
 * The detector's reconstruction and latent outputs through the real broker and InfluxDB:
 * with both on, every scored frame has exactly one reconstructed frame and one latent
 * vector (counted on the topics), stamped with the model version that scored it.
 */
describe('aestream detect: reconstruction and latent outputs (real Kafka and InfluxDB)', () => {
  const kafka = createKafka({ brokers: KAFKA_BROKERS, clientId: 'aestream-test' });
  let admin: Admin;
  const name = uniqueName('outputs').replace(/[^a-z0-9-]/g, '');
  const topics = {
    input: `${name}.frames`,
    anomalies: `${name}.anomalies`,
    dlq: `${name}.dlq`,
    rebuilt: `${name}.rebuilt`,
    latent: `${name}.latent`,
  };
  const database = uniqueDatabase('outputs');
  const influx = new InfluxDB({
    host: new URL(INFLUX_URL).hostname,
    port: Number(new URL(INFLUX_URL).port),
    database,
  });
  let detector: Detector | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 3 })),
      waitForLeaders: true,
    });
  });

  afterAll(async () => {
    await detector?.stop();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    await influx.dropDatabase(database).catch(() => undefined);
  });

  it('writes exactly one reconstructed frame and one latent vector per scored frame, with the model version', async () => {
    const config = parsePipeline(
      `
name: ${name}
input:
  kafka: { brokers: "${KAFKA_BROKERS.join(',')}", topic: ${topics.input}, group: ${name}-detectors, fromBeginning: true }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 2, window: ${WINDOW}, stride: 1 }
model:
  kind: dense-ae
  hidden: [16, ${LATENT}]
  store: ${mkdtempSync(join(tmpdir(), 'aestream-outputs-'))}
  train: { epochs: 30, seed: 5 }
  releases: { follow: false }
batch: { maxSize: 128, maxWaitMs: 20 }
threshold: { kind: ksigma, k: 6, calibration: 50 }
output:
  kafka: { topic: ${topics.anomalies} }
  influx: { url: "${INFLUX_URL}", database: ${database}, flushMs: 200 }
  dlq: { topic: ${topics.dlq} }
  reconstruction: { topic: ${topics.rebuilt} }
  latent: { topic: ${topics.latent}, influx: true }
`,
      'outputs-test.yaml',
      { env: {}, baseDir: process.cwd() },
    );
    const random = seededRandom(3);
    const series = Array.from({ length: SOURCES }, (_, s) =>
      Array.from({ length: 400 }, (_, t) => reading(s, t, random)),
    );
    const { raw, count } = windowsOf(series, { window: WINDOW, stride: 1, features: 2 });
    // Two versions: the detector starts on the newest, v2, which must stamp every record.
    await trainAndStore(config, { raw, count, source: 'synthetic' }, { epochs: 5 });
    await trainAndStore(config, { raw, count, source: 'synthetic' });

    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const frames: SensorFrame[] = [];
    for (let s = 0; s < SOURCES; s++) {
      for (let t = 0; t < PER_SOURCE; t++) {
        frames.push({
          source: `s${s}`,
          time: Date.UTC(2026, 0, 1) + t * 1000,
          values: reading(s, 400 + t, random),
          seq: t,
          attributes: { site: 'x' },
        });
      }
    }
    const sink = new KafkaSink({ brokers: KAFKA_BROKERS, topic: topics.input, kafka });
    await sink.connect();
    await sink.sendMany(
      frames.map((f) => ({
        key: f.source,
        value: codec.encode(f),
        headers: codec.headers,
        timestamp: f.time,
      })),
    );
    await sink.disconnect();

    detector = await startDetector(config, { metricsPort: null });
    const version = detector.model.version;
    expect(version).toBe('v000002');
    const total = frames.length;
    const countOf = async (measurement: string, field: string) => {
      const rows = await influx.query<{ count: number }>(
        `SELECT count("${field}") AS "count" FROM "${measurement}"`,
      );
      return rows[0]?.count ?? 0;
    };
    const failed = detector.done.then(() => {
      throw new Error('the detector stopped before scoring every frame');
    });
    await Promise.race([
      failed,
      waitFor(async () => (await countOf('score', 'error')) >= total, {
        what: `${total} score points`,
        timeoutMs: 120_000,
        intervalMs: 500,
      }),
    ]);
    failed.catch(() => undefined);
    await detector.stop();
    detector = undefined;

    // Counted on the topics themselves: the high watermarks say how many records each holds.
    const held = async (topic: string) =>
      (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    expect(await countOf('score', 'error')).toBe(total);
    expect(await held(topics.rebuilt)).toBe(total);
    expect(await held(topics.latent)).toBe(total);
    expect(await countOf('latent', 'z0')).toBe(total);

    // Read both topics back: one record per (source, time), keyed by source.
    const latentCodec = createAvroCodec<LatentVector>('latent-vector.avsc');
    const rebuilt = new Map<string, SensorFrame>();
    const vectors = new Map<string, LatentVector>();
    const keysMatch: boolean[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName('outputs-read') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.rebuilt, topics.latent], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === topics.rebuilt) {
          const f = codec.decode(message.value!, message.headers as never);
          rebuilt.set(`${f.source}@${f.time}`, f);
          keysMatch.push(message.key?.toString() === f.source);
        } else {
          const v = latentCodec.decode(message.value!, message.headers as never);
          vectors.set(`${v.source}@${v.eventTime}`, v);
          keysMatch.push(message.key?.toString() === v.source);
        }
      },
    });
    await waitFor(() => rebuilt.size >= total && vectors.size >= total, {
      what: `${total} reconstructed frames and latent vectors read back`,
      timeoutMs: 60_000,
    });
    await consumer.disconnect();

    // Distinct keys = records: no frame has two of either, none is missing.
    expect(rebuilt.size).toBe(total);
    expect(vectors.size).toBe(total);
    expect(keysMatch.every(Boolean)).toBe(true);
    let sq = 0;
    let spread = 0;
    for (const f of frames) {
      const r = rebuilt.get(`${f.source}@${f.time}`)!;
      expect(r).toMatchObject({ seq: f.seq, attributes: { site: 'x' } });
      expect(r.values).toHaveLength(2);
      sq += (r.values[0]! - f.values[0]!) ** 2;
      spread += (f.values[0]! - 50) ** 2;
      const v = vectors.get(`${f.source}@${f.time}`)!;
      expect(v.modelVersion).toBe(version);
      expect(v.pipeline).toBe(name);
      expect(v.vector).toHaveLength(LATENT);
      expect(v.vector.every(Number.isFinite)).toBe(true);
    }
    // Reconstructions are in the readings' own units (around 50, not normalized) and close.
    const rmse = Math.sqrt(sq / total);
    console.log(
      `[outputs] ${total} frames: ${rebuilt.size} reconstructed, ${vectors.size} latent; feature-0 RMSE ${rmse.toFixed(3)} vs spread ${Math.sqrt(spread / total).toFixed(3)}`,
    );
    expect(rmse).toBeLessThan(0.5 * Math.sqrt(spread / total));

    // The latent points and the score points agree on the model of each frame.
    const models = await influx.query<{ model: string }>(
      `SELECT count("z0") FROM "latent" GROUP BY "model"`,
    );
    expect(models.map((m) => m.model)).toEqual([version]);
  });
});
