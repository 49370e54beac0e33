import { map, type OperatorFunction } from 'rxjs';
import type { SensorFrameConfig } from '../core/frame-config';
import type { SensorFrame } from '../core/records';
import type { Accepted } from '../core/kafka-record';
import { unjudged, type ModelInput } from '../core/model-input';
import { slidingWindow } from './sliding-window';
import type { SensorWindows } from './sensor-windows';
import type { PixelFrame } from './to-pixels';

/**
 * Sensor readings into model inputs: per-source sliding windows (W x D), each carrying
 * the records it covers. Keyed by the frame's source id; `windows` when the caller keeps them.
 *
 * @example accepted$.pipe(sensorInputs({ kind: 'sensor', features: 1, window: 64, stride: 1 }))
 */
export function sensorInputs(
  frame: SensorFrameConfig,
  windows?: SensorWindows<Accepted<SensorFrame>>,
): OperatorFunction<Accepted<SensorFrame>, ModelInput<SensorFrame>> {
  return (source) =>
    source.pipe(
      slidingWindow<Accepted<SensorFrame>>(
        frame,
        (a) => a.value.source,
        (a) => a.value.values,
        windows,
        // Readings waiting in a window must not hold back the source (KafkaRecord.hold).
        (a, held) => a.record.hold?.(held),
      ),
    );
}

/**
 * Image frames into model inputs: each image is one input covering its own record.
 *
 * @example accepted$.pipe(imageInputs())
 */
export function imageInputs(): OperatorFunction<Accepted<PixelFrame>, ModelInput<PixelFrame>> {
  return map((a) => unjudged(a.value.source, a.value.pixels, a, [a], false));
}
