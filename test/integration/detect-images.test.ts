import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { AnomalyEvent, ImageFrame } from '../../src/core/records';
import { consumerLag } from '../../src/connectors/kafka/consumer-lag';
import { trainAndStore } from '../../src/registry/train-and-store';
import { seededRandom } from '../../src/core/seeded-random';
import { startDetector } from '../../src/app/detect';
import { waitFor } from '../helpers/wait-for';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

const SIDE = 28;

/** A 28x28 grey image of stripes (horizontal or vertical), random period, phase and noise. */
function stripes(random: () => number, orientation: 'h' | 'v'): Uint8Array {
  const period = 4 + Math.floor(random() * 4);
  const phase = Math.floor(random() * period);
  const img = new Uint8Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const along = orientation === 'h' ? y : x;
      const on = (along + phase) % period < period / 2;
      const v = (on ? 200 : 30) + (random() - 0.5) * 40;
      img[y * SIDE + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return img;
}

/**
 * The image pipeline through the real broker: a conv autoencoder trained on one class of
 * 28x28 frames (horizontal stripes) lets frames of that class pass and raises events for
 * frames of another class (vertical stripes).
 */
describe('aestream detect on image frames (real Kafka)', () => {
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('images', {
      yaml: {
        input: { schema: 'schemas/image-frame.avsc' },
        frame: { kind: 'image', width: SIDE, height: SIDE, channels: 1 },
        model: { kind: 'conv-ae', filters: [8, 16], latent: 16, train: { epochs: 10, seed: 3 } },
        batch: { maxSize: 64, maxWaitMs: 20 },
        threshold: { kind: 'spot', risk: 1.0e-3, calibration: 200, level: 0.9, perKey: false },
      },
    });
  });
  afterAll(() => f?.teardown());

  it('passes frames of the trained class and raises events for another class', async () => {
    const { config } = f;
    const random = seededRandom(17);
    const train = Array.from({ length: 400 }, () => stripes(random, 'h'));
    const raw = new Float32Array(train.length * SIDE * SIDE);
    train.forEach((img, i) => raw.set(img, i * SIDE * SIDE));
    await trainAndStore(config, { raw, count: train.length, source: 'horizontal stripes' });

    // 200 frames of the trained class calibrate the threshold, then 100 of each class.
    const codec = createAvroCodec<ImageFrame>('ImageFrame');
    const frame = (source: string, img: Uint8Array, i: number): ImageFrame => ({
      source,
      time: Date.UTC(2026, 0, 1) + i * 1000,
      width: SIDE,
      height: SIDE,
      channels: 1,
      encoding: 'RAW_U8',
      data: Buffer.from(img),
    });
    const frames: ImageFrame[] = [];
    for (let i = 0; i < 200; i++) frames.push(frame('cam-a', stripes(random, 'h'), i));
    for (let i = 0; i < 100; i++) {
      frames.push(frame('cam-a', stripes(random, 'h'), 200 + 2 * i));
      frames.push(frame('cam-b', stripes(random, 'v'), 201 + 2 * i));
    }
    // One key: one partition, so the calibration frames are scored first.
    await f.produce(
      frames.map((x) => ({ key: 'line-1', value: codec.encode(x), headers: codec.headers })),
    );

    const events: AnomalyEvent[] = [];
    f.track(await startDetector(config, { metricsPort: null, onEvent: (e) => events.push(e) }));
    const lagLeft = async () =>
      (await consumerLag(f.admin, f.group, f.topics.input)).reduce((sum, p) => sum + p.lag, 0);
    await waitFor(async () => (await lagLeft()) === 0, {
      what: `all ${frames.length} frames committed`,
      timeoutMs: 240_000,
      intervalMs: 500,
    });

    const bySource = (s: string) => events.filter((e) => e.source === s).length;
    console.log(
      `[images] events: ${bySource('cam-b')} of 100 other-class frames, ${bySource('cam-a')} of 100 same-class frames`,
    );
    expect(bySource('cam-b')).toBeGreaterThanOrEqual(90);
    expect(bySource('cam-a')).toBeLessThanOrEqual(5);
    // Contributions name the image regions (7x7 grid cells) that were reconstructed worst.
    expect(events.every((e) => e.contributions.length > 0 && e.contributions[0].index < 16)).toBe(
      true,
    );
  });
});
