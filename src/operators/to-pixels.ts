import { map, type OperatorFunction } from 'rxjs';
import { imagePixels } from '../codecs/image-pixels';
import type { ImageFrame } from '../core/records';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import type { Outcome } from '../core/kafka-record';

/**
 * An image frame with its pixels as model input: 0-255 intensities, as floats, or for
 * RAW_U8 the frame's own bytes (the batch copy converts them).
 */
export type PixelFrame = ImageFrame & { pixels: Float32Array | Uint8Array };

/** Bytes of each block the pixels of consecutive frames are cut from. */
const BLOCK_BYTES = 256 * 1024;

/**
 * Hands out Float32Array views of `size` values, consecutive in blocks of about 256 KiB.
 * A Float32Array of its own per frame costs more than the pixels' conversion (each is a
 * separately allocated and garbage-collected buffer); views into a block cost a small
 * object. A block lives as long as any of its views: whoever keeps pixels for long
 * (a retrain reservoir) keeps a copy.
 */
class PixelBlocks {
  private block = new Float32Array(0);
  private used = 0;

  take(size: number): Float32Array {
    if (this.used + size > this.block.length) {
      this.block = new Float32Array(Math.max(size, Math.floor(BLOCK_BYTES / 4 / size) * size));
      this.used = 0;
    }
    const view = this.block.subarray(this.used, this.used + size);
    this.used += size;
    return view;
  }
}

/**
 * Decodes the pixels of each checked image frame (RAW_U8, RAW_F32, PNG) into 0-255
 * intensities. A PNG that does not decode becomes a failed outcome (AE_ERR_IMAGE_DECODE), so it
 * goes to the dead-letter topic like any other bad frame; failed outcomes pass unchanged.
 * RAW_U8 pixels are the frame's bytes; decoded ones are views into shared blocks (see
 * PixelBlocks).
 *
 * @example outcomes$.pipe(validateFrames(frame), toPixels(), toDeadLetters(dlq))
 */
export function toPixels(): OperatorFunction<Outcome<ImageFrame>, Outcome<PixelFrame>> {
  return (source) => {
    // One pool per use of the operator: two detectors in one process never share blocks.
    const blocks = new PixelBlocks();
    return source.pipe(
      map((outcome): Outcome<PixelFrame> => {
        if (!outcome.ok) return outcome;
        const frame = outcome.value;
        try {
          const size = frame.width * frame.height * frame.channels;
          // RAW_U8 bytes are the intensities already: no float copy of every image
          // (inferBatch's copy into the batch converts them natively).
          const pixels =
            frame.encoding === 'RAW_U8' && frame.data.length === size
              ? frame.data
              : imagePixels(frame, blocks.take(size));
          return { ok: true, record: outcome.record, value: pixelFrame(frame, pixels) };
        } catch (err) {
          const error =
            err instanceof AeError
              ? err
              : new AeError(ErrorCodes.IMAGE_DECODE, messageOf(err), { cause: err });
          return { ok: false, record: outcome.record, error };
        }
      }),
    );
  };
}

/** The frame with its pixels; fields spelled out (a generic `{ ...frame }` copy per image was slower). */
function pixelFrame(frame: ImageFrame, pixels: Float32Array | Uint8Array): PixelFrame {
  return {
    source: frame.source,
    time: frame.time,
    width: frame.width,
    height: frame.height,
    channels: frame.channels,
    encoding: frame.encoding,
    data: frame.data,
    pixels,
  };
}
