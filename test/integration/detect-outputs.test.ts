import { PNG } from 'pngjs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import { windowsOf } from '../../src/operators/sensor-windows';
import { imagePixels } from '../../src/codecs/image-pixels';
import type { ImageFrame, SensorFrame } from '../../src/core/records';
import type { LatentVector } from '../../src/outputs/latent-sink';
import { trainAndStore } from '../../src/registry/train-and-store';
import { startDetector, type Detector } from '../../src/app/detect';
import { seededRandom } from '../../src/core/seeded-random';
import {
  pipelineFixture,
  type FixtureNames,
  type PipelineFixture,
} from '../helpers/pipeline-fixture';
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
  let f: PipelineFixture;
  let g: PipelineFixture;
  let detector: Detector | undefined;
  const outputs = ({ topics }: FixtureNames) => ({
    reconstruction: { topic: topics.rebuilt },
    latent: { topic: topics.latent },
  });
  const side = 8;

  beforeAll(async () => {
    f = await pipelineFixture('outputs', {
      influx: true,
      topics: { rebuilt: 3, latent: 3 },
      yaml: (names) => ({
        frame: { features: 2, window: WINDOW },
        model: {
          hidden: [16, LATENT],
          train: { epochs: 30, seed: 5 },
          releases: { follow: false },
        },
        batch: { maxSize: 128, maxWaitMs: 20 },
        output: { ...outputs(names), latent: { topic: names.topics.latent, influx: true } },
      }),
    });
    g = await pipelineFixture('outputs-img', {
      topics: { rebuilt: 3, latent: 3 },
      yaml: (names) => ({
        input: { schema: 'schemas/image-frame.avsc' },
        frame: { kind: 'image', width: side, height: side, channels: 1 },
        model: {
          kind: 'conv-ae',
          filters: [4],
          latent: 3,
          train: { epochs: 3, seed: 1 },
          releases: { follow: false },
        },
        batch: { maxSize: 32, maxWaitMs: 20 },
        threshold: { kind: 'static', value: 1 },
        output: outputs(names),
      }),
    });
  });

  afterAll(async () => {
    await detector?.stop();
    await f?.teardown();
    await g?.teardown();
  });

  it('writes exactly one reconstructed frame and one latent vector per scored frame, with the model version', async () => {
    const { config, topics } = f;
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
    await f.produce(frames);

    detector = await startDetector(config, { metricsPort: null });
    const version = detector.model.version;
    expect(version).toBe('v000002');
    const total = frames.length;
    const countOf = f.points;
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
    const held = f.endOffset;
    expect(await countOf('score', 'error')).toBe(total);
    expect(await held(topics.rebuilt)).toBe(total);
    expect(await held(topics.latent)).toBe(total);
    expect(await countOf('latent', 'z0')).toBe(total);

    // Read both topics back: one record per (source, time), keyed by source.
    const latentCodec = createAvroCodec<LatentVector>('latent-vector.avsc');
    const rebuilt = new Map<string, SensorFrame>();
    const vectors = new Map<string, LatentVector>();
    const keysMatch: boolean[] = [];
    for (const m of await f.read([topics.rebuilt, topics.latent])) {
      if (m.topic === topics.rebuilt) {
        const r = codec.decode(m.value, m.headers as never);
        rebuilt.set(`${r.source}@${r.time}`, r);
        keysMatch.push(m.key === r.source);
      } else {
        const v = latentCodec.decode(m.value, m.headers as never);
        vectors.set(`${v.source}@${v.eventTime}`, v);
        keysMatch.push(m.key === v.source);
      }
    }

    // Distinct keys = records: no frame has two of either, none is missing.
    expect(rebuilt.size).toBe(total);
    expect(vectors.size).toBe(total);
    expect(keysMatch.every(Boolean)).toBe(true);
    let sq = 0;
    let spread = 0;
    for (const x of frames) {
      const r = rebuilt.get(`${x.source}@${x.time}`)!;
      expect(r).toMatchObject({ seq: x.seq, attributes: { site: 'x' } });
      expect(r.values).toHaveLength(2);
      sq += (r.values[0]! - x.values[0]!) ** 2;
      spread += (x.values[0]! - 50) ** 2;
      const v = vectors.get(`${x.source}@${x.time}`)!;
      expect(v.modelVersion).toBe(version);
      expect(v.pipeline).toBe(f.name);
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
    const models = await f.influx.query<{ model: string }>(
      `SELECT count("z0") FROM "latent" GROUP BY "model"`,
    );
    expect(models.map((m) => m.model)).toEqual([version]);
  });
  it('image frames: one rebuilt frame per frame in its own encoding (RAW_U8, RAW_F32, PNG) and one latent vector', async () => {
    const { config, topics } = g;
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
    await g.produce(
      frames.map((x) => ({ key: x.source, value: codec.encode(x), headers: codec.headers })),
    );

    detector = await startDetector(config, { metricsPort: null });
    const version = detector.model.version;
    const held = g.endOffset;
    await waitFor(async () => (await held(topics.latent)) >= frames.length, {
      what: `${frames.length} latent vectors`,
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await detector.stop();
    detector = undefined;
    expect(await held(topics.rebuilt)).toBe(frames.length);
    expect(await held(topics.latent)).toBe(frames.length);

    const latentCodec = createAvroCodec<LatentVector>('latent-vector.avsc');
    const rebuilt: ImageFrame[] = [];
    const vectors: LatentVector[] = [];
    for (const m of await g.read([topics.rebuilt, topics.latent])) {
      if (m.topic === topics.rebuilt) rebuilt.push(codec.decode(m.value, m.headers as never));
      else vectors.push(latentCodec.decode(m.value, m.headers as never));
    }
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
