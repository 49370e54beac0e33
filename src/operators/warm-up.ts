import { from, lastValueFrom, toArray } from 'rxjs';
import type { Frame, ImageFrame, SensorFrame } from '../core/records';
import type { KafkaRecord } from '../core/kafka-record';
import { detectFlow, type DetectParts } from './detect-flow';

/** What a warm-up did: synthetic frames run through the flow and how long it took. */
export interface WarmUpResult {
  frames: number;
  ms: number;
}

/**
 * Runs `batches` full micro-batches (by default about 8,192 frames) of synthetic frames through a detectFlow of the
 * pipeline before the detector consumes anything: V8 compiles the hot path and sizes its
 * young generation, and the engine runs its first batches, while no frame waits. Nothing
 * leaves the process (no sinks, no dead letters, no acks) and `judge` should be a
 * throwaway: it learns the synthetic scores. Sources are named `warm-up-N`.
 *
 * @example await warmUp({ config, codec, model: () => models.current, judge: () => createThresholdRegistry(spec) })
 */
export async function warmUp(
  parts: Pick<DetectParts, 'config' | 'codec' | 'model' | 'judge'>,
  batches?: number,
): Promise<WarmUpResult> {
  const started = performance.now();
  const { frame, batch } = parts.config;
  // About 8,192 frames (2 to 32 batches): a fraction of a second of the detector's work.
  batches ??= Math.max(2, Math.min(32, Math.floor(8_192 / batch.maxSize)));
  const sources = batch.maxSize;
  const n = batches * sources;
  const time = Date.now() - n;
  const records: KafkaRecord[] = [];
  for (let i = 0; i < n; i++) {
    const source = `warm-up-${i % sources}`;
    const step = Math.floor(i / sources);
    const value: Frame =
      frame.kind === 'sensor'
        ? sensorFrame(source, time + i, step, frame.features)
        : imageFrame(source, time + i, i, frame.width, frame.height, frame.channels);
    records.push({
      topic: 'warm-up',
      partition: 0,
      offset: String(i),
      key: null,
      timestamp: time + i,
      headers: parts.codec.headers ?? {},
      value: parts.codec.encode(value),
      ack: () => undefined,
    });
  }
  await lastValueFrom(
    from(records).pipe(
      detectFlow({ ...parts, dlq: { send: async () => undefined }, sinks: [] }),
      toArray(),
    ),
  );
  return { frames: n, ms: performance.now() - started };
}

/** A smooth reading of `features` values: every feature a slow sine of its own phase. */
function sensorFrame(source: string, time: number, step: number, features: number): SensorFrame {
  const values = new Array<number>(features);
  for (let f = 0; f < features; f++) values[f] = Math.sin((step + 7 * f) / 5);
  return { source, time, values, seq: step, attributes: {} } as SensorFrame;
}

/** A grey gradient image, raw bytes, shifted by `i`. */
function imageFrame(
  source: string,
  time: number,
  i: number,
  width: number,
  height: number,
  channels: number,
): ImageFrame {
  const data = Buffer.alloc(width * height * channels);
  for (let p = 0; p < data.length; p++) data[p] = (p + i) & 0xff;
  return { source, time, width, height, channels, encoding: 'RAW_U8', data };
}
