import { PNG } from 'pngjs';
import { frameSchema } from '../../../src/core/frame-config';
import { checkFrame } from '../../../src/operators/frame-check';
import type { ImageFrame, SensorFrame } from '../../../src/core/records';
import { ErrorCodes } from '../../../src/core/errors';

const sensorConfig = frameSchema.parse({ kind: 'sensor', features: 3, window: 8 });
const imageConfig = frameSchema.parse({ kind: 'image', width: 4, height: 2, channels: 1 });
const sensor = (values: number[], extra: Partial<SensorFrame> = {}): SensorFrame => ({
  source: 'pump-1',
  time: 1_700_000_000_000,
  values,
  seq: null,
  attributes: {},
  ...extra,
});
const image = (extra: Partial<ImageFrame>): ImageFrame => ({
  source: 'cam',
  time: 0,
  width: 4,
  height: 2,
  channels: 1,
  encoding: 'RAW_U8',
  data: Buffer.alloc(8),
  ...extra,
});

describe('checkFrame', () => {
  it('accepts frames that fit', () => {
    expect(checkFrame(sensor([1, -2, 3.5]), sensorConfig)).toBeUndefined();
    expect(checkFrame(image({}), imageConfig)).toBeUndefined();
    const f32 = Buffer.alloc(32);
    f32.writeFloatLE(0.5, 4);
    expect(checkFrame(image({ encoding: 'RAW_F32', data: f32 }), imageConfig)).toBeUndefined();
  });

  it.each([
    [
      'too few values',
      sensor([1, 2]),
      ErrorCodes.FRAME_SHAPE,
      'expected 3 values per reading, got 2',
    ],
    ['too many values', sensor([1, 2, 3, 4]), ErrorCodes.FRAME_SHAPE, 'got 4'],
    ['NaN', sensor([1, NaN, 3]), ErrorCodes.NON_FINITE, 'values[1] is NaN'],
    ['Infinity', sensor([1, 2, -Infinity]), ErrorCodes.NON_FINITE, 'values[2] is -Infinity'],
    ['empty source', sensor([1, 2, 3], { source: '' }), ErrorCodes.FRAME_INVALID, 'empty source'],
  ])('sensor frame with %s: %s', (_what, frame, code, message) => {
    const err = checkFrame(frame, sensorConfig);
    expect(err?.code).toBe(code);
    expect(err?.message).toContain(message);
  });

  it.each([
    ['wrong width', image({ width: 5, data: Buffer.alloc(10) }), ErrorCodes.IMAGE_SIZE],
    ['wrong channels', image({ channels: 3, data: Buffer.alloc(24) }), ErrorCodes.IMAGE_SIZE],
    ['short RAW_U8 data', image({ data: Buffer.alloc(7) }), ErrorCodes.IMAGE_SIZE],
    [
      'short RAW_F32 data',
      image({ encoding: 'RAW_F32', data: Buffer.alloc(8) }),
      ErrorCodes.IMAGE_SIZE,
    ],
    ['not a PNG', image({ encoding: 'PNG', data: Buffer.alloc(40) }), ErrorCodes.FRAME_INVALID],
  ])('image frame with %s', (_what, frame, code) => {
    expect(checkFrame(frame, imageConfig)?.code).toBe(code);
  });

  it('finds NaN pixels in RAW_F32 images', () => {
    const data = Buffer.alloc(32);
    data.writeFloatLE(NaN, 12);
    const err = checkFrame(image({ encoding: 'RAW_F32', data }), imageConfig);
    expect(err?.code).toBe(ErrorCodes.NON_FINITE);
    expect(err?.message).toBe('value not finite or too large: pixel 3 is NaN');
  });

  it('reads PNG dimensions from the header', () => {
    const png = (w: number, h: number) =>
      PNG.sync.write(Object.assign(new PNG({ width: w, height: h }), {}));
    expect(checkFrame(image({ encoding: 'PNG', data: png(4, 2) }), imageConfig)).toBeUndefined();
    const err = checkFrame(image({ encoding: 'PNG', data: png(2, 4) }), imageConfig);
    expect(err?.code).toBe(ErrorCodes.IMAGE_SIZE);
    expect(err?.message).toBe('wrong image size: PNG is 2x4, expected 4x2');
  });
});
