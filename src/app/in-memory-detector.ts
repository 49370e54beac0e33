import { from, lastValueFrom, map, tap } from 'rxjs';
import { createAvroCodec } from '../codecs/avro-codec';
import type { PipelineConfig } from '../config/pipeline-schema';
import {
  MemoryDlq,
  MemoryMessages,
  MemoryPoints,
  MemoryTopic,
} from '../connectors/kafka/memory-io';
import type { BatchSink, Judged } from '../core/model-input';
import type { AnomalyEvent, Frame } from '../core/records';
import { openModel } from '../inference/active-model';
import { detectFlow } from '../operators/detect-flow';
import { AnomalyEventSink } from '../outputs/anomaly-event-sink';
import { ScoreSink } from '../outputs/score-sink';
import { ModelAwareJudge } from '../thresholds/model-aware-judge';
import { createThresholdRegistry } from '../thresholds/threshold-registry';
import { inputCodec } from './wiring';

export interface InMemoryHooks {
  onEvent?: (event: AnomalyEvent) => void;
  /** Each batch once every sink has it, in stream order. */
  onScored?: (batch: readonly Judged<Frame>[]) => void;
}

export interface InMemoryRun {
  model: { version: string; engine: string; backend: string };
  deadLetters: MemoryDlq['letters'];
}

/**
 * Frames (sensor readings or images, as the pipeline's `frame` says) through `detectFlow`
 * as `aestream detect` runs it (the newest model of the pipeline's store, the per-source
 * thresholds behind the model-aware judge, the anomaly event and score sinks), with an
 * in-process topic, dead-letter queue and sinks instead of Kafka and InfluxDB. Frames are
 * encoded with the pipeline's input schema (plain Avro: no schema registry, nothing leaves
 * the process) and keyed by source, in the order given.
 *
 * @example await detectInMemory(config, frames, { onScored: (batch) => collect(batch) })
 */
export async function detectInMemory(
  config: Readonly<PipelineConfig>,
  frames: Iterable<Frame>,
  hooks: InMemoryHooks = {},
): Promise<InMemoryRun> {
  const { registry: _inProcess, ...input } = config.input;
  const codec = await inputCodec({ ...config, input });
  const model = await openModel(config.frame, config.model);
  const topic = new MemoryTopic(config.input.kafka.topic, 3);
  const dlq = new MemoryDlq();
  const judge = ModelAwareJudge.of(createThresholdRegistry(config.threshold), config);
  judge.addModel(
    model.version,
    model.stored.metadata.validation.loss,
    model.stored.metadata.calibration,
  );
  try {
    await lastValueFrom(
      from(frames).pipe(
        map((f) => topic.record(f.source, codec.encode(f), { ...codec.headers }, f.time)),
        detectFlow({
          config,
          codec,
          dlq,
          model: () => model,
          judge: () => judge,
          sinks: memorySinks(config, hooks.onEvent),
        }),
        tap((batch) => hooks.onScored?.(batch)),
      ),
      { defaultValue: [] },
    );
  } finally {
    await model.dispose();
  }
  return {
    model: { version: model.version, engine: model.engine, backend: model.backend },
    deadLetters: dlq.letters,
  };
}

/** The detector's anomaly event and score sinks, writing to memory. */
export function memorySinks(
  config: Readonly<PipelineConfig>,
  onEvent?: (event: AnomalyEvent) => void,
): BatchSink<Frame>[] {
  return [
    new AnomalyEventSink<Frame>(
      new MemoryMessages(),
      createAvroCodec<AnomalyEvent>('AnomalyEvent'),
      config.name,
      onEvent,
      config.output.events,
    ),
    new ScoreSink<Frame>(new MemoryPoints(), config.name),
  ];
}
