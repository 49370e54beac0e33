import { map, type OperatorFunction } from 'rxjs';
import { imagePixels } from '../codecs/image-pixels';
import type { ImageFrame } from '../codecs/records';
import { AeError, ErrorCodes, messageOf } from '../errors';
import type { Outcome } from '../io/kafka-record';

/** An image frame with its pixels decoded into model input. */
export type PixelFrame = ImageFrame & { pixels: Float32Array };

/**
 * Decodes the pixels of each checked image frame (RAW_U8, RAW_F32, PNG) into 0-255
 * intensities. A PNG that does not decode becomes a failed outcome (AE_ERR_IMAGE_DECODE), so it
 * goes to the dead-letter topic like any other bad frame; failed outcomes pass unchanged.
 *
 * @example outcomes$.pipe(validateFrames(frame), toPixels(), toDeadLetters(dlq))
 */
export function toPixels(): OperatorFunction<Outcome<ImageFrame>, Outcome<PixelFrame>> {
  return map((outcome): Outcome<PixelFrame> => {
    if (!outcome.ok) return outcome;
    try {
      return {
        ok: true,
        record: outcome.record,
        value: { ...outcome.value, pixels: imagePixels(outcome.value) },
      };
    } catch (err) {
      const error =
        err instanceof AeError
          ? err
          : new AeError(ErrorCodes.IMAGE_DECODE, messageOf(err), { cause: err });
      return { ok: false, record: outcome.record, error };
    }
  });
}
