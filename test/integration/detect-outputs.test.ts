import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { PNG } from 'pngjs';
import type { Admin } from 'kafkajs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import { windowsOf } from '../../src/operators/sensor-windows';
import { imagePixels } from '../../src/codecs/image-pixels';
import type { ImageFrame, SensorFrame } from '../../src/core/records';
import { parsePipeline } from '../../src/config/load-pipeline';
import { createKafka } from '../../src/connectors/kafka/kafka-client';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import type { LatentVector } from '../../src/outputs/latent-sink';
import { trainAndStore } from '../../src/registry/train-and-store';
import { startDetector, type Detector } from '../../src/app/detect';
import { seededRandom } from '../../src/core/seeded-random';
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
    images: `${name}.img.frames`,
    imageAnomalies: `${name}.img.anomalies`,
    imageDlq: `${name}.img.dlq`,
    imagesRebuilt: `${name}.img.rebuilt`,
    imageLatent: `${name}.img.latent`,
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
  it('image frames: one rebuilt frame per frame in its own encoding (RAW_U8, RAW_F32, PNG) and one latent vector', async () => {
    const side = 8;
    const config = parsePipeline(
      `
name: ${name}-img
input:
  kafka: { brokers: "${KAFKA_BROKERS.join(',')}", topic: ${topics.images}, group: ${name}-img, fromBeginning: true }
  schema: schemas/image-frame.avsc
frame: { kind: image, width: ${side}, height: ${side}, channels: 1 }
model:
  kind: conv-ae
  filters: [4]
  latent: 3
  store: ${mkdtempSync(join(tmpdir(), 'aestream-outputs-img-'))}
  train: { epochs: 3, seed: 1 }
  releases: { follow: false }
batch: { maxSize: 32, maxWaitMs: 20 }
threshold: { kind: static, value: 1 }
output:
  kafka: { topic: ${topics.imageAnomalies} }
  dlq: { topic: ${topics.imageDlq} }
  reconstruction: { topic: ${topics.imagesRebuilt} }
  latent: { topic: ${topics.imageLatent} }
`,
      'outputs-img-test.yaml',
      { env: {}, baseDir: process.cwd() },
    );
    const random = seededRandom(8);
    const image = () => Uint8Array.from({ length: side * side }, () => Math.floor(random() * 256));
    const train = new Float32Array(200 * side * side);
    for (let i = 0; i < 200; i++) train.set(image(), i * side * side);
    await trainAndStore(config, { raw: train, count: 200, source: 'noise images' });

    const encode = (encoding: ImageFrame['encoding'], px: Uint8Array): Buffer => {
      if (encoding === 'RAW_U8') return Buffer.from(px);
      if (encoding === 'RAW_F32') {
        const b = Buffer.alloc(px.length * 4);
        px.forEach((v, i) => b.writeFloatLE(v / 255, i * 4));
        return b;
      }
      const png = new PNG({ width: side, height: side });
      px.forEach((v, p) => png.data.set([v, v, v, 255], p * 4));
      return PNG.sync.write(png);
    };
    const encodings = ['RAW_U8', 'RAW_F32', 'PNG'] as const;
    const codec = createAvroCodec<ImageFrame>('ImageFrame');
    const frames: ImageFrame[] = [];
    for (let i = 0; i < 60; i++) {
      const encoding = encodings[i % 3]!;
      frames.push({
        source: `cam-${encoding}`,
        time: Date.UTC(2026, 0, 2) + i * 1000,
        width: side,
        height: side,
        channels: 1,
        encoding,
        data: encode(encoding, image()),
      });
    }
    const sink = new KafkaSink({ brokers: KAFKA_BROKERS, topic: topics.images, kafka });
    await sink.connect();
    await sink.sendMany(
      frames.map((f) => ({ key: f.source, value: codec.encode(f), headers: codec.headers })),
    );
    await sink.disconnect();

    detector = await startDetector(config, { metricsPort: null });
    const version = detector.model.version;
    const held = async (topic: string) =>
      (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    await waitFor(async () => (await held(topics.imageLatent)) >= frames.length, {
      what: `${frames.length} latent vectors`,
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await detector.stop();
    detector = undefined;
    expect(await held(topics.imagesRebuilt)).toBe(frames.length);
    expect(await held(topics.imageLatent)).toBe(frames.length);

    const latentCodec = createAvroCodec<LatentVector>('latent-vector.avsc');
    const rebuilt: ImageFrame[] = [];
    const vectors: LatentVector[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName('outputs-img-read') });
    await consumer.connect();
    await consumer.subscribe({
      topics: [topics.imagesRebuilt, topics.imageLatent],
      fromBeginning: true,
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === topics.imagesRebuilt)
          rebuilt.push(codec.decode(message.value!, message.headers as never));
        else vectors.push(latentCodec.decode(message.value!, message.headers as never));
      },
    });
    await waitFor(() => rebuilt.length >= frames.length && vectors.length >= frames.length, {
      what: 'rebuilt images and latent vectors read back',
      timeoutMs: 60_000,
    });
    await consumer.disconnect();
    for (const encoding of encodings) {
      const mine = rebuilt.filter((f) => f.source === `cam-${encoding}`);
      expect(mine).toHaveLength(20);
      for (const f of mine) {
        expect(f).toMatchObject({ width: side, height: side, channels: 1, encoding });
        const px = imagePixels(f);
        expect(px).toHaveLength(side * side);
        expect(px.every((v) => v >= 0 && v <= 255)).toBe(true);
      }
    }
    expect(new Set(rebuilt.map((f) => `${f.source}@${f.time}`)).size).toBe(frames.length);
    expect(new Set(vectors.map((v) => v.id)).size).toBe(frames.length);
    expect(vectors.every((v) => v.modelVersion === version && v.vector.length === 3)).toBe(true);
  });
});
