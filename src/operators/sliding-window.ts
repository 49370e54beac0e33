import { defer, filter, map, type OperatorFunction } from 'rxjs';
import { SensorWindows, type SensorWindow, type WindowShape } from './sensor-windows';

/**
 * Turns a stream of sensor readings into per-source sliding windows (W readings of D
 * values, a new window every `stride` readings once W are there). State lives per
 * subscription, so a resubscribe after a restart starts clean, unless `shared` windows are
 * given (a detector that keeps and restores its sources' state). `held` hears of each
 * reading that waits for later ones of its source (no window closed), and of its release
 * when the window that covers it closes.
 *
 * @example readings$.pipe(slidingWindow({ window: 64, stride: 1, features: 1 }, (r) => r.source, (r) => r.values))
 */
export function slidingWindow<T>(
  shape: WindowShape,
  keyOf: (item: T) => string,
  valuesOf: (item: T) => ArrayLike<number>,
  shared?: SensorWindows<T>,
  held?: (item: T, held: boolean) => void,
): OperatorFunction<T, SensorWindow<T>> {
  return (source) =>
    defer(() => {
      const windows = shared ?? new SensorWindows<T>(shape);
      return source.pipe(
        map((item) => {
          const w = windows.push(keyOf(item), valuesOf(item), item);
          if (held) {
            // Every item a window covers but the one that closed it was held until now.
            if (w === null) held(item, true);
            else if (w.covered.length > 1)
              for (const c of w.covered) if (c !== item) held(c, false);
          }
          return w;
        }),
        filter((w): w is SensorWindow<T> => w !== null),
      );
    });
}
