import type { Admin, Kafka } from 'kafkajs';
import type { AvroCodec } from '../codecs/avro-codec';
import type { PipelineConfig } from '../config/pipeline-schema';
import { kafkaSinkFrom } from '../connectors/connector-factory';
import { ensureStateTopic, readPartitions } from '../connectors/kafka/state-topic';
import type { KafkaSourceOptions } from '../connectors/kafka/kafka-source';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import type { KafkaRecord } from '../core/kafka-record';
import type { CloseStack } from '../core/lifecycle';
import type { Frame } from '../core/records';
import { logger } from '../observability/logger';
import { counter, histogram } from '../observability/metrics';
import {
  SourceStates,
  type KeyedEventRules,
  type KeyStates,
  sourceStateCodec,
  type SourceStateRecord,
  type StaleState,
} from '../operators/source-states';
import type { DlqSink } from '../outputs/dlq-sink';
import { connectOn } from './wiring';

/** The per-source state of a detector and the source hooks that keep it (null: `state.enabled: false`). */
export interface DetectorState {
  states: SourceStates<Frame>;
  hooks: Required<Pick<KafkaSourceOptions, 'onAssign' | 'beforeCommit'>>;
}

const restoreSeconds = () =>
  histogram(
    'aestream_state_restore_seconds',
    'Time to read assigned partitions of the state topic and restore their sources.',
    ['pipeline'],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );

const stateRecords = () =>
  counter(
    'aestream_state_records_total',
    'Source state records written to (written), restored from (restored), dead-lettered from (dead_lettered) the state topic, or dropped as stale (stale: they cover input offsets the input topic does not have, or its frames contradict them).',
    ['pipeline', 'result'],
  );

/**
 * The state changelog of `detect`: the topic checked (or created) co-partitioned with the
 * input, a producer for it, and the hooks that write every source's new state before its
 * offsets are committed and read the state of newly assigned partitions before any of
 * their frames is scored. Undecodable state records are dead-lettered (AE_ERR_STATE_DECODE)
 * and their sources start from the model's calibration.
 */
export async function openDetectorState(
  config: Readonly<PipelineConfig>,
  kafka: Kafka,
  parts: { judge: KeyStates; eventRules?: KeyedEventRules; dlq: Pick<DlqSink, 'send'> },
  models: { readonly current: { readonly version: string } },
  stack: CloseStack,
): Promise<DetectorState | null> {
  if (!config.state.enabled) return null;
  const pipeline = config.name;
  const { topic } = config.state;
  const input = config.input.kafka.topic;
  const admin = kafka.admin();
  stack.defer('state admin', () => admin.disconnect());
  await admin.connect();
  let checked = (await ensureStateTopic(admin, topic, input)) !== null;
  const sink = kafkaSinkFrom(config.input.kafka.brokers, { topic, lingerMs: 0 }, kafka);
  await connectOn(stack, 'state producer', sink);
  const codec = sourceStateCodec();
  const { judge, eventRules, dlq } = parts;
  const frame = config.frame;
  const states = new SourceStates<Frame>(
    pipeline,
    frame.kind === 'sensor' ? frame : null,
    () => judge,
    { rules: config.rules, events: eventRules },
  );
  const written = stateRecords().labels({ pipeline, result: 'written' });
  const write = (records: SourceStateRecord[]) =>
    sink.sendMany(
      records.map((r) => ({
        key: r.source,
        value: codec.encode(r),
        headers: codec.headers,
        partition: r.partition,
      })),
    );
  let restores = 0;
  const warned = countStale(states, { pipeline, topic, input });
  const onAssign = async (assigned: number[], previous: number[]): Promise<void> => {
    if (!checked) checked = (await ensureStateTopic(admin, topic, input)) !== null;
    const started = process.hrtime.bigint();
    const before = new Set(previous);
    const fresh = assigned.filter((p) => !before.has(p));
    states.retain(assigned.filter((p) => before.has(p)));
    if (fresh.length === 0) return;
    states.dropDeparted({ partitions: fresh });
    for (const p of fresh) warned.delete(p);
    const group = `${config.input.kafka.group}.state-restore-${process.pid}-${restores++}`;
    const records = await readPartitions(kafka, admin, topic, fresh, group);
    const ends = await inputEnds(admin, input);
    const restore = { states, codec, currentModel: models.current.version, dlq, pipeline, ends };
    const counts = restoreRecords(records, restore);
    reportStale(counts.stale, { pipeline, topic, input });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    restoreSeconds().observe({ pipeline }, seconds);
    const { sources, deadLettered } = counts;
    const stale = counts.stale.length;
    logger.info(
      {
        pipeline,
        topic,
        partitions: fresh,
        records: records.length,
        sources,
        deadLettered,
        stale,
        seconds,
      },
      'state restored',
    );
  };
  const beforeCommit = async (): Promise<ReadonlyMap<number, number>> => {
    const { written: n, limits } = await states.flush(write);
    if (n > 0) written.inc(n);
    return limits;
  };
  return { states, hooks: { onAssign, beforeCommit } };
}

/** What a state record is checked against and restored into. */
interface RestoreParts {
  states: SourceStates<Frame>;
  codec: AvroCodec<SourceStateRecord>;
  currentModel: string;
  dlq: Pick<DlqSink, 'send'>;
  pipeline: string;
  /** Per input partition, its end offset (high watermark) as of the assignment. */
  ends: ReadonlyMap<number, number>;
}

/**
 * Counts the restored states the input contradicts while frames are read, warning once per
 * partition; returns the partitions warned about (cleared as they are assigned again).
 */
function countStale(
  states: SourceStates<Frame>,
  where: { pipeline: string; topic: string; input: string },
): Set<number> {
  const warned = new Set<number>();
  states.onStale = (stale) => {
    stateRecords().inc({ pipeline: where.pipeline, result: 'stale' });
    if (warned.has(stale.partition)) return;
    warned.add(stale.partition);
    logger.warn(
      { ...where, ...stale },
      `state record stale, contradicted by a frame: ${STALE_FIX(where.topic, where.input)} (more on this partition are only counted)`,
    );
  };
  return warned;
}

/** What a stale state means and what to do, for the log. */
const STALE_FIX = (topic: string, input: string) =>
  `the state is not of the frames now in ${input} (was ${input} deleted and created again, or does another input use ${topic}?); ` +
  `its source starts from the model calibration. After recreating an input, delete ${topic} too, or set state.topic`;

/** The end offset of each partition of the input, as of now. */
async function inputEnds(admin: Admin, input: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(input);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

/** One warning per input partition with stale records: which, the offsets, and the fix. */
function reportStale(
  stale: readonly StaleState[],
  where: { pipeline: string; topic: string; input: string },
): void {
  if (stale.length === 0) return;
  stateRecords().inc({ pipeline: where.pipeline, result: 'stale' }, stale.length);
  const byPartition = new Map<number, StaleState[]>();
  for (const s of stale) byPartition.set(s.partition, [...(byPartition.get(s.partition) ?? []), s]);
  for (const [partition, list] of byPartition) {
    const offsets = list.map((s) => s.offset);
    logger.warn(
      {
        ...where,
        partition,
        sources: list.length,
        offsets: [Math.min(...offsets), Math.max(...offsets)],
        reason: list[0]!.reason,
      },
      `state records stale, beyond the input partition's end: ${STALE_FIX(where.topic, where.input)}`,
    );
  }
}

/**
 * Restores each source from its latest record (the changelog may hold older ones still);
 * one that does not decode or fit is dead-lettered, and one that covers offsets beyond the
 * input partition's end is stale (the input is not the one it was written for): either way
 * its source starts from nothing.
 */
function restoreRecords(
  records: readonly KafkaRecord[],
  { states, codec, currentModel, dlq, pipeline, ends }: RestoreParts,
): { sources: number; deadLettered: number; stale: StaleState[] } {
  const latest = new Map<string, KafkaRecord>();
  for (const r of records) if (r.value.length > 0) latest.set(r.key?.toString() ?? '', r);
  let sources = 0;
  let deadLettered = 0;
  const stale: StaleState[] = [];
  for (const [key, record] of latest) {
    try {
      const state = decode(codec, record);
      if (state.source !== key) throw new AeError(ErrorCodes.STATE_DECODE, `keyed ${key}`);
      states.restore(state, currentModel); // a record that does not fit throws first
      const end = ends.get(state.partition);
      if (end !== undefined && state.offset >= end) {
        states.forget(key);
        stale.push({
          source: key,
          partition: state.partition,
          offset: state.offset,
          reason: `it covers offset ${state.offset}, and the input partition ends at ${end}`,
        });
        continue;
      }
      sources++;
    } catch (err) {
      const error =
        err instanceof AeError && err.code === ErrorCodes.STATE_DECODE
          ? err
          : new AeError(ErrorCodes.STATE_DECODE, `state record ${key}: ${messageOf(err)}`, {
              cause: err,
            });
      deadLettered++;
      states.forget(key);
      logger.warn(
        { pipeline, source: key, offset: record.offset, code: error.code, err: error.message },
        'state record dead-lettered: the source starts from the model calibration',
      );
      // Best effort: the dead letter is for people; the source goes on either way.
      void dlq.send(record, error).catch(() => undefined);
    }
  }
  const counts = stateRecords();
  counts.inc({ pipeline, result: 'restored' }, sources);
  counts.inc({ pipeline, result: 'dead_lettered' }, deadLettered);
  return { sources, deadLettered, stale };
}

function decode(codec: AvroCodec<SourceStateRecord>, record: KafkaRecord): SourceStateRecord {
  try {
    return codec.decode(record.value, record.headers);
  } catch (err) {
    throw new AeError(ErrorCodes.STATE_DECODE, `state record does not decode: ${messageOf(err)}`, {
      cause: err,
    });
  }
}
