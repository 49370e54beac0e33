import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import type { Admin, Kafka } from 'kafkajs';
import { catchError, EMPTY, lastValueFrom, take, tap, timeout, TimeoutError } from 'rxjs';
import type { RecordCodec } from '../codecs/avro-codec';
import { createCodec } from '../codecs/codec-factory';
import { loadSchema, shippedSchemaFiles } from '../codecs/schema-loader';
import { createWriterSchemaCodec } from '../codecs/writer-schema-codec';
import { loadPipeline } from '../config/load-pipeline';
import { brokersAndTopic } from './options';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import { createKafka } from '../connectors/kafka/kafka-client';
import { KafkaSource } from '../connectors/kafka/kafka-source';
import type { RangeSpec } from '../connectors/kafka/offset-range';
import { decodeRecords } from '../operators/decode-records';
import { logger } from '../observability/logger';
import { integer, parsePosition } from './options';

interface ConsumeOpts {
  pipeline?: string;
  brokers?: string;
  topic?: string;
  schema?: string;
  registry?: string;
  writer?: string[];
  group?: string;
  from?: string;
  fromBeginning?: boolean;
  limit?: number;
  idleMs?: number;
  full?: boolean;
}

/** JSON of a decoded value: byte fields shortened unless --full. */
function show(value: unknown, full: boolean): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (
      v &&
      typeof v === 'object' &&
      (v as { type?: string }).type === 'Buffer' &&
      Array.isArray((v as { data?: unknown }).data)
    ) {
      const data = (v as { data: number[] }).data;
      return full ? Buffer.from(data).toString('base64') : `<${data.length} bytes>`;
    }
    return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
  });
}

/**
 * How values are read: with --registry, the Confluent wire format; with --schema, that
 * schema (the project's schemas and --writer files as writers it resolves); otherwise
 * each value with the project schema its `ae.schema` header names.
 */
function codecFor(opts: ConsumeOpts, topic: string, pipelineSchema?: string): RecordCodec<unknown> {
  const registryUrl = opts.registry;
  const reader = opts.schema ?? pipelineSchema ?? 'SensorFrame';
  if (registryUrl) return createCodec({ schema: reader, topic, registry: { url: registryUrl } });
  const writers = opts.writer ?? [];
  if (opts.schema) {
    return createCodec({ schema: reader, topic, writers: [...shippedSchemaFiles(), ...writers] });
  }
  const known = [...shippedSchemaFiles(), ...writers].map((file) => loadSchema(file));
  return createWriterSchemaCodec(known, loadSchema(reader));
}

/**
 * Commits the offsets a position names for a group that is not running, so the consumer
 * starts there. Partitions without a record at or after a time start at their end; offsets
 * are clamped to what a partition holds.
 */
async function seekGroup(admin: Admin, topic: string, group: string, at: RangeSpec): Promise<void> {
  const ends = await admin.fetchTopicOffsets(topic);
  const byTime =
    at.kind === 'time' ? await admin.fetchTopicOffsetsByTimestamp(topic, at.ms) : undefined;
  const partitions = ends.flatMap((e) => {
    const low = Number(e.low);
    const high = Number(e.high);
    let offset: number;
    switch (at.kind) {
      case 'earliest':
        offset = low;
        break;
      case 'latest':
        offset = high;
        break;
      case 'time': {
        const found = Number(byTime!.find((p) => p.partition === e.partition)?.offset ?? -1);
        offset = found < 0 ? high : found;
        break;
      }
      case 'offset':
        offset = at.offset;
        break;
      case 'offsets':
        if (!at.byPartition.has(e.partition)) return [];
        offset = at.byPartition.get(e.partition)!;
    }
    return [{ partition: e.partition, offset: String(Math.min(Math.max(offset, low), high)) }];
  });
  await admin.setOffsets({ groupId: group, topic, partitions });
}

/**
 * `aestream consume`: prints the decoded records of a topic, one JSON line each, with
 * partition, offset (a string, as Kafka tools print it) and key; records that do not decode
 * print their reason code instead. A throwaway consumer group, deleted on exit, unless
 * --group is given.
 */
export function consumeCommand(): Command {
  return new Command('consume')
    .description('print the decoded records of a topic (for debugging), one JSON line each')
    .option(
      '-p, --pipeline <file>',
      "take brokers, topic, schema and registry from a pipeline file's input",
    )
    .option('-b, --brokers <list>', 'bootstrap brokers (default $KAFKA_BROKERS or 127.0.0.1:9092)')
    .option('-t, --topic <name>', 'topic to read')
    .option(
      '--schema <ref>',
      'read every value as this schema (SensorFrame, AnomalyEvent, ... or an .avsc path); ' +
        "default: the project's schema each value's ae.schema header names",
    )
    .option(
      '--writer <file...>',
      'other writer schemas that may appear on the topic (older/newer versions, your own types)',
    )
    .option('--registry <url>', 'Confluent schema registry: records are in its wire format')
    .option('-g, --group <id>', 'consumer group (commits offsets); default a throwaway group')
    .option(
      '--from <position>',
      'where to start: earliest, latest, an ISO time, a time back from now (-1h, -30m), ' +
        'or offsets (1200, 0:1200,1:900) (default: latest, only new records)',
    )
    .option('--from-beginning', 'the same as --from earliest')
    .option('-n, --limit <n>', 'exit after this many records', integer('--limit', 1))
    .option('--idle-ms <ms>', 'exit when no record came for this long', integer('--idle-ms', 1))
    .option('--full', 'print byte fields in full (base64)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  aestream consume -t sensors.anomalies --from earliest -n 10\n' +
        '  aestream consume -p pipelines/sensors.yaml --from -15m --idle-ms 2000',
    )
    .action(async (opts: ConsumeOpts) => {
      const pipeline = opts.pipeline ? loadPipeline(opts.pipeline) : undefined;
      const { brokers, topic } = brokersAndTopic(opts, pipeline);
      if (opts.fromBeginning && opts.from !== undefined)
        throw new AeError(ErrorCodes.CLI_USAGE, 'give one of --from and --from-beginning');
      const from = parsePosition(
        opts.fromBeginning ? 'earliest' : (opts.from ?? 'latest'),
        '--from',
      );
      const codec = codecFor(
        { ...opts, registry: opts.registry ?? pipeline?.input.registry?.url },
        topic,
        pipeline?.input.schema,
      );
      const throwaway = opts.group === undefined;
      const group = opts.group ?? `aestream-consume-${randomBytes(4).toString('hex')}`;
      const kafka: Kafka = createKafka({ brokers, clientId: 'aestream-consume' });
      const admin = kafka.admin();
      // A signal before the source handles them (while the group is made) ends the run too,
      // through the finally that deletes the throwaway group.
      let interrupted = false;
      const early = () => (interrupted = true);
      process.on('SIGINT', early);
      process.on('SIGTERM', early);
      let printed = 0;
      try {
        await admin.connect();
        // a given group keeps its committed offsets unless --from says where to start
        if (throwaway || opts.from !== undefined || opts.fromBeginning)
          await seekGroup(admin, topic, group, from);
        const source = new KafkaSource({
          kafka,
          brokers,
          topic,
          group,
          fromBeginning: from.kind === 'earliest',
        });
        const removeSignals = source.handleSignals(2_000);
        try {
          if (!interrupted)
            await lastValueFrom(
              source.records().pipe(
                decodeRecords(codec),
                tap((o) => {
                  const at = {
                    partition: o.record.partition,
                    offset: String(o.record.offset),
                    key: o.record.key?.toString() ?? null,
                  };
                  const line = o.ok
                    ? `${JSON.stringify(at).slice(0, -1)},"value":${show(o.value, opts.full === true)}}`
                    : JSON.stringify({ ...at, error: o.error.code, message: o.error.message });
                  process.stdout.write(line + '\n');
                  printed++;
                  o.record.ack();
                }),
                opts.limit !== undefined ? take(opts.limit) : (s) => s,
                // joining the group takes seconds: the first record gets longer than the idle time
                opts.idleMs !== undefined
                  ? timeout({ first: opts.idleMs + 15_000, each: opts.idleMs })
                  : (s) => s,
                catchError((err: unknown) =>
                  err instanceof TimeoutError ? EMPTY : Promise.reject(err),
                ),
              ),
              { defaultValue: undefined },
            );
        } finally {
          removeSignals();
          await source.stop(2_000);
        }
      } finally {
        process.off('SIGINT', early);
        process.off('SIGTERM', early);
        if (throwaway) {
          await admin
            .deleteGroups([group])
            .catch((err: unknown) =>
              logger.warn({ group, err: messageOf(err) }, 'could not delete the throwaway group'),
            );
        }
        await admin.disconnect();
      }
      console.error(`${printed} record${printed === 1 ? '' : 's'} from ${topic}`);
    });
}
