import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { catchError, EMPTY, lastValueFrom, take, tap, timeout, TimeoutError } from 'rxjs';
import { createCodec } from '../codecs/codec-factory';
import { loadPipeline } from '../config/load-pipeline';
import { AeError, ErrorCodes } from '../core/errors';
import { KafkaSource } from '../connectors/kafka/kafka-source';
import { decodeRecords } from '../operators/decode-records';

interface ConsumeOpts {
  pipeline?: string;
  brokers?: string;
  topic?: string;
  schema?: string;
  registry?: string;
  writer?: string[];
  group?: string;
  fromBeginning: boolean;
  limit?: number;
  idleMs?: number;
  full: boolean;
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
 * `aestream consume`: prints the decoded records of a topic, one JSON line each, with
 * partition, offset and key; records that do not decode print their reason code instead.
 * A throwaway consumer group unless --group is given.
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
      'reader schema: SensorFrame, ImageFrame, AnomalyEvent, ... or an .avsc path',
      'SensorFrame',
    )
    .option(
      '--writer <file...>',
      'other writer schemas that may appear on the topic (older/newer versions)',
    )
    .option('--registry <url>', 'Confluent schema registry: records are in its wire format')
    .option('-g, --group <id>', 'consumer group (commits offsets); default a throwaway group')
    .option('--from-beginning', 'start at the earliest offset (default: only new records)', false)
    .option('-n, --limit <n>', 'exit after this many records', (v) => Number(v))
    .option('--idle-ms <ms>', 'exit when no record came for this long', (v) => Number(v))
    .option('--full', 'print byte fields in full (base64)', false)
    .addHelpText(
      'after',
      '\nExample:\n  aestream consume -t sensors.anomalies --schema AnomalyEvent --from-beginning -n 10',
    )
    .action(async (opts: ConsumeOpts) => {
      const pipeline = opts.pipeline ? loadPipeline(opts.pipeline) : undefined;
      const brokers =
        opts.brokers ??
        pipeline?.input.kafka.brokers ??
        process.env.KAFKA_BROKERS ??
        '127.0.0.1:9092';
      const topic = opts.topic ?? pipeline?.input.kafka.topic;
      if (!topic)
        throw new AeError(ErrorCodes.CLI_USAGE, 'name the topic: --topic NAME or --pipeline FILE');
      if (opts.limit !== undefined && !(opts.limit > 0))
        throw new AeError(ErrorCodes.CLI_USAGE, '--limit must be positive');
      const schema =
        opts.pipeline && opts.schema === 'SensorFrame' ? pipeline!.input.schema : opts.schema;
      const registryUrl = opts.registry ?? pipeline?.input.registry?.url;
      const codec = createCodec<unknown>({
        schema: schema!,
        topic,
        registry: registryUrl ? { url: registryUrl } : undefined,
        writers: opts.writer,
      });
      const source = new KafkaSource({
        brokers,
        topic,
        group: opts.group ?? `aestream-consume-${randomBytes(4).toString('hex')}`,
        clientId: 'aestream-consume',
        fromBeginning: opts.fromBeginning,
      });
      const removeSignals = source.handleSignals(2_000);
      let printed = 0;
      await lastValueFrom(
        source.records().pipe(
          decodeRecords(codec),
          tap((o) => {
            const key = o.record.key?.toString() ?? null;
            const line = o.ok
              ? `{"partition":${o.record.partition},"offset":${o.record.offset},"key":${JSON.stringify(key)},"value":${show(o.value, opts.full)}}`
              : JSON.stringify({
                  partition: o.record.partition,
                  offset: o.record.offset,
                  key,
                  error: o.error.code,
                  message: o.error.message,
                });
            process.stdout.write(line + '\n');
            printed++;
            o.record.ack();
          }),
          opts.limit !== undefined ? take(opts.limit) : (s) => s,
          // joining the group takes seconds: the first record gets longer than the idle time
          opts.idleMs !== undefined
            ? timeout({ first: opts.idleMs + 15_000, each: opts.idleMs })
            : (s) => s,
          catchError((err: unknown) => (err instanceof TimeoutError ? EMPTY : Promise.reject(err))),
        ),
        { defaultValue: undefined },
      );
      removeSignals();
      await source.stop(2_000);
      console.error(`${printed} record${printed === 1 ? '' : 's'} from ${topic}`);
    });
}
