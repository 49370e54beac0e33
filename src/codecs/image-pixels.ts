import { PNG } from 'pngjs';
import { AeError, ErrorCodes } from '../core/errors';
import type { ImageFrame } from '../core/records';

/**
 * The pixels of an image frame as model input: H·W·C 8-bit intensities (0 to 255) as
 * floats, row-major HWC: the unit image models are trained in (IDX files hold bytes), so
 * the model's own normalization applies unchanged. RAW_U8 is taken as it is, RAW_F32
 * (floats in [0,1]) is scaled by 255, PNG is decoded (grey or RGB as the frame says; alpha
 * dropped). The frame was checked before (sizes), so a failure here is a corrupt PNG,
 * reported with AE_ERR_IMAGE_DECODE.
 *
 * `out` (optional) is where the pixels go, e.g. a view into a block shared by many frames
 * (a fresh Float32Array per frame costs more than the conversion itself); it must hold
 * exactly H·W·C values.
 *
 * @example imagePixels({ ...frame, encoding: 'RAW_F32', data: floats([0, 1]) }) // [0, 255]
 */
export function imagePixels(frame: ImageFrame, out?: Float32Array): Float32Array {
  const size = frame.width * frame.height * frame.channels;
  if (out !== undefined && out.length !== size) {
    throw new RangeError(`imagePixels: out holds ${out.length} values, the frame has ${size}`);
  }
  const target = out ?? new Float32Array(size);
  switch (frame.encoding) {
    case 'RAW_U8':
      // TypedArray.set converts the bytes natively, faster than a loop in JS. A checked
      // frame has exactly `size` bytes: no view to cut.
      target.set(frame.data.length === size ? frame.data : frame.data.subarray(0, size));
      return target;
    case 'RAW_F32':
      for (let i = 0; i < size; i++) target[i] = frame.data.readFloatLE(i * 4) * 255;
      return target;
    case 'PNG':
      return pngPixels(frame, target);
  }
}

function pngPixels(frame: ImageFrame, out: Float32Array): Float32Array {
  let png: PNG;
  try {
    png = PNG.sync.read(frame.data);
  } catch (err) {
    throw new AeError(ErrorCodes.IMAGE_DECODE, `PNG: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (png.width !== frame.width || png.height !== frame.height) {
    throw new AeError(
      ErrorCodes.IMAGE_DECODE,
      `PNG is ${png.width}x${png.height}, the frame says ${frame.width}x${frame.height}`,
    );
  }
  // pngjs always gives RGBA bytes; keep the channels the frame declares.
  const c = frame.channels;
  for (let p = 0; p < frame.width * frame.height; p++) {
    if (c === 1) out[p] = png.data[p * 4];
    else for (let k = 0; k < c; k++) out[p * c + k] = png.data[p * 4 + k];
  }
  return out;
}
