import { PNG } from 'pngjs';
import { from, lastValueFrom, toArray } from 'rxjs';
import { imagePixels } from '../../../src/codecs/image-pixels';
import type { ImageFrame } from '../../../src/core/records';
import { ErrorCodes } from '../../../src/core/errors';
import type { KafkaRecord, Outcome } from '../../../src/core/kafka-record';
import { toPixels } from '../../../src/operators/to-pixels';

const record = (offset: number): KafkaRecord => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: null,
  timestamp: 0,
  headers: {},
  value: Buffer.alloc(0),
  ack: () => undefined,
});

/** A w x h grey RAW_U8 frame whose pixel p is (seed + p) mod 256. */
function rawFrame(seed: number, w = 28, h = 28): ImageFrame {
  const data = Buffer.alloc(w * h);
  for (let p = 0; p < data.length; p++) data[p] = (seed + p) % 256;
  return { source: 'cam', time: seed, width: w, height: h, channels: 1, encoding: 'RAW_U8', data };
}

const ok = (frame: ImageFrame, i: number): Outcome<ImageFrame> => ({
  ok: true,
  record: record(i),
  value: frame,
});

describe('toPixels', () => {
  it('hands RAW_U8 frames on with their bytes as the pixels', async () => {
    const frames = Array.from({ length: 300 }, (_, i) => rawFrame(i));
    const out = await lastValueFrom(from(frames.map(ok)).pipe(toPixels(), toArray()));
    expect(out).toHaveLength(300);
    out.forEach((o, i) => {
      if (!o.ok) throw new Error(`frame ${i} failed: ${o.error.message}`);
      expect(o.value.pixels).toHaveLength(784);
      expect(Array.from(o.value.pixels)).toEqual(Array.from(frames[i]!.data));
      expect(o.value.source).toBe('cam');
      expect(o.value.time).toBe(i);
    });
  });

  it('gives every decoded frame its own pixels, also across many frames sharing blocks', async () => {
    // RAW_F32 is decoded into floats: 28x28 floats are 3,136 bytes, so 300 frames span
    // several 256 KiB blocks.
    const frames = Array.from({ length: 300 }, (_, i) => {
      const data = Buffer.alloc(784 * 4);
      for (let p = 0; p < 784; p++) data.writeFloatLE(((i + p) % 256) / 256, p * 4);
      return { ...rawFrame(i), encoding: 'RAW_F32' as const, data };
    });
    const out = await lastValueFrom(from(frames.map(ok)).pipe(toPixels(), toArray()));
    out.forEach((o, i) => {
      if (!o.ok) throw new Error(`frame ${i} failed: ${o.error.message}`);
      expect(o.value.pixels).toBeInstanceOf(Float32Array);
      expect(o.value.pixels[0]).toBeCloseTo((i % 256) * (255 / 256), 4);
      expect(o.value.pixels[783]).toBeCloseTo(((i + 783) % 256) * (255 / 256), 4);
    });
  });

  it('turns a corrupt PNG into AE_ERR_IMAGE_DECODE and goes on with the next frames', async () => {
    const png = new PNG({ width: 2, height: 1 });
    png.data = Buffer.from([10, 10, 10, 255, 200, 200, 200, 255]);
    const good: ImageFrame = {
      source: 'cam',
      time: 1,
      width: 2,
      height: 1,
      channels: 1,
      encoding: 'PNG',
      data: PNG.sync.write(png),
    };
    const bad: ImageFrame = { ...good, data: Buffer.from('not a png') };
    const out = await lastValueFrom(
      from([ok(bad, 0), ok(good, 1), ok(rawFrame(5, 2, 1), 2)]).pipe(toPixels(), toArray()),
    );
    expect(out[0]!.ok).toBe(false);
    if (!out[0]!.ok) expect(out[0]!.error.code).toBe(ErrorCodes.IMAGE_DECODE);
    expect(out[1]!.ok && Array.from(out[1]!.value.pixels)).toEqual([10, 200]);
    expect(out[2]!.ok && Array.from(out[2]!.value.pixels)).toEqual([5, 6]);
  });
});

describe('imagePixels', () => {
  it('writes into a given array of the right size and refuses one of another size', () => {
    const frame = rawFrame(250, 4, 1);
    const out = new Float32Array(4);
    expect(imagePixels(frame, out)).toBe(out);
    expect(Array.from(out)).toEqual([250, 251, 252, 253]);
    expect(() => imagePixels(frame, new Float32Array(5))).toThrow(RangeError);
  });

  it('scales RAW_F32 floats in [0, 1] to 0-255', () => {
    const data = Buffer.alloc(8);
    data.writeFloatLE(0, 0);
    data.writeFloatLE(0.5, 4);
    const px = imagePixels({ ...rawFrame(0, 2, 1), encoding: 'RAW_F32', data });
    expect(Array.from(px)).toEqual([0, 127.5]);
  });
});
