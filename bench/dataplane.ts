/**
 * Data-plane benchmark.
 *
 * 1. Codec: SensorFrame (from a NAB series) and ImageFrame (MNIST) encode+decode round
 *    trips per second through the aestream codec, against bare avsc on the same schema
 *    and values in the same run (the cost of our wrapper: header lookup, error mapping,
 *    the timestamp-millis logical type).
 * 2. Passthrough through the real broker: N frames on a 3-partition topic go through
 *    KafkaSource -> decode -> validate -> encode -> KafkaSink -> ack (commit), against a
 *    raw kafkajs consumer (eachBatch) that produces the same bytes unchanged to another
 *    topic, measured in the same run. Timed from the first record consumed to the last
 *    record acked by the broker, so the group join is not counted.
 *
 *   npm run bench:dataplane -- [--data ../shared/datasets] [--frames 100000] [--rounds 2]
 *
 * Writes bench/results/dataplane.json and prints a table. Needs the local stack.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Type } from 'avsc';
import { Partitioners, type Kafka } from 'kafkajs';
import { bufferTime, lastValueFrom, mergeMap, takeWhile } from 'rxjs';
import { createAvroCodec } from '../src/codecs/avro-codec';
import { frameSchema } from '../src/core/frame-config';
import type { ImageFrame, SensorFrame } from '../src/core/records';
import { readCsvFrames } from '../src/connectors/files/csv-source';
import { readIdxImages } from '../src/connectors/files/idx-source';
import { createKafka } from '../src/connectors/kafka/kafka-client';
import { KafkaSink } from '../src/connectors/kafka/kafka-sink';
import { KafkaSource } from '../src/connectors/kafka/kafka-source';
import { decodeRecords } from '../src/operators/decode-records';
import { validateFrames } from '../src/operators/validate-frames';
import { median } from './e2e/harness';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const dataDir = resolve(arg('data', '../shared/datasets'));
const frames = Number(arg('frames', '100000'));
const rounds = Number(arg('rounds', '2'));
const maxInFlight = Number(arg('max-in-flight', '10000'));
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const nabFile = join(
  dataDir,
  'nab-dev',
  'data',
  'realAWSCloudwatch',
  'ec2_cpu_utilization_5f5533.csv',
);
const mnistFile = join(dataDir, 'mnist', 't10k-images-idx3-ubyte.gz');

/** Round trips per second of `step` over `values`, for about `seconds`. */
function opsPerSecond<T>(values: T[], step: (v: T) => void, seconds = 1.5): number {
  for (let i = 0; i < Math.min(values.length, 2_000); i++) step(values[i]); // warm up the JIT
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 500; i++) step(values[(n + i) % values.length]);
    n += 500;
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function codecRows() {
  const sensors: SensorFrame[] = [];
  for await (const f of readCsvFrames(nabFile, { source: 'ec2-cpu' })) sensors.push(f);
  const images: ImageFrame[] = [...readIdxImages(mnistFile, { limit: 2_000, source: 'mnist' })].map(
    (i) => i.frame,
  );
  const rows = [];
  for (const [name, values, schemaName] of [
    ['SensorFrame (NAB, D=1)', sensors, 'SensorFrame'],
    ['ImageFrame (MNIST 28x28)', images, 'ImageFrame'],
  ] as const) {
    const codec = createAvroCodec<unknown>(schemaName);
    // Bare avsc on the same schema without our logical type: what avsc alone costs.
    const bare = Type.forSchema(codec.type.schema() as never);
    const headers = codec.headers;
    // Alternate short slices of both, five times each, and take medians: the machine is
    // shared, so one long run of each would mostly measure who ran during a busy moment.
    const oursRuns: number[] = [];
    const bareRuns: number[] = [];
    for (let k = 0; k < 5; k++) {
      oursRuns.push(
        opsPerSecond(values as unknown[], (v) => codec.decode(codec.encode(v), headers), 0.3),
      );
      bareRuns.push(
        opsPerSecond(values as unknown[], (v) => bare.fromBuffer(bare.toBuffer(v)), 0.3),
      );
    }
    const ours = median(oursRuns);
    const baseline = median(bareRuns);
    rows.push({
      name,
      framesPerSecond: Math.round(ours),
      bareAvscPerSecond: Math.round(baseline),
      ratio: ours / baseline,
    });
  }
  return { rows, sensors };
}

async function fillTopic(
  kafka: Kafka,
  topic: string,
  values: Buffer[],
  keys: string[],
): Promise<void> {
  const sink = new KafkaSink({ brokers, topic, kafka, batchSize: 5_000 });
  await sink.connect();
  await sink.sendMany(values.map((value, i) => ({ key: keys[i], value })));
  await sink.disconnect();
}

/** Ours: source -> decode -> validate -> encode -> sink -> ack. Seconds from first record to last ack. */
async function oursPassthrough(
  kafka: Kafka,
  input: string,
  output: string,
  n: number,
): Promise<{ seconds: number; pauses: number }> {
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const frame = frameSchema.parse({ kind: 'sensor', features: 1, window: 64 });
  const source = new KafkaSource({
    brokers,
    topic: input,
    group: `bench-ours-${Date.now()}`,
    kafka,
    fromBeginning: true,
    maxInFlight,
  });
  const sink = new KafkaSink({ brokers, topic: output, kafka, batchSize: 5_000 });
  await sink.connect();
  let first = 0;
  let done = 0;
  await lastValueFrom(
    source.records().pipe(
      decodeRecords(codec),
      validateFrames<SensorFrame>(frame),
      // Batched like the detector's micro-batches: one sink call and one ack pass per batch.
      bufferTime(20, null, 5_000),
      mergeMap(async (batch) => {
        if (batch.length === 0) return done;
        if (first === 0) first = performance.now();
        await sink.sendMany(
          batch.map((o) => {
            if (!o.ok) throw o.error;
            return { key: o.record.key, value: codec.encode(o.value), headers: codec.headers };
          }),
        );
        for (const o of batch) o.record.ack();
        done += batch.length;
        return done;
      }, 4),
      takeWhile((d) => d < n, true),
    ),
  );
  const seconds = (performance.now() - first) / 1000;
  await source.stop();
  await sink.disconnect();
  return { seconds, pauses: source.pauses };
}

/** Baseline: raw kafkajs eachBatch consume -> produce of the same bytes. */
async function rawPassthrough(
  kafka: Kafka,
  input: string,
  output: string,
  n: number,
): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${Date.now()}`, maxWaitTimeInMs: 200 });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  let first = 0;
  let done = 0;
  let finish: () => void = () => undefined;
  let fail: (err: unknown) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (first === 0) first = performance.now();
      // The same request size as KafkaSink's batches: one fetch can hold 25k messages, and a
      // single produce request that large is slow or over the broker's message.max.bytes.
      for (let i = 0; i < batch.messages.length; i += 5_000) {
        const chunk = batch.messages.slice(i, i + 5_000);
        await producer.send({
          topic: output,
          messages: chunk.map((m) => ({ key: m.key, value: m.value })),
        });
        resolveOffset(chunk[chunk.length - 1].offset);
        await heartbeat();
      }
      done += batch.messages.length;
      if (done >= n) finish();
    },
  });
  await finished;
  const seconds = (performance.now() - first) / 1000;
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  return seconds;
}

async function main(): Promise<void> {
  console.log(`data: ${dataDir}\nbroker: ${brokers}\n`);
  const { rows: codec, sensors } = await codecRows();
  console.error('codec measured');

  const kafka = createKafka({ brokers, clientId: 'aestream-bench' });
  const admin = kafka.admin();
  await admin.connect();
  const stamp = Date.now().toString(36);
  const input = `bench-dp-in-${stamp}`;
  const topics = [input];
  await admin.createTopics({ topics: [{ topic: input, numPartitions: 3 }], waitForLeaders: true });
  // N frames from the NAB series, cycled, under 50 source ids.
  const codecForFill = createAvroCodec<SensorFrame>('SensorFrame');
  const keys: string[] = [];
  const values: Buffer[] = [];
  for (let i = 0; i < frames; i++) {
    const f = sensors[i % sensors.length];
    const source = `ec2-${i % 50}`;
    keys.push(source);
    values.push(codecForFill.encode({ ...f, source, seq: i }));
  }
  await fillTopic(kafka, input, values, keys);
  console.error(`${frames} frames written to ${input}`);

  const runs: Array<{ round: number; ours: number; raw: number; pauses: number }> = [];
  for (let round = 0; round < rounds; round++) {
    const outRaw = `bench-dp-raw-${stamp}-${round}`;
    const outOurs = `bench-dp-ours-${stamp}-${round}`;
    topics.push(outRaw, outOurs);
    await admin.createTopics({
      topics: [outRaw, outOurs].map((topic) => ({ topic, numPartitions: 3 })),
      waitForLeaders: true,
    });
    // Alternate the order so neither side always runs on a warmer broker.
    const raw = round % 2 === 0 ? await rawPassthrough(kafka, input, outRaw, frames) : NaN;
    const { seconds: ours, pauses } = await oursPassthrough(kafka, input, outOurs, frames);
    const raw2 = round % 2 === 1 ? await rawPassthrough(kafka, input, outRaw, frames) : raw;
    runs.push({ round, ours: frames / ours, raw: frames / raw2, pauses });
    console.error(
      `round ${round}: ours ${Math.round(frames / ours)}/s (${pauses} partition pauses), raw ${Math.round(frames / raw2)}/s`,
    );
  }
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();

  const oursRate = median(runs.map((r) => r.ours));
  const rawRate = median(runs.map((r) => r.raw));

  console.log('codec: encode+decode round trips per second');
  console.log('  frame                       aestream codec   bare avsc   ratio');
  for (const r of codec) {
    console.log(
      `  ${r.name.padEnd(26)} ${String(r.framesPerSecond).padStart(14)} ${String(r.bareAvscPerSecond).padStart(11)}   ${r.ratio.toFixed(2)}`,
    );
  }
  console.log(
    `\npassthrough through the broker (${frames} frames, 3 partitions, ${rounds} rounds, maxInFlight ${maxInFlight}; frames/s)`,
  );
  console.log('  round   aestream source->sink   raw kafkajs consume->produce   ratio');
  for (const r of runs) {
    console.log(
      `  ${String(r.round).padStart(5)}   ${String(Math.round(r.ours)).padStart(21)}   ${String(Math.round(r.raw)).padStart(28)}   ${(r.ours / r.raw).toFixed(2)}`,
    );
  }
  console.log(
    `  median  ${String(Math.round(oursRate)).padStart(21)}   ${String(Math.round(rawRate)).padStart(28)}   ${(oursRate / rawRate).toFixed(2)}`,
  );

  const out = resolve(
    __dirname.includes('dist')
      ? join(__dirname, '..', '..', '..', 'bench', 'results')
      : join(__dirname, 'results'),
  );
  mkdirSync(out, { recursive: true });
  const result = {
    benchmark: 'dataplane',
    date: new Date().toISOString(),
    node: process.version,
    broker: brokers,
    frames,
    maxInFlight,
    codec,
    passthrough: {
      runs,
      oursFramesPerSecond: Math.round(oursRate),
      rawKafkajsFramesPerSecond: Math.round(rawRate),
      ratio: oursRate / rawRate,
      note: 'ours = KafkaSource -> decode -> validate -> encode -> idempotent KafkaSink -> ack/commit; raw = kafkajs eachBatch consume -> idempotent produce of the same bytes, no decode, no commit tracking',
    },
  };
  writeFileSync(join(out, 'dataplane.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${join(out, 'dataplane.json')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
