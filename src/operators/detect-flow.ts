import {
  defer,
  identity,
  tap,
  type MonoTypeOperatorFunction,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import type { RecordCodec } from '../codecs/avro-codec';
import type { Frame, ImageFrame, SensorFrame } from '../core/records';
import type { FrameConfig, SensorFrameConfig } from '../core/frame-config';
import type { ModelConfig } from '../training/model-config';
import type { MicroBatchConfig } from './micro-batch-config';
import type { DlqSink } from '../outputs/dlq-sink';
import type { Accepted, KafkaRecord, Outcome } from '../core/kafka-record';
import type { DetectorMetrics } from '../observability/metrics';
import type { ScoreJudge } from '../thresholds/threshold-registry';
import { applyThresholds } from './apply-thresholds';
import { decodeRecords } from './decode-records';
import type { ActiveModel } from '../inference/active-model';
import { inferBatch } from './infer-batch';
import { microBatch } from './micro-batch';
import { scoreRules, type ScoreRulesConfig } from './score-rules';
import type { Judged, ModelInput, BatchSink } from '../core/model-input';
import { toDeadLetters } from './to-dead-letters';
import { imageInputs, sensorInputs } from './to-model-inputs';
import { toPixels, type PixelFrame } from './to-pixels';
import type { SourceStates } from './source-states';
import { SensorWindows } from './sensor-windows';
import { validateFrames } from './validate-frames';
import { writeAndAck, type BatchState } from './write-and-ack';

/** The slice of a pipeline file the flow reads. */
export interface DetectFlowConfig {
  readonly name: string;
  readonly frame: FrameConfig;
  readonly batch: MicroBatchConfig;
  readonly model: Pick<ModelConfig, 'engine'>;
  readonly output: { readonly reconstruction?: unknown; readonly latent?: unknown };
  /** Likelihood and range rules between score and threshold (sensor frames). */
  readonly rules?: ScoreRulesConfig;
}

/** The parts a detector is assembled from; Kafka and InfluxDB in `detect`, in-memory in the demo. */
export interface DetectParts {
  config: DetectFlowConfig;
  codec: RecordCodec<Frame>;
  dlq: Pick<DlqSink, 'send'>;
  /** The model in use; read once per batch, so a swap lands between batches. */
  model: () => Pick<ActiveModel, 'version' | 'scorer'>;
  /** The threshold registry in use. */
  judge: () => ScoreJudge;
  /** Every output that must ack before the input records are acked. */
  sinks: readonly BatchSink<Frame>[];
  metrics?: DetectorMetrics;
  /** Per-source state kept across restarts (detect): its windows, redo filter and captures. */
  state?: SourceStates<Frame>;
}

/**
 * The detector: records → decode → validate (bad → DLQ) → model inputs (per-source
 * windows, or images) → micro-batches → batched inference → score rules (optional) →
 * per-source thresholds →
 * every sink → ack. Emits each batch once it is written and acked.
 *
 * @example source.records().pipe(detectFlow(parts)).subscribe()
 */
export function detectFlow(parts: DetectParts): OperatorFunction<KafkaRecord, Judged<Frame>[]> {
  const { config, metrics } = parts;
  const pipeline = config.name;
  const frame = config.frame;
  return (records) =>
    defer(() => {
      const framesIn = metrics?.framesIn.labels({ pipeline });
      // Counted per record, added to the counter once the records of one synchronous run
      // (a fetch) are through: prom-client validates and hashes the labels per inc.
      let uncounted = 0;
      const count = () => {
        framesIn!.inc(uncounted);
        uncounted = 0;
      };
      const counted = framesIn
        ? records.pipe(
            tap(() => {
              if (uncounted++ === 0) queueMicrotask(count);
            }),
          )
        : records;
      const decoded = counted.pipe(decodeRecords(parts.codec), validateFrames<Frame>(frame));
      const state = parts.state;
      // Per subscription, unless the state keeps them: each batch's windows go into one block.
      const windows =
        frame.kind === 'sensor'
          ? ((state as SourceStates<SensorFrame> | undefined)?.windows ??
            new SensorWindows<Accepted<SensorFrame>>(frame))
          : null;
      const inputs: Observable<ModelInput<Frame>> =
        windows !== null
          ? (decoded as Observable<Outcome<SensorFrame>>).pipe(
              toDeadLetters<SensorFrame>(parts.dlq as DlqSink),
              releasePayloads(),
              state ? (state as SourceStates<SensorFrame>).skipRedone() : identity,
              sensorInputs(frame as SensorFrameConfig, windows),
            )
          : (decoded as Observable<Outcome<ImageFrame>>).pipe(
              toPixels(),
              toDeadLetters(parts.dlq as DlqSink),
              releasePayloads(),
              state ? (state as unknown as SourceStates<PixelFrame>).skipRedone() : identity,
              imageInputs(),
            );
      return inputs.pipe(
        microBatch<ModelInput<Frame>>(
          config.batch,
          undefined,
          windows ? () => windows.startBatch(config.batch.maxSize) : undefined,
        ),
        inferBatch<Frame>(
          parts.model,
          (size, seconds) => {
            metrics?.batchSize.observe({ pipeline }, size);
            metrics?.inferenceSeconds.observe({ pipeline, engine: config.model.engine }, seconds);
          },
          // Reconstruction and latent outputs come from the scoring pass itself.
          config.output.reconstruction !== undefined || config.output.latent !== undefined,
        ),
        scoreRules<Frame>(
          frame.kind === 'sensor' ? config.rules : undefined,
          frame.kind === 'sensor' ? frame.features : 0,
          state?.rules,
          {
            ratio: (from, to) => parts.judge().scoreRatio?.(from, to),
            reference: (version) => parts.judge().referenceScores?.(version),
            referenceNewest: (version) => parts.judge().referenceNewest?.(version),
            referenceSpread: (version) => parts.judge().referenceSpread?.(version),
          },
        ),
        applyThresholds<Frame>(parts.judge),
        writeAndAck<Frame>(parts.sinks, undefined, state as BatchState<Frame, unknown> | undefined),
        tap((batch) => {
          if (!metrics) return;
          const now = Date.now();
          metrics.framesScored.inc({ pipeline }, batch.length);
          let anomalies = 0;
          // The series once per batch: a label lookup per frame showed in profiles.
          const endToEnd = metrics.endToEndSeconds.labels({ pipeline });
          for (const judged of batch) {
            if (judged.verdict === 'anomaly') anomalies++;
            const time = (judged.last.value as { time?: number }).time;
            if (typeof time === 'number') endToEnd.observe(Math.max(0, now - time) / 1000);
          }
          if (anomalies > 0) metrics.anomalies.inc({ pipeline }, anomalies);
        }),
      );
    });
}

/** Past the dead-letter step no step reads a record's payload: dropped, the frames in flight are smaller. */
function releasePayloads<T>(): MonoTypeOperatorFunction<Accepted<T>> {
  return tap((a) => a.record.release?.());
}
