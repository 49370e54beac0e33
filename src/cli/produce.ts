import { writeFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { createCodec } from '../codecs/codec-factory';
import type { Frame } from '../core/records';
import { loadSchema } from '../codecs/schema-loader';
import { loadPipeline } from '../config/load-pipeline';
import { brokersAndTopic } from './options';
import { AeError, ErrorCodes } from '../core/errors';
import { readAvroFile } from '../connectors/files/avro-file-source';
import { readCsvFrames } from '../connectors/files/csv-source';
import { readIdxImages } from '../connectors/files/idx-source';
import { KafkaSink } from '../connectors/kafka/kafka-sink';
import { SyntheticSource } from '../connectors/synthetic-source';
import { integer, positiveNumber } from './options';

interface ProduceOpts {
  pipeline?: string;
  brokers?: string;
  topic?: string;
  schema?: string;
  registry?: string;
  file?: string;
  format?: 'csv' | 'idx' | 'avro';
  labels?: string;
  synthetic?: boolean;
  seed: number;
  sources: number;
  length: number;
  features: number;
  anomalies?: string;
  rate?: number;
  key: 'source' | 'none';
  limit?: number;
  source?: string;
  progress: boolean;
  json?: boolean;
}

/** Where the frames come from, and how many there will be when that is known. */
interface FrameInput {
  frames: AsyncIterable<Frame> | Iterable<Frame>;
  total?: number;
  defaultSchema: string;
}

function formatOf(file: string, explicit?: string): 'csv' | 'idx' | 'avro' {
  if (explicit) return explicit as 'csv' | 'idx' | 'avro';
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.avro$/i.test(file)) return 'avro';
  if (/idx\d-ubyte(\.gz)?$/i.test(file)) return 'idx';
  throw new AeError(
    ErrorCodes.CLI_USAGE,
    `cannot tell the format of ${file}: pass --format csv|idx|avro`,
  );
}

function inputOf(opts: ProduceOpts): FrameInput {
  if (opts.synthetic === !!opts.file) {
    throw new AeError(ErrorCodes.CLI_USAGE, 'give exactly one of --file FILE and --synthetic');
  }
  if (opts.synthetic) {
    const gen = new SyntheticSource({
      seed: opts.seed,
      sources: opts.sources,
      length: opts.length,
      features: opts.features,
    });
    if (opts.anomalies)
      writeFileSync(opts.anomalies, JSON.stringify(gen.anomalies, null, 2) + '\n');
    return {
      frames: gen.frames(),
      total: gen.sources.length * gen.length,
      defaultSchema: 'SensorFrame',
    };
  }
  const file = opts.file!;
  switch (formatOf(file, opts.format)) {
    case 'csv':
      return { frames: readCsvFrames(file, { source: opts.source }), defaultSchema: 'SensorFrame' };
    case 'idx': {
      const images = [
        ...readIdxImages(file, {
          source: opts.source ?? 'idx',
          labels: opts.labels,
          startTime: Date.now(),
        }),
      ];
      if (opts.labels) {
        // the labels go to a side file, the frames carry none (the schema has no label field)
        writeFileSync(
          `${opts.topic ?? 'labels'}.labels.json`,
          JSON.stringify(images.map((i) => i.label)) + '\n',
        );
      }
      return {
        frames: images.map((i) => i.frame),
        total: images.length,
        defaultSchema: 'ImageFrame',
      };
    }
    case 'avro':
      return {
        frames: readAvroFile<Frame>(file, opts.schema ? loadSchema(opts.schema) : undefined),
        defaultSchema: 'SensorFrame',
      };
  }
}

/**
 * `aestream produce`: frames from a file or the synthetic generator to a topic, Avro-encoded,
 * keyed by source id, at an optional rate. Progress on stderr, a summary on stdout.
 */
export function produceCommand(): Command {
  return new Command('produce')
    .description(
      'send frames from a file (CSV/NAB, IDX images, Avro container) or the synthetic generator to a topic',
    )
    .option(
      '-p, --pipeline <file>',
      "take brokers, topic, schema and registry from a pipeline file's input",
    )
    .option('-b, --brokers <list>', 'bootstrap brokers (default $KAFKA_BROKERS or 127.0.0.1:9092)')
    .option('-t, --topic <name>', 'topic to write to')
    .option(
      '--schema <ref>',
      'Avro schema: SensorFrame, ImageFrame or an .avsc path (default from the input kind)',
    )
    .option('--registry <url>', 'Confluent schema registry: use its wire format')
    .option('-f, --file <file>', 'input file: .csv (NAB or multi-column), *-idx3-ubyte[.gz], .avro')
    .option('--format <kind>', 'csv | idx | avro, when the file name does not say')
    .option('--labels <file>', 'IDX label file for --file images (written to <topic>.labels.json)')
    .option('--source <id>', 'source id for files without a source column (default: the file name)')
    .option(
      '--synthetic',
      'generate seasonal sensor data with injected anomalies instead of reading a file',
    )
    .option('--seed <n>', 'generator seed', integer('--seed', 1), 1)
    .option('--sources <n>', 'generator: number of sources', integer('--sources', 1), 3)
    .option('--length <n>', 'generator: readings per source', integer('--length', 1), 10_000)
    .option('--features <n>', 'generator: values per reading', integer('--features', 1), 1)
    .option('--anomalies <file>', 'generator: write the injected anomaly windows to this JSON file')
    .option(
      '--rate <n>',
      'frames per second at most (default: as fast as the broker takes them)',
      positiveNumber('--rate'),
    )
    .option(
      '--key <choice>',
      'message key: source (the source id; keeps per-source order) or none',
      'source',
    )
    .option('--limit <n>', 'stop after this many frames', integer('--limit', 1))
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary as one JSON object on stdout, no progress bar')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  aestream produce -p pipelines/sensors.yaml --synthetic --sources 5 --length 20000 --anomalies truth.json\n' +
        '  aestream produce -t sensors.frames -f ../shared/datasets/nab-dev/data/realTweets/Twitter_volume_AAPL.csv --rate 500\n' +
        '  aestream produce -p pipelines/images.yaml -f ../shared/datasets/mnist/t10k-images-idx3-ubyte.gz --limit 1000',
    )
    .action(async (opts: ProduceOpts) => {
      if (opts.key !== 'source' && opts.key !== 'none') {
        throw new AeError(
          ErrorCodes.CLI_USAGE,
          `--key must be source or none, got '${String(opts.key)}'`,
        );
      }
      const pipeline = opts.pipeline ? loadPipeline(opts.pipeline) : undefined;
      const { brokers, topic } = brokersAndTopic(opts, pipeline);
      const input = inputOf({ ...opts, topic });
      const schema = opts.schema ?? pipeline?.input.schema ?? input.defaultSchema;
      const registryUrl = opts.registry ?? pipeline?.input.registry?.url;
      const codec = createCodec<Frame>({
        schema,
        topic,
        registry: registryUrl ? { url: registryUrl } : undefined,
      });
      await codec.ready();

      const sink = new KafkaSink({
        brokers,
        topic,
        clientId: 'aestream-produce',
        batchSize: 2_000,
      });
      const total =
        opts.limit !== undefined ? Math.min(opts.limit, input.total ?? Infinity) : input.total;
      const bar =
        opts.progress && process.stderr.isTTY
          ? new SingleBar({
              stream: process.stderr,
              format: total
                ? ' {bar} {percentage}% | {value}/{total} frames | {rate}/s | eta {eta}s'
                : ' {value} frames | {rate}/s',
              hideCursor: true,
            })
          : undefined;
      bar?.start(total ?? 0, 0, { rate: 0 });

      const started = Date.now();
      const sources = new Set<string>();
      let sent = 0;
      let pending: Array<Promise<void>> = [];
      let stopping = false;
      const onSignal = () => (stopping = true);
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await sink.connect();
        for await (const frame of input.frames) {
          if (stopping || (opts.limit !== undefined && sent >= opts.limit)) break;
          if (opts.rate) {
            const due = started + (sent / opts.rate) * 1000;
            const wait = due - Date.now();
            if (wait > 2) await new Promise((r) => setTimeout(r, wait));
          }
          sources.add(frame.source);
          pending.push(
            sink.send({
              key: opts.key === 'source' ? frame.source : null,
              value: codec.encode(frame),
              headers: codec.headers,
              timestamp: frame.time,
            }),
          );
          sent++;
          // Bound what is queued in memory: wait for the broker every 10,000 frames.
          if (pending.length >= 10_000) {
            await Promise.all(pending);
            pending = [];
          }
          if (bar && sent % 500 === 0)
            bar.update(sent, {
              rate: Math.round(sent / Math.max(0.001, (Date.now() - started) / 1000)),
            });
        }
        await Promise.all(pending);
      } finally {
        // On every path: an open producer keeps the process alive after a bad input row.
        // Disconnecting flushes what was sent so far and settles every send.
        await sink.disconnect();
        await Promise.allSettled(pending);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        bar?.update(sent, {
          rate: Math.round(sent / Math.max(0.001, (Date.now() - started) / 1000)),
        });
        bar?.stop();
      }
      const seconds = (Date.now() - started) / 1000;
      const rate = Math.round(sent / Math.max(seconds, 0.001));
      if (opts.json) {
        console.log(
          JSON.stringify({
            topic,
            frames: sent,
            sources: sources.size,
            seconds,
            framesPerSecond: rate,
            schema,
            wireFormat: registryUrl ? 'confluent' : 'avro',
            key: opts.key,
            interrupted: stopping,
            anomalies: opts.anomalies ?? null,
          }),
        );
        return;
      }
      console.log(
        `produced ${sent} frames from ${sources.size} source${sources.size === 1 ? '' : 's'} to ${topic} in ${seconds.toFixed(1)} s ` +
          `(${rate} frames/s; ${schema}${registryUrl ? ', Confluent wire format' : ''}; key ${opts.key})` +
          (stopping ? ' - interrupted' : ''),
      );
      if (opts.anomalies) console.log(`injected anomaly windows written to ${opts.anomalies}`);
    });
}
