import { AeError, ErrorCodes } from '../core/errors';
import type { FrameConfig, ImageFrameConfig, SensorFrameConfig } from '../core/frame-config';
import type { Frame, ImageFrame, SensorFrame } from '../core/records';

/** The largest reading magnitude a score can be computed for (its square must stay finite). */
export const MAX_MAGNITUDE = 1e100;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Why a decoded frame cannot be scored by a pipeline, or undefined when it can. Each
 * reason has its own code (the DLQ reason): AE_ERR_FRAME_SHAPE, AE_ERR_IMAGE_SIZE,
 * AE_ERR_NON_FINITE, AE_ERR_FRAME_INVALID.
 *
 * @example
 * checkFrame({ source: 'p', time: 0, values: [NaN], seq: null, attributes: {} }, { kind: 'sensor', features: 1, window: 8, stride: 1 })
 * // AeError AE_ERR_NON_FINITE "values[0] is NaN"
 */
export function checkFrame(frame: Frame, config: FrameConfig): AeError | undefined {
  if (typeof frame.source !== 'string' || frame.source.length === 0) {
    return new AeError(ErrorCodes.FRAME_INVALID, 'frame has an empty source id');
  }
  if (!Number.isFinite(frame.time)) {
    return new AeError(ErrorCodes.FRAME_INVALID, `frame time ${frame.time} is not a time`);
  }
  return config.kind === 'sensor'
    ? checkSensor(frame as SensorFrame, config)
    : checkImage(frame as ImageFrame, config);
}

function checkSensor(frame: SensorFrame, config: SensorFrameConfig): AeError | undefined {
  if (!Array.isArray(frame.values)) {
    return new AeError(
      ErrorCodes.FRAME_SHAPE,
      'sensor frame has no values array (is this an image frame?)',
    );
  }
  if (frame.values.length !== config.features) {
    return new AeError(
      ErrorCodes.FRAME_SHAPE,
      `expected ${config.features} value${config.features === 1 ? '' : 's'} per reading, got ${frame.values.length}`,
    );
  }
  for (let i = 0; i < frame.values.length; i++) {
    const v = frame.values[i];
    if (!Number.isFinite(v)) {
      return new AeError(ErrorCodes.NON_FINITE, `values[${i}] is ${v}`);
    }
    // Squared errors of such values overflow to Infinity: no score could be computed.
    if (Math.abs(v) > MAX_MAGNITUDE) {
      return new AeError(
        ErrorCodes.NON_FINITE,
        `values[${i}] is ${v}, beyond +-${MAX_MAGNITUDE} where reconstruction errors overflow`,
      );
    }
  }
  return undefined;
}

function checkImage(frame: ImageFrame, config: ImageFrameConfig): AeError | undefined {
  const { width, height, channels } = config;
  if (!Buffer.isBuffer(frame.data)) {
    return new AeError(ErrorCodes.IMAGE_SIZE, 'image frame has no data (is this a sensor frame?)');
  }
  if (frame.width !== width || frame.height !== height || frame.channels !== channels) {
    return new AeError(
      ErrorCodes.IMAGE_SIZE,
      `expected ${width}x${height}x${channels}, got ${frame.width}x${frame.height}x${frame.channels}`,
    );
  }
  const pixels = width * height * channels;
  switch (frame.encoding) {
    case 'RAW_U8':
      return frame.data.length === pixels
        ? undefined
        : new AeError(
            ErrorCodes.IMAGE_SIZE,
            `RAW_U8 data has ${frame.data.length} bytes, expected ${pixels}`,
          );
    case 'RAW_F32': {
      if (frame.data.length !== pixels * 4) {
        return new AeError(
          ErrorCodes.IMAGE_SIZE,
          `RAW_F32 data has ${frame.data.length} bytes, expected ${pixels * 4}`,
        );
      }
      for (let i = 0; i < pixels; i++) {
        const v = frame.data.readFloatLE(i * 4);
        if (!Number.isFinite(v)) return new AeError(ErrorCodes.NON_FINITE, `pixel ${i} is ${v}`);
      }
      return undefined;
    }
    case 'PNG': {
      // Width and height from the IHDR chunk; the pixels are checked when decoded.
      if (frame.data.length < 24 || !frame.data.subarray(0, 8).equals(PNG_SIGNATURE)) {
        return new AeError(ErrorCodes.FRAME_INVALID, 'PNG data does not start with a PNG header');
      }
      const w = frame.data.readUInt32BE(16);
      const h = frame.data.readUInt32BE(20);
      return w === width && h === height
        ? undefined
        : new AeError(ErrorCodes.IMAGE_SIZE, `PNG is ${w}x${h}, expected ${width}x${height}`);
    }
    default:
      return new AeError(
        ErrorCodes.FRAME_INVALID,
        `unknown image encoding ${String(frame.encoding)}`,
      );
  }
}
