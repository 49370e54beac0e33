import type { Kafka } from 'kafkajs';
import { createAvroCodec } from '../codecs/avro-codec';
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
import { SourceStates, type KeyStates, type SourceStateRecord } from '../operators/source-states';
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
    'Source state records written to (written), restored from (restored) or dead-lettered from (dead_lettered) the state topic.',
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
  judge: KeyStates,
  models: { readonly current: { readonly version: string } },
  dlq: Pick<DlqSink, 'send'>,
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
  const codec = createAvroCodec<SourceStateRecord>('SourceState');
  const frame = config.frame;
  const states = new SourceStates<Frame>(
    pipeline,
    frame.kind === 'sensor' ? frame : null,
    () => judge,
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
  const onAssign = async (assigned: number[], previous: number[]): Promise<void> => {
    if (!checked) checked = (await ensureStateTopic(admin, topic, input)) !== null;
    const started = process.hrtime.bigint();
    const before = new Set(previous);
    const fresh = assigned.filter((p) => !before.has(p));
    states.retain(assigned.filter((p) => before.has(p)));
    if (fresh.length === 0) return;
    states.dropDeparted({ partitions: fresh });
    const group = `${config.input.kafka.group}.state-restore-${process.pid}-${restores++}`;
    const records = await readPartitions(kafka, admin, topic, fresh, group);
    const counts = restoreRecords(records, states, codec, models.current.version, dlq, pipeline);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    restoreSeconds().observe({ pipeline }, seconds);
    logger.info(
      { pipeline, topic, partitions: fresh, records: records.length, ...counts, seconds },
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

/**
 * Restores each source from its latest record (the changelog may hold older ones still);
 * one that does not decode or fit is dead-lettered and its source starts from nothing.
 */
function restoreRecords(
  records: readonly KafkaRecord[],
  states: SourceStates<Frame>,
  codec: ReturnType<typeof createAvroCodec<SourceStateRecord>>,
  currentModel: string,
  dlq: Pick<DlqSink, 'send'>,
  pipeline: string,
): { sources: number; deadLettered: number } {
  const latest = new Map<string, KafkaRecord>();
  for (const r of records) if (r.value.length > 0) latest.set(r.key?.toString() ?? '', r);
  let sources = 0;
  let deadLettered = 0;
  for (const [key, record] of latest) {
    try {
      const state = decode(codec, record);
      if (state.source !== key) throw new AeError(ErrorCodes.STATE_DECODE, `keyed ${key}`);
      states.restore(state, currentModel);
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
  return { sources, deadLettered };
}

function decode(
  codec: ReturnType<typeof createAvroCodec<SourceStateRecord>>,
  record: KafkaRecord,
): SourceStateRecord {
  try {
    return codec.decode(record.value, record.headers);
  } catch (err) {
    throw new AeError(ErrorCodes.STATE_DECODE, `state record does not decode: ${messageOf(err)}`, {
      cause: err,
    });
  }
}
