import type { IPoint } from 'influx';
import type { RecordCodec } from '../codecs/avro-codec';
import { AeError, messageOf } from '../core/errors';
import type { BatchSink } from '../core/model-input';
import type { AnomalyEvent, Frame } from '../core/records';
import { openModel, type ActiveModel } from '../inference/active-model';
import { logger } from '../observability/logger';
import type { PointWriter } from '../outputs/score-sink';
import type { ModelSection } from '../training/model-config';

/**
 * The AnomalyEvent codec of a replay: detection time = the frame's event time (a replay
 * scores "as of" the frame, and two replays then write the same bytes), and the run id in
 * the header `ae.run`.
 */
export function replayEventCodec(
  codec: RecordCodec<AnomalyEvent>,
  runId: string,
): RecordCodec<AnomalyEvent> {
  return {
    type: codec.type,
    ready: () => codec.ready(),
    headers: { ...codec.headers, 'ae.run': runId },
    decode: (bytes, headers) => codec.decode(bytes, headers),
    encode(event) {
      event.detectionTime = event.eventTime;
      return codec.encode(event);
    },
  };
}

/** A point writer that adds `tags` to every point (the replay's `run` tag). */
export function taggedWriter(
  writer: PointWriter,
  tags: Readonly<Record<string, string>>,
): PointWriter {
  return {
    writePoints: (points: readonly IPoint[]) =>
      writer.writePoints(points.map((p) => ({ ...p, tags: { ...p.tags, ...tags } }))),
  };
}

/** A sink that writes only the judged frames `keep` accepts (a replay's range, not its warm-up). */
export function filteredSink(
  sink: BatchSink<Frame>,
  keep: (record: { partition: number; offset: string }) => boolean,
): BatchSink<Frame> {
  return {
    name: sink.name,
    // Every batch, kept or not: the sink's event rules learn from the warm-up too.
    prepare: (batch) => sink.prepare?.(batch),
    async write(batch) {
      const kept = batch.filter((j) => keep(j.last.record));
      if (kept.length > 0) await sink.write(kept);
    },
  };
}

/**
 * The model of a replay. `engine: auto` picks whichever engine is faster at start-up, and
 * tfjs and onnx agree only to ~1e-7, which adaptive thresholds can carry into other
 * verdicts: a replay pins onnx instead (tfjs where onnx cannot load), so two replays
 * always run the same engine.
 */
export async function openReplayModel(
  config: ModelSection,
  version: number | undefined,
): Promise<ActiveModel> {
  const open = (engine: ModelSection['model']['engine']) =>
    openModel(config.frame, { ...config.model, engine }, version !== undefined ? { version } : {});
  if (config.model.engine !== 'auto') return open(config.model.engine);
  try {
    return await open('onnx');
  } catch (err) {
    if (err instanceof AeError && err.code.startsWith('AE_ERR_MODEL_')) throw err;
    logger.info({ reason: messageOf(err) }, 'onnx engine unavailable, replaying on tfjs');
    return open('tfjs');
  }
}
