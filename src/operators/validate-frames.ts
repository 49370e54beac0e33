import { map, type OperatorFunction } from 'rxjs';
import type { FrameConfig } from '../core/frame-config';
import { checkFrame } from './frame-check';
import type { Frame } from '../core/records';
import type { Outcome } from '../core/kafka-record';

/**
 * Checks decoded frames against the pipeline's frame config (feature count, image size,
 * finite values); a frame that does not fit becomes a failed outcome with its reason code.
 * Failed outcomes pass through unchanged.
 *
 * @example
 * records$.pipe(decodeRecords(codec), validateFrames(config.frame), toDeadLetters(dlq))
 */
export function validateFrames<T extends Frame>(
  config: FrameConfig,
): OperatorFunction<Outcome<T>, Outcome<T>> {
  return map((outcome) => {
    if (!outcome.ok) return outcome;
    const error = checkFrame(outcome.value, config);
    return error ? { ok: false, record: outcome.record, error } : outcome;
  });
}
