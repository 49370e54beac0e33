import type { Admin, Kafka } from 'kafkajs';
import { fromEvent, lastValueFrom, merge, take, takeUntil, tap } from 'rxjs';
import { createAvroCodec } from '../codecs/avro-codec';
import type { AnomalyEvent, Frame } from '../core/records';
import type { CloseStack } from '../core/lifecycle';
import type { PipelineConfig } from '../config/pipeline-schema';
import { ModelAwareJudge } from '../thresholds/model-aware-judge';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import { diffEvents, type EventDiff } from '../replay/event-diff';
import { productionEvents } from '../replay/production-events';
import { newRunId, planReplay, type ReplayPlan } from '../replay/replay-plan';
import {
  filteredSink,
  openReplayModel,
  replayEventCodec,
  taggedWriter,
} from '../replay/replay-outputs';
import { replayThresholds } from '../replay/threshold-override';
import { AnomalyEventSink } from '../outputs/anomaly-event-sink';
import { DlqSink } from '../outputs/dlq-sink';
import { createKafka } from '../connectors/kafka/kafka-client';
import { KafkaRangeSource, type PartitionProgress } from '../connectors/kafka/kafka-range-source';
import {
  describeSpec,
  type PartitionRange,
  type RangeSpec,
} from '../connectors/kafka/offset-range';
import { ScoreSink } from '../outputs/score-sink';
import type { ActiveModel } from '../inference/active-model';
import { logger } from '../observability/logger';
import type { BatchSink } from '../core/model-input';
import { encodeRegistryState } from '../thresholds/threshold-state-codec';
import type { ScoreJudge, ThresholdRegistry } from '../thresholds/threshold-registry';
import { detectFlow } from '../operators/detect-flow';
import {
  SourceStates,
  type KeyedEventRules,
  type KeyStates,
  type SourceStateRecord,
} from '../operators/source-states';
import { stateBefore } from '../replay/state-warm-up';
import { closeStackOf, inputCodec, openOutputClients } from './wiring';

export interface ReplayOptions {
  from: RangeSpec;
  to: RangeSpec;
  /** Model version to score with (default: the newest in the store). */
  modelVersion?: number;
  /** Overrides of the pipeline's `threshold:` section (see {@link thresholdWithOverride}). */
  threshold?: Record<string, unknown>;
  /** Threshold state to start from (`encodeRegistryState` JSON), instead of warming up. */
  thresholdState?: { text: string; file: string };
  /**
   * Start reading here, before `from`: these frames fill the sensor windows and the
   * thresholds as production's did, but nothing is written for them. With the production
   * group's start (usually `earliest`), a replay of any range judges like production did.
   */
  warmFrom?: RangeSpec;
  /**
   * Start from the sources' state in the pipeline's state changelog as it was before the
   * range (where the compacted topic still holds it), then warm from just after it: windows,
   * thresholds, score and event rules enter the range as production had them.
   */
  warmFromState?: boolean;
  /** Hand back the threshold state at the end (`encodeRegistryState` JSON), to restore later. */
  keepThresholdState?: boolean;
  /** Events topic; default `<output.kafka.topic>.replay`. */
  outTopic?: string;
  /** Records per second at most; null or absent for as fast as the sinks take them. */
  rate?: number | null;
  /** Tags the InfluxDB points (`run=<id>`) and the event messages (header `ae.run`). */
  runId?: string;
  /** Also read production's events of the same input records and compare. */
  diff?: boolean;
  /** Called once the range is known, before the first record is read. */
  onStart?: (info: ReplayStart) => void;
  /** Called every `progressMs` while the replay runs, and once at the end. */
  onProgress?: (progress: readonly PartitionProgress[]) => void;
  progressMs?: number;
  /** Called for each replay event as it is handed to the replay topic. */
  onEvent?: (event: AnomalyEvent) => void;
}

export interface ReplayStart {
  runId: string;
  topic: string;
  ranges: readonly PartitionRange[];
  total: number;
  model: string;
  outTopic: string;
}

export interface ReplaySummary {
  runId: string;
  pipeline: string;
  topic: string;
  from: string;
  to: string;
  ranges: readonly PartitionRange[];
  /** Input records of the range read. */
  frames: number;
  /** Records read before the range to warm windows and thresholds (`warmFrom`). */
  warmup: number;
  /** Model inputs judged (sensor windows or images). */
  scored: number;
  anomalies: number;
  /** Dead letters by reason code. */
  dlq: Record<string, number>;
  durationMs: number;
  framesPerSecond: number;
  model: string;
  engine: string;
  /** Where the threshold state at the start of the range came from. */
  thresholdStart: string;
  outTopic: string;
  dlqTopic: string;
  /** InfluxDB database the run's points went to, null when the pipeline has no influx output. */
  influx: string | null;
  /** Present with `diff: true`. */
  diff?: EventDiff;
  /** Production events of the range that could not be decoded (with `diff: true`). */
  unreadableProductionEvents?: number;
  /** The threshold state at the end (with `keepThresholdState: true`). */
  finalThresholdState?: string;
}

/**
 * `aestream replay`: re-scores a bounded range of the pipeline's input topic with the
 * detector's own operators (`detectFlow`), with any stored model version and threshold
 * settings, to separate outputs: events to `<anomalies topic>.replay` (header
 * `ae.run`), score points tagged `run=<id>`, dead letters to `<dlq topic>.replay`.
 *
 * It reads with a throwaway consumer group that never commits, so the production group's
 * offsets do not move, and stops by itself at the partition ends captured at the start.
 * The threshold state starts fresh and is warmed by the range's leading frames (or restored
 * from `thresholdState`). Replays are deterministic: records are merged across partitions
 * in one fixed order, event ids are the input coordinates, and an event's detection time
 * is its frame's event time, so two replays of a range with the same model and settings
 * write byte-identical events.
 *
 * @example const summary = await replay(loadPipeline('pipelines/sensors.yaml'), { from: parseRangeSpec('earliest'), to: parseRangeSpec('now') });
 */
export async function replay(
  config: Readonly<PipelineConfig>,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const topic = config.input.kafka.topic;
  const outTopic = options.outTopic ?? `${config.output.kafka.topic}.replay`;
  if (outTopic === config.output.kafka.topic || outTopic === topic) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `--out-topic ${outTopic} is the pipeline's own ${outTopic === topic ? 'input' : 'anomaly'} topic; a replay writes apart from production`,
    );
  }
  const thresholds = replayThresholds(config.threshold, options);
  const kafka = createKafka({ ...config.input.kafka, clientId: 'aestream-replay' });
  const admin = kafka.admin();
  await admin.connect();
  const stack = closeStackOf(config.name);
  stack.defer('kafka admin', () => admin.disconnect());
  const run: ReplayRun = {
    config,
    options,
    kafka,
    admin,
    stack,
    runId: options.runId ?? newRunId(),
    outTopic,
    dlqTopic: `${config.output.dlq.topic}.replay`,
    registry: thresholds.registry,
    thresholdStart: thresholds.start,
  };
  try {
    return await replayRange(run);
  } finally {
    await stack.close();
  }
}

/** What the steps of one replay share. */
interface ReplayRun {
  config: Readonly<PipelineConfig>;
  options: ReplayOptions;
  kafka: Kafka;
  admin: Admin;
  stack: CloseStack;
  runId: string;
  outTopic: string;
  dlqTopic: string;
  registry: ThresholdRegistry;
  thresholdStart: string;
}

async function replayRange(run: ReplayRun): Promise<ReplaySummary> {
  const { config, options, runId, outTopic } = run;
  const pipeline = config.name;
  const topic = config.input.kafka.topic;
  const warm = options.warmFromState ? await warmFromState(run) : null;
  const plan = await planReplay(
    run.admin,
    topic,
    warm ? { ...options, warmFrom: warm.spec } : options,
  );
  let thresholdStart = startOfRange(run, plan.warmup, warm);
  const model = await openReplayModel(config, options.modelVersion);
  run.stack.defer('model', () => model.dispose());
  const calibration = modelCalibration(config, model.stored.metadata.calibration);
  if (!options.thresholdState && calibration) {
    run.registry.useReference(calibration.scores);
    thresholdStart = thresholdStart.replace(
      /^fresh, warmed by the range's leading frames \([^)]*\)/,
      `calibrated from ${model.version}'s scores on ${calibration.count} held-back windows`,
    );
  }
  const outputs = await openReplayOutputs(run, plan);
  const total = plan.total + plan.warmup;
  options.onStart?.({
    runId,
    topic,
    ranges: plan.readRanges,
    total,
    model: model.version,
    outTopic,
  });
  logger.info(
    { pipeline, run: runId, topic, total: plan.total, model: model.version, outTopic },
    'replay started',
  );
  const counts = await scoreRange(run, plan, model, outputs, warm?.states ?? null);
  const { frames, durationMs } = counts;
  const summary: ReplaySummary = {
    runId,
    pipeline,
    topic,
    from: describeSpec(options.from),
    to: describeSpec(options.to),
    ranges: plan.ranges,
    frames,
    warmup: plan.warmup,
    scored: counts.scored,
    anomalies: counts.anomalies,
    dlq: outputs.dlq.counts(),
    durationMs,
    framesPerSecond: durationMs > 0 ? ((frames + plan.warmup) * 1000) / durationMs : frames,
    model: model.version,
    engine: model.engine,
    thresholdStart,
    outTopic,
    dlqTopic: run.dlqTopic,
    influx: config.output.influx?.database ?? null,
  };
  if (options.keepThresholdState) summary.finalThresholdState = encodeRegistryState(run.registry);
  if (options.diff) {
    const production = await productionEvents(
      run.kafka,
      run.admin,
      config.output.kafka.topic,
      topic,
      plan.ranges,
      `${groupOf(run)}-diff`,
    );
    summary.diff = diffEvents(production.events, outputs.events);
    summary.unreadableProductionEvents = production.unreadable;
  }
  logger.info(
    { pipeline, run: runId, frames, anomalies: counts.anomalies, durationMs },
    'replay done',
  );
  return summary;
}

/** Where the state at the range's start comes from, for the summary. */
function startOfRange(
  run: ReplayRun,
  warmup: number,
  warm: { states: readonly unknown[]; read: number } | null,
): string {
  const { config, options } = run;
  if (warm) {
    return (
      `${warm.states.length} sources' state from ${config.state.topic} before the range ` +
      `(${warm.read} records read), then warmed by ${warmup} frames up to the range (nothing written for them)`
    );
  }
  if (warmup === 0) return run.thresholdStart;
  return (
    `${options.thresholdState ? `${run.thresholdStart}, then ` : ''}warmed by ${warmup} frames ` +
    `from ${describeSpec(options.warmFrom!)} up to the range (nothing written for them)`
  );
}

/** The throwaway consumer group of a replay. */
const groupOf = (run: ReplayRun) => `aestream-replay-${run.config.name}-${run.runId}`;

/**
 * The replay's own outputs, connected: events to the replay topic (kept for a diff),
 * score points tagged with the run, dead letters to the replay's DLQ topic. Missing topics
 * are created with the input's partition count.
 */
async function openReplayOutputs(run: ReplayRun, plan: ReplayPlan) {
  const { config, options, kafka, admin, stack } = run;
  const existing = new Set(await admin.listTopics());
  const partitions = (await admin.fetchTopicOffsets(config.input.kafka.topic)).length;
  await admin.createTopics({
    topics: [run.outTopic, run.dlqTopic]
      .filter((t) => !existing.has(t))
      .map((t) => ({ topic: t, numPartitions: partitions })),
    waitForLeaders: true,
  });
  const topics = { events: run.outTopic, dlq: run.dlqTopic };
  const { events, dlq: dlqOut, influx } = await openOutputClients(config, kafka, stack, topics);
  const codec = await inputCodec(config);
  const replayed: AnomalyEvent[] = [];
  const eventCodec = replayEventCodec(createAvroCodec<AnomalyEvent>('AnomalyEvent'), run.runId);
  const anomalies = new AnomalyEventSink<Frame>(
    events,
    eventCodec,
    config.name,
    (event) => {
      if (options.diff) replayed.push(event);
      options.onEvent?.(event);
    },
    config.output.events,
  );
  const sinks: BatchSink<Frame>[] = [anomalies];
  if (influx)
    sinks.push(new ScoreSink<Frame>(taggedWriter(influx, { run: run.runId }), config.name));
  return {
    codec,
    dlq: new DlqSink(dlqOut),
    sinks: plan.warmup > 0 ? sinks.map((s) => filteredSink(s, plan.inRange)) : sinks,
    events: replayed,
    eventRules: anomalies.rules,
  };
}

/** Reads the planned ranges through detectFlow to their ends; counts what was in the range. */
async function scoreRange(
  run: ReplayRun,
  plan: ReplayPlan,
  model: ActiveModel,
  outputs: Awaited<ReturnType<typeof openReplayOutputs>>,
  restored: readonly SourceStateRecord[] | null,
) {
  const { config, options } = run;
  const state = restored ? restoredStates(run, model.version, outputs.eventRules, restored) : null;
  const judge = replayJudge(run.registry, model);
  const source = new KafkaRangeSource({
    kafka: run.kafka,
    topic: config.input.kafka.topic,
    ranges: plan.readRanges,
    groupId: groupOf(run),
    rate: options.rate ?? null,
  });
  const started = Date.now();
  let scored = 0;
  let anomalies = 0;
  const progress = options.onProgress
    ? setInterval(() => options.onProgress?.(source.progress()), options.progressMs ?? 250)
    : null;
  const { dlq, inRange } = { dlq: outputs.dlq, inRange: plan.inRange };
  // Ctrl-C or SIGTERM end the read; what was read is scored and written, the group deleted.
  let interruptedBy: string | undefined;
  const interrupt = merge(
    fromEvent(process, 'SIGINT', () => 'SIGINT'),
    fromEvent(process, 'SIGTERM', () => 'SIGTERM'),
  ).pipe(
    take(1),
    tap((signal) => (interruptedBy = signal)),
  );
  try {
    await lastValueFrom(
      source.records().pipe(
        takeUntil(interrupt),
        detectFlow({
          config,
          codec: outputs.codec,
          dlq: {
            send: (record, error) =>
              inRange(record) ? dlq.send(record, error) : Promise.resolve(),
          },
          model: () => model,
          judge: () => judge,
          sinks: outputs.sinks,
          ...(state ? { state } : {}),
        }),
        tap((batch) => {
          for (const j of batch) {
            if (!inRange(j.last.record)) continue;
            scored++;
            if (j.verdict === 'anomaly') anomalies++;
          }
        }),
      ),
      { defaultValue: [] },
    );
  } finally {
    if (progress) clearInterval(progress);
    // The throwaway group never committed; delete what the broker keeps of it, on every path.
    await source.disconnected();
    await run.admin
      .deleteGroups([groupOf(run)])
      .catch((err: unknown) => logger.debug({ err: messageOf(err) }, 'replay group not deleted'));
  }
  options.onProgress?.(source.progress());
  const durationMs = Date.now() - started;
  const frames = source.progress().reduce((sum, p) => sum + p.read, 0) - plan.warmup;
  if (interruptedBy) {
    throw new AeError(
      ErrorCodes.INTERRUPTED,
      `replay stopped by ${interruptedBy} after ${scored} scored frames; its consumer group ${groupOf(run)} was deleted`,
    );
  }
  return { scored, anomalies, frames, durationMs };
}

/**
 * The replay's thresholds, with the model's held-back scores for the score rules: a source's
 * likelihood history starts from them as in production (the thresholds' own start is
 * `modelCalibration`'s).
 */
function replayJudge(registry: ThresholdRegistry, model: ActiveModel): ScoreJudge {
  const { calibration } = model.stored.metadata;
  const of = <T>(version: string, stored: T | undefined) =>
    version === model.version ? stored : undefined;
  return {
    apply: (key, score) => registry.apply(key, score),
    referenceScores: (version) => of(version, calibration?.scores),
    referenceNewest: (version) => of(version, calibration?.newest),
    referenceSpread: (version) => of(version, calibration?.spread),
  };
}

/** The model's held-back scores when the pipeline's thresholds start from them (not under a likelihood rule). */
function modelCalibration<T>(
  config: Readonly<PipelineConfig>,
  calibration: T | undefined,
): T | undefined {
  return config.threshold.calibrate === 'model' && ModelAwareJudge.scaleOf(config) !== 'scale-free'
    ? calibration
    : undefined;
}

/**
 * `--warm-from state`: the range's partitions, then each source's latest changelog record
 * before the range, and where reading must start for them.
 */
async function warmFromState(run: ReplayRun) {
  const { config, options } = run;
  const { ranges } = await planReplay(run.admin, config.input.kafka.topic, {
    from: options.from,
    to: options.to,
  });
  const group = `${groupOf(run)}-state`;
  const warm = await stateBefore(
    run.kafka,
    run.admin,
    config.state.topic,
    config.name,
    ranges,
    group,
  );
  logger.info(
    {
      pipeline: config.name,
      topic: config.state.topic,
      sources: warm.states.length,
      read: warm.read,
      unusable: warm.unusable,
    },
    'replay starts from the state topic',
  );
  const spec: RangeSpec = { kind: 'offsets', byPartition: warm.starts };
  return { ...warm, spec };
}

/**
 * The per-source state a replay starts from. A state of another model version than the
 * replay's is not used (its threshold is on that model's error scale): the source warms up
 * from frames instead.
 */
function restoredStates(
  run: ReplayRun,
  modelVersion: string,
  eventRules: KeyedEventRules,
  records: readonly SourceStateRecord[],
): SourceStates<Frame> {
  const { config, registry } = run;
  const judge: KeyStates = {
    snapshotKey: (key) => registry.snapshotKey(key),
    restoreKey: (key, state, from, current) => {
      if (from !== current)
        throw new AeError(
          ErrorCodes.STATE_DECODE,
          `threshold of model ${from}, the replay scores with ${current}`,
        );
      registry.restoreKey(key, state);
    },
    forgetKey: (key) => registry.forgetKey(key),
  };
  const frame = config.frame;
  const states = new SourceStates<Frame>(
    config.name,
    frame.kind === 'sensor' ? frame : null,
    () => judge,
    {
      rules: config.rules,
      events: eventRules,
    },
  );
  for (const r of records) {
    try {
      states.restore(r, modelVersion);
    } catch (err) {
      states.forget(r.source);
      logger.info(
        { pipeline: config.name, source: r.source, err: messageOf(err) },
        'replay: state not used, the source warms up from frames',
      );
    }
  }
  return states;
}
