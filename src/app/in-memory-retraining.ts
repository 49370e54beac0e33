import { Subject, lastValueFrom, tap } from 'rxjs';
import { createAvroCodec } from '../codecs/avro-codec';
import type { PipelineConfig } from '../config/pipeline-schema';
import { MemoryDlq, MemoryTopic, type MemoryRecord } from '../connectors/kafka/memory-io';
import type { ModelRelease, SensorFrame } from '../core/records';
import { activate, openModel } from '../inference/active-model';
import { ModelSlot } from '../inference/model-slot';
import { detectFlow } from '../operators/detect-flow';
import { importRelease, versionNumber } from '../registry/model-release';
import { ModelStore } from '../registry/model-store';
import { Retraining } from '../retrain/retraining';
import { storeTargets } from '../retrain/training-run';
import { ModelAwareJudge } from '../thresholds/model-aware-judge';
import { createThresholdRegistry } from '../thresholds/threshold-registry';
import { architectureOf } from '../training/architecture';
import { memorySinks, type InMemoryHooks, type InMemoryRun } from './in-memory-detector';

/**
 * The detector with the retrain pipeline beside it, in memory: the retrainer (the
 * `Retraining` policy of `aestream retrain`, scoring through its own detectFlow) and the
 * detector read the same frames; a release the retrainer publishes goes through an
 * in-memory releases topic (Avro-encoded ModelRelease) and is imported and activated by the
 * detector as `followReleases` does. Frames go in steps of one micro-batch, and a training
 * run a step triggered finishes before the next step: the release lands right after the
 * frames that triggered it (training takes no stream time here, unlike in production).
 *
 * @example await detectAndRetrainInMemory(config, frames, { onScored })
 */
export async function detectAndRetrainInMemory(
  config: Readonly<PipelineConfig>,
  frames: Iterable<SensorFrame>,
  hooks: InMemoryHooks & { onRelease?: (version: string) => void } = {},
): Promise<InMemoryRun & { releases: string[] }> {
  const detector = new ModelSlot(await openModel(config.frame, config.model));
  const judge = ModelAwareJudge.of(createThresholdRegistry(config.threshold), config);
  const { metadata } = detector.current.stored;
  judge.addModel(detector.current.version, metadata.validation.loss, metadata.calibration);
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const dlq = new MemoryDlq();
  const inputs = [new Subject<MemoryRecord>(), new Subject<MemoryRecord>()] as const;
  const detecting = lastValueFrom(
    inputs[0].pipe(
      detectFlow({
        config,
        codec: codec as never,
        dlq,
        model: () => detector.current,
        judge: () => judge,
        sinks: memorySinks(config, hooks.onEvent),
      }),
      tap((batch) => hooks.onScored?.(batch)),
    ),
    { defaultValue: [] },
  );
  const retrainer = await retrainerBeside(config, inputs[1]);
  const releases = new MemoryReleases(config, detector, judge, hooks.onRelease);
  const topics = [0, 1].map(() => new MemoryTopic(config.input.kafka.topic, 3));
  const feed = async (chunk: SensorFrame[]) => {
    const records = inputs.map((input, k) => {
      const rs = chunk.map((f) =>
        topics[k]!.record(f.source, codec.encode(f), { ...codec.headers }, f.time),
      );
      for (const r of rs) input.next(r);
      return rs;
    });
    await untilAcked(records.flat(), config.batch.maxWaitMs);
    await retrainer.retraining.drained();
    await releases.apply(retrainer.topic);
  };
  try {
    let chunk: SensorFrame[] = [];
    for (const f of frames) {
      chunk.push(f);
      if (chunk.length < config.batch.maxSize) continue;
      await feed(chunk);
      chunk = [];
    }
    if (chunk.length > 0) await feed(chunk);
    for (const input of inputs) input.complete();
    await Promise.all([detecting, retrainer.done]);
  } finally {
    await retrainer.close();
    await detector.close();
  }
  const { version, engine, backend } = detector.current;
  return {
    model: { version, engine, backend },
    deadLetters: dlq.letters,
    releases: releases.applied,
  };
}

/**
 * Waits until every record is acked (each flow has written or dead-lettered it); with
 * stride > 1 the readings after a step's last window wait for the next step, so it also
 * stops once acks have not moved for a while.
 */
async function untilAcked(records: readonly MemoryRecord[], maxWaitMs: number): Promise<void> {
  let quiet = 0;
  let acked = -1;
  while (records.some((r) => r.acks === 0) && quiet < 20) {
    await new Promise((resolve) => setTimeout(resolve, maxWaitMs + 5));
    const now = records.filter((r) => r.acks > 0).length;
    quiet = now === acked ? quiet + 1 : 0;
    acked = now;
  }
}

/** The retrain pipeline over `input`, publishing its releases Avro-encoded into `topic`. */
async function retrainerBeside(config: Readonly<PipelineConfig>, input: Subject<MemoryRecord>) {
  const models = new ModelSlot(await openModel(config.frame, config.model));
  const codec = createAvroCodec<ModelRelease>('ModelRelease');
  const topic: Buffer[] = [];
  const retraining = new Retraining({
    config,
    models,
    run: storeTargets(config.model.store, config.name, async (release) => {
      topic.push(codec.encode(release));
    }),
  });
  const done = lastValueFrom(
    input.pipe(
      detectFlow({
        config,
        codec: createAvroCodec<SensorFrame>('SensorFrame') as never,
        dlq: { send: async () => undefined },
        model: () => models.current,
        judge: () => retraining.judge,
        sinks: [retraining.sink],
      }),
    ),
    { defaultValue: [] },
  );
  const close = async () => {
    await retraining.drained();
    await models.close();
  };
  return { retraining, topic, done, close };
}

/** The detector's side of the releases topic: imports and activates each newer release. */
class MemoryReleases {
  readonly applied: string[] = [];
  private read = 0;
  private readonly codec = createAvroCodec<ModelRelease>('ModelRelease');
  private readonly store: ModelStore;

  constructor(
    private readonly config: Readonly<PipelineConfig>,
    private readonly detector: ModelSlot,
    private readonly judge: ModelAwareJudge,
    private readonly onRelease?: (version: string) => void,
  ) {
    this.store = new ModelStore(config.model.store);
  }

  async apply(topic: readonly Buffer[]): Promise<void> {
    const expect = architectureOf(this.config.frame, this.config.model);
    for (; this.read < topic.length; this.read++) {
      const release = this.codec.decode(topic[this.read]!);
      const current = this.detector.current;
      if (versionNumber(release.version) <= versionNumber(current.version)) continue;
      const stored = await importRelease(release, this.store, expect);
      const next = await activate(stored, this.config.model, current.backend);
      const { validation, calibration } = next.stored.metadata;
      this.judge.addModel(next.version, validation.loss, calibration);
      this.detector.swap(next);
      this.applied.push(next.version);
      this.onRelease?.(next.version);
    }
  }
}
