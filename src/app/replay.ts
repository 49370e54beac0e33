import { randomBytes } from 'node:crypto';
import type { IPoint } from 'influx';
import type { Admin, Kafka } from 'kafkajs';
import { concatMap, from, lastValueFrom, tap } from 'rxjs';
import { z } from 'zod';
import { createAvroCodec, type RecordCodec } from '../codecs/avro-codec';
import { createCodec } from '../codecs/codec-factory';
import type { AnomalyEvent, Frame } from '../core/records';
import type { PipelineConfig } from '../config/pipeline-schema';
import { AeError, ConfigError, ErrorCodes, messageOf } from '../core/errors';
import { diffEvents, type EventDiff } from '../replay/event-diff';
import { AnomalyEventSink } from '../outputs/anomaly-event-sink';
import { DlqSink } from '../outputs/dlq-sink';
import { influxSinkFrom, kafkaSinkFrom } from '../connectors/connector-factory';
import { createKafka } from '../connectors/kafka/kafka-client';
import { KafkaRangeSource, type PartitionProgress } from '../connectors/kafka/kafka-range-source';
import {
  rangeSize,
  resolveRange,
  describeSpec,
  type PartitionRange,
  type RangeSpec,
} from '../connectors/kafka/offset-range';
import { ScoreSink, type PointWriter } from '../outputs/score-sink';
import { openModel, type ActiveModel } from '../inference/active-model';
import type { ModelConfig } from '../training/model-config';
import { logger } from '../observability/logger';
import type { BatchSink } from '../core/model-input';
import {
  dspotThresholdSchema,
  ksigmaThresholdSchema,
  quantileThresholdSchema,
  spotThresholdSchema,
  staticThresholdSchema,
  thresholdSchema,
  type ThresholdConfig,
} from '../thresholds/threshold-config';
import { decodeRegistryState, encodeRegistryState } from '../thresholds/threshold-state-codec';
import { createThresholdRegistry, type ThresholdRegistry } from '../thresholds/threshold-registry';
import { detectFlow } from '../operators/detect-flow';

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
 * The pipeline's `threshold:` section with a replay's overrides on top. Keys of the same
 * kind are merged; an override naming another `kind` replaces the spec (the old kind's
 * parameters do not apply to it) and keeps `perKey`, `warmup` and `overrides` unless given.
 * The result is validated like the pipeline file (AE_ERR_CONFIG_INVALID naming each field).
 *
 * @example thresholdWithOverride(config.threshold, { risk: 1e-3 }) // spot with another risk
 */
export function thresholdWithOverride(
  base: Readonly<ThresholdConfig>,
  override: Record<string, unknown>,
  file = '--threshold',
): ThresholdConfig {
  const sameKind = override.kind === undefined || override.kind === base.kind;
  // Another kind: drop the old kind's own parameters, keep the registry options
  // (perKey, warmup, overrides, ...), whatever they are.
  const ownKeys = new Set(Object.keys(specSchemas[base.kind].shape));
  const registryOptions = Object.fromEntries(
    Object.entries(base).filter(([key]) => !ownKeys.has(key)),
  );
  const merged = sameKind ? { ...base, ...override } : { ...registryOptions, ...override };
  const parsed = thresholdSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      ErrorCodes.CONFIG_INVALID,
      file,
      parsed.error.issues.map((i) => ({
        path: ['threshold', ...i.path.map(String)].join('.'),
        message: i.code === 'unrecognized_keys' ? `unknown key ${i.keys.join(', ')}` : i.message,
      })),
    );
  }
  return parsed.data;
}

const specSchemas = {
  static: staticThresholdSchema,
  ksigma: ksigmaThresholdSchema,
  quantile: quantileThresholdSchema,
  spot: spotThresholdSchema,
  dspot: dspotThresholdSchema,
} as const;

const overrideShape = z.record(z.string(), z.unknown());

/** Checks that a parsed `--threshold` document is a mapping. */
export function asThresholdOverride(value: unknown, file: string): Record<string, unknown> {
  const parsed = overrideShape.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(ErrorCodes.CONFIG_INVALID, file, [
      { path: 'threshold', message: 'expected a mapping of threshold keys, e.g. { risk: 1.0e-3 }' },
    ]);
  }
  return parsed.data;
}

/** A run id for logs, tags and group names: time and a few random characters. */
export function newRunId(now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `r${t}-${randomBytes(2).toString('hex')}`;
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
  const pipeline = config.name;
  const runId = options.runId ?? newRunId();
  const topic = config.input.kafka.topic;
  const outTopic = options.outTopic ?? `${config.output.kafka.topic}.replay`;
  const dlqTopic = `${config.output.dlq.topic}.replay`;
  if (outTopic === config.output.kafka.topic || outTopic === topic) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `--out-topic ${outTopic} is the pipeline's own ${outTopic === topic ? 'input' : 'anomaly'} topic; a replay writes apart from production`,
    );
  }
  let thresholdConfig: ThresholdConfig = config.threshold;
  if (options.threshold)
    thresholdConfig = thresholdWithOverride(config.threshold, options.threshold);
  let registry: ThresholdRegistry;
  let thresholdStart: string;
  if (options.thresholdState) {
    registry = decodeRegistryState(options.thresholdState.text);
    thresholdStart = `restored from ${options.thresholdState.file}`;
  } else {
    registry = createThresholdRegistry(thresholdConfig);
    const calibration =
      'calibration' in thresholdConfig ? `${thresholdConfig.calibration} ` : 'no ';
    thresholdStart =
      `fresh, warmed by the range's leading frames (${thresholdConfig.kind}: ${calibration}scores ` +
      `${thresholdConfig.perKey ? 'per source' : 'shared'} before verdicts)`;
  }

  const kafka = createKafka({ ...config.input.kafka, clientId: 'aestream-replay' });
  const admin = kafka.admin();
  await admin.connect();
  const closers: Array<() => Promise<unknown>> = [() => admin.disconnect()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const topics = new Set(await admin.listTopics());
    if (!topics.has(topic)) {
      throw new AeError(ErrorCodes.REPLAY_EMPTY_RANGE, `input topic ${topic} does not exist`);
    }
    const ranges = await resolveRange(admin, topic, options.from, options.to);
    const total = rangeSize(ranges);
    if (total === 0) {
      const ends = (await admin.fetchTopicOffsets(topic))
        .sort((a, b) => a.partition - b.partition)
        .map((p) => `${p.partition}:[${p.low},${p.high})`)
        .join(' ');
      throw new AeError(
        ErrorCodes.REPLAY_EMPTY_RANGE,
        `no records in ${topic} from ${describeSpec(options.from)} to ${describeSpec(options.to)} ` +
          `(partition offsets ${ends || 'none'})`,
      );
    }

    // Warm-up: each partition is read from the earlier of its warm-up start and its range
    // start; only records at or after the range start produce output.
    const startOf = new Map(ranges.map((r) => [r.partition, r.start]));
    let readRanges: PartitionRange[] = ranges;
    if (options.warmFrom) {
      const warm = new Map(
        (await resolveRange(admin, topic, options.warmFrom, { kind: 'latest' })).map((r) => [
          r.partition,
          r.start,
        ]),
      );
      readRanges = ranges.map((r) => ({
        ...r,
        start: Math.min(r.start, warm.get(r.partition) ?? r.start),
      }));
    }
    const warmup = rangeSize(readRanges) - total;
    const inRange = (record: { partition: number; offset: string }): boolean =>
      Number(record.offset) >= (startOf.get(record.partition) ?? 0);
    if (warmup > 0) {
      thresholdStart =
        `${options.thresholdState ? `${thresholdStart}, then ` : ''}warmed by ${warmup} frames ` +
        `from ${describeSpec(options.warmFrom!)} up to the range (nothing written for them)`;
    }

    const model = await openReplayModel(config, options.modelVersion);
    closers.push(() => model.dispose());

    const partitions = (await admin.fetchTopicOffsets(topic)).length;
    await admin.createTopics({
      topics: [outTopic, dlqTopic]
        .filter((t) => !topics.has(t))
        .map((t) => ({ topic: t, numPartitions: partitions })),
      waitForLeaders: true,
    });

    const events = kafkaSinkFrom(
      config.input.kafka.brokers,
      { ...config.output.kafka, topic: outTopic },
      kafka,
    );
    const dlqOut = kafkaSinkFrom(
      config.input.kafka.brokers,
      { ...config.output.dlq, topic: dlqTopic },
      kafka,
    );
    closers.push(
      () => events.disconnect(),
      () => dlqOut.disconnect(),
    );
    await Promise.all([events.connect(), dlqOut.connect()]);
    const influx = config.output.influx ? influxSinkFrom(config.output.influx) : null;
    if (influx) closers.push(() => influx.close());
    const codec = createCodec<Frame>({
      schema: config.input.schema,
      topic,
      ...(config.input.registry ? { registry: config.input.registry } : {}),
    });
    await codec.ready();

    const replayEvents: AnomalyEvent[] = [];
    const sinks: BatchSink<Frame>[] = [
      new AnomalyEventSink<Frame>(
        events,
        replayEventCodec(createAvroCodec<AnomalyEvent>('AnomalyEvent'), runId),
        pipeline,
        (event) => {
          if (options.diff) replayEvents.push(event);
          options.onEvent?.(event);
        },
      ),
    ];
    if (influx) sinks.push(new ScoreSink<Frame>(taggedWriter(influx, { run: runId }), pipeline));
    const dlq = new DlqSink(dlqOut);
    const inRangeOnly = (sink: BatchSink<Frame>): BatchSink<Frame> => ({
      name: sink.name,
      async write(batch) {
        const kept = batch.filter((j) => inRange(j.last.record));
        if (kept.length > 0) await sink.write(kept);
      },
    });

    options.onStart?.({
      runId,
      topic,
      ranges: readRanges,
      total: total + warmup,
      model: model.version,
      outTopic,
    });
    logger.info(
      { pipeline, run: runId, topic, total, model: model.version, outTopic },
      'replay started',
    );
    const source = new KafkaRangeSource({
      kafka,
      topic,
      ranges: readRanges,
      groupId: `aestream-replay-${pipeline}-${runId}`,
      rate: options.rate ?? null,
    });
    const started = Date.now();
    let scored = 0;
    let anomalies = 0;
    const progress = options.onProgress
      ? setInterval(() => options.onProgress?.(source.progress()), options.progressMs ?? 250)
      : null;
    try {
      await lastValueFrom(
        source.records().pipe(
          detectFlow({
            config,
            codec,
            dlq: {
              send: (record, error) =>
                inRange(record) ? dlq.send(record, error) : Promise.resolve(),
            },
            model: () => model,
            judge: () => registry,
            sinks: warmup > 0 ? sinks.map(inRangeOnly) : sinks,
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
    }
    options.onProgress?.(source.progress());
    const durationMs = Date.now() - started;
    const frames = source.progress().reduce((sum, p) => sum + p.read, 0) - warmup;
    // The throwaway group never committed; delete what the broker keeps of it.
    await source.disconnected();
    await admin
      .deleteGroups([`aestream-replay-${pipeline}-${runId}`])
      .catch((err: unknown) => logger.debug({ err: messageOf(err) }, 'replay group not deleted'));

    const summary: ReplaySummary = {
      runId,
      pipeline,
      topic,
      from: describeSpec(options.from),
      to: describeSpec(options.to),
      ranges,
      frames,
      warmup,
      scored,
      anomalies,
      dlq: dlq.counts(),
      durationMs,
      framesPerSecond: durationMs > 0 ? ((frames + warmup) * 1000) / durationMs : frames,
      model: model.version,
      engine: model.engine,
      thresholdStart,
      outTopic,
      dlqTopic,
      influx: config.output.influx?.database ?? null,
    };
    if (options.keepThresholdState) summary.finalThresholdState = encodeRegistryState(registry);
    if (options.diff) {
      const production = await productionEvents(
        kafka,
        admin,
        config.output.kafka.topic,
        topic,
        ranges,
        `aestream-replay-${pipeline}-${runId}-diff`,
      );
      summary.diff = diffEvents(production.events, replayEvents);
      summary.unreadableProductionEvents = production.unreadable;
    }
    logger.info({ pipeline, run: runId, frames, anomalies, durationMs }, 'replay done');
    return summary;
  } finally {
    await closeAll();
  }
}

/**
 * The model of a replay. `engine: auto` picks whichever engine is faster at start-up, and
 * tfjs and onnx agree only to ~1e-7, which adaptive thresholds can carry into other
 * verdicts: a replay pins onnx instead (tfjs where onnx cannot load), so two replays
 * always run the same engine.
 */
async function openReplayModel(
  config: Readonly<PipelineConfig>,
  version: number | undefined,
): Promise<ActiveModel> {
  const open = (engine: ModelConfig['engine']) =>
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

/**
 * The AnomalyEvent codec of a replay: detection time = the frame's event time (a replay
 * scores "as of" the frame, and two replays then write the same bytes), and the run id in
 * the header `ae.run`.
 */
function replayEventCodec(
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
function taggedWriter(writer: PointWriter, tags: Readonly<Record<string, string>>): PointWriter {
  return {
    writePoints: (points: readonly IPoint[]) =>
      writer.writePoints(points.map((p) => ({ ...p, tags: { ...p.tags, ...tags } }))),
  };
}

/**
 * Production's events for the replayed input records: the whole anomaly topic as it is
 * now, read with a throwaway group, keeping the events whose input coordinates lie in
 * `ranges` of `inputTopic`. (Event timestamps are frame times, not the input's broker
 * times, so the topic cannot be narrowed by time safely.)
 */
async function productionEvents(
  kafka: Kafka,
  admin: Admin,
  anomalyTopic: string,
  inputTopic: string,
  ranges: readonly PartitionRange[],
  groupId: string,
): Promise<{ events: AnomalyEvent[]; unreadable: number }> {
  if (!(await admin.listTopics()).includes(anomalyTopic)) return { events: [], unreadable: 0 };
  const all = await resolveRange(admin, anomalyTopic, { kind: 'earliest' }, { kind: 'latest' });
  const inRange = new Map(ranges.map((r) => [r.partition, r]));
  const codec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
  const events: AnomalyEvent[] = [];
  let unreadable = 0;
  if (rangeSize(all) > 0) {
    const source = new KafkaRangeSource({ kafka, topic: anomalyTopic, ranges: all, groupId });
    await lastValueFrom(
      source.records().pipe(
        concatMap((record) =>
          from(
            (async () => {
              try {
                const e = await codec.decode(record.value, record.headers);
                const r = inRange.get(e.input.partition);
                if (
                  e.input.topic === inputTopic &&
                  r !== undefined &&
                  e.input.offset >= r.start &&
                  e.input.offset < r.end
                )
                  events.push(e);
              } catch {
                unreadable++;
              }
              record.ack();
            })(),
          ),
        ),
      ),
      { defaultValue: undefined },
    );
    await source.disconnected();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return { events, unreadable };
}
