/**
 * Soak: `aestream detect` (the built CLI, its own process) for a long run at a moderate rate
 * through a stack of its own, with a Kafka broker restart a third of the way in and an
 * InfluxDB outage two thirds of the way in. Samples the detector's RSS, heap and consumer lag
 * every 10 s, then drains and counts: every produced frame must have its score point
 * (lost must be 0). Prints a table, writes bench/results/soak.json.
 *
 *   npm run bench:soak -- --minutes 30 --rate 200
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InfluxDB } from 'influx';
import { createAvroCodec } from '../src/codecs/avro-codec';
import type { SensorFrame } from '../src/core/records';
import { loadPipeline } from '../src/config/load-pipeline';
import { consumerLag } from '../src/connectors/kafka/consumer-lag';
import { createKafka } from '../src/connectors/kafka/kafka-client';
import { KafkaSink } from '../src/connectors/kafka/kafka-sink';
import { SyntheticSource } from '../src/connectors/synthetic-source';
import { trainFromFile } from '../src/registry/train-and-store';
import { logEntries, spawnDetector } from '../test/helpers/detector-process';
import { privateStack, type PrivateStack } from '../test/helpers/private-stack';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '200' },
    sources: { type: 'string', default: '50' },
    'outage-s': { type: 'string', default: '60' },
  },
});
const minutes = Number(args.minutes);
const rate = Number(args.rate);
const sources = Number(args.sources);
const outageMs = Number(args['outage-s']) * 1000;

interface Sample {
  t_s: number;
  rss_mb: number;
  heap_mb: number;
  lag: number;
  produced: number;
  phase: string;
}

let stopping = false;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
    return line ? Number(line[1]) / 1024 : NaN;
  } catch {
    return NaN; // the process is gone
  }
}

async function main(): Promise<void> {
  const stack = await privateStack();
  activeStack = stack;
  const name = `soak-${Date.now().toString(36)}`;
  const topic = `${name}.frames`;
  const group = `${name}-detectors`;
  const dir = mkdtempSync(join(tmpdir(), 'aestream-soak-'));
  const pipelineFile = join(dir, 'soak.yaml');
  const database = name.replace(/-/g, '_');
  writeFileSync(
    pipelineFile,
    `
name: ${name}
input:
  kafka: { brokers: "${stack.brokers.join(',')}", topic: ${topic}, group: ${group}, fromBeginning: true }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 1, window: 32, stride: 1 }
model: { kind: dense-ae, hidden: [16, 4], store: ${join(dir, 'models')}, train: { epochs: 5 }, releases: { topic: ${name}.models } }
batch: { maxSize: 256, maxWaitMs: 20 }
threshold: { kind: spot, risk: 1.0e-4, calibration: 500, level: 0.98, control: { topic: ${name}.control } }
output:
  kafka: { topic: ${name}.anomalies }
  influx: { url: "${stack.influxUrl}", database: ${database}, flushMs: 200 }
  dlq: { topic: ${name}.dlq }
`,
  );
  const kafka = createKafka({ brokers: stack.brokers, clientId: 'aestream-soak' });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 3 },
      { topic: `${name}.anomalies`, numPartitions: 1 },
      { topic: `${name}.dlq`, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  const config = loadPipeline(pipelineFile, { baseDir: process.cwd() });
  const csv = join(dir, 'train.csv');
  writeFileSync(
    csv,
    ['value', ...Array.from({ length: 3000 }, (_, i) => String(Math.sin(i / 20)))].join('\n'),
  );
  await trainFromFile(config, { data: csv });

  const total = Math.round(minutes * 60 * rate);
  const gen = new SyntheticSource({
    seed: 21,
    sources,
    length: Math.ceil(total / sources),
    anomaliesPerSource: 2,
  });
  const frames = [...gen.frames()].slice(0, total);
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const detector = spawnDetector(pipelineFile);
  const detectorLog = join(dir, 'detector.log');
  void detector.exited.then((code) => {
    writeFileSync(detectorLog, detector.log.join('\n'));
    if (!stopping) {
      console.error(`[soak] the detector exited (code ${code}); its log: ${detectorLog}`);
      process.exitCode = 1;
    }
  });

  const samples: Sample[] = [];
  const startedAt = Date.now();
  let produced = 0;
  let phase = 'steady';
  const events: Array<{ t_s: number; what: string }> = [];
  const mark = (what: string) => {
    events.push({ t_s: Math.round((Date.now() - startedAt) / 1000), what });
    console.error(`[soak] ${events.at(-1)!.t_s}s ${what}`);
  };
  const sampler = setInterval(() => {
    void (async () => {
      const lag = await consumerLag(admin, group, topic)
        .then((l) => l.reduce((s, p) => s + p.lag, 0))
        .catch(() => NaN);
      const metricsLine = logEntries(detector).find((l) => l.msg === 'detector started') as
        { metricsPort?: number } | undefined;
      const heap = metricsLine
        ? await fetch(`http://127.0.0.1:${metricsLine.metricsPort}/metrics`)
            .then((r) => r.text())
            .then(
              (t) => Number(t.match(/^nodejs_heap_size_used_bytes (\S+)/m)?.[1] ?? NaN) / 2 ** 20,
            )
            .catch(() => NaN)
        : NaN;
      samples.push({
        t_s: Math.round((Date.now() - startedAt) / 1000),
        rss_mb: Math.round(rssMb(detector.child.pid!) * 10) / 10,
        heap_mb: Math.round(heap * 10) / 10,
        lag,
        produced,
        phase,
      });
    })();
  }, 10_000);

  // Produce at the rate, one-second slices, through the faults.
  const sink = new KafkaSink({ brokers: stack.brokers, topic, kafka });
  await sink.connect();
  const brokerAt = total / 3;
  const influxAt = (2 * total) / 3;
  let influxBackAt = Infinity;
  for (let i = 0; i < total; i += rate) {
    const sliceStart = Date.now();
    const slice = frames.slice(i, i + rate);
    await Promise.all(
      slice.map((f) =>
        sink.send({
          key: f.source,
          value: codec.encode(f),
          headers: codec.headers,
          timestamp: f.time,
        }),
      ),
    );
    produced += slice.length;
    if (produced >= brokerAt && phase === 'steady') {
      phase = 'broker-restart';
      mark('stopping the Kafka broker');
      await stack.stop('kafka');
      await stack.up();
      mark('Kafka broker back');
      phase = 'after-broker';
    }
    if (produced >= influxAt && phase === 'after-broker') {
      phase = 'influx-outage';
      mark('stopping InfluxDB');
      await stack.stop('influxdb');
      influxBackAt = Date.now() + outageMs;
    }
    if (phase === 'influx-outage' && Date.now() >= influxBackAt) {
      await stack.up();
      mark('InfluxDB back');
      phase = 'after-influx';
    }
    await sleep(Math.max(0, 1000 - (Date.now() - sliceStart)));
  }
  if (phase === 'influx-outage') {
    await sleep(Math.max(0, influxBackAt - Date.now()));
    await stack.up();
    mark('InfluxDB back');
  }
  await sink.disconnect();
  mark(`all ${produced} frames produced; draining`);

  const influx = new InfluxDB({
    host: '127.0.0.1',
    port: Number(new URL(stack.influxUrl).port),
    database,
  });
  const points = async () =>
    (
      await influx
        .query<{ count: number }>(`SELECT count("error") AS "count" FROM "score"`)
        .catch(() => [])
    )[0]?.count ?? 0;
  const drainDeadline = Date.now() + 10 * 60_000;
  let written = await points();
  while (written < produced && Date.now() < drainDeadline) {
    await sleep(2_000);
    written = await points();
  }
  mark(`drained: ${written} score points`);
  clearInterval(sampler);
  stopping = true;
  detector.child.kill('SIGTERM');
  await detector.exited;
  await admin.disconnect();
  await stack.down();

  const steady = samples.filter((s) => s.t_s >= 60);
  const first = steady.slice(0, 3);
  const last = steady.slice(-3);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const result = {
    minutes,
    rate,
    sources,
    produced,
    written,
    lost: produced - written,
    events,
    rss_mb: { early: mean(first.map((s) => s.rss_mb)), late: mean(last.map((s) => s.rss_mb)) },
    heap_mb: { early: mean(first.map((s) => s.heap_mb)), late: mean(last.map((s) => s.heap_mb)) },
    max_lag: Math.max(...samples.map((s) => (Number.isFinite(s.lag) ? s.lag : 0))),
    samples,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/soak.json', JSON.stringify(result, null, 2));
  console.log('\nsoak');
  console.log(`  frames produced / scored     ${produced} / ${written} (lost ${result.lost})`);
  console.log(
    `  faults                       ${events.map((e) => `${e.t_s}s ${e.what}`).join('; ')}`,
  );
  console.log(
    `  RSS early -> late (MB)       ${result.rss_mb.early.toFixed(1)} -> ${result.rss_mb.late.toFixed(1)} (x${(result.rss_mb.late / result.rss_mb.early).toFixed(2)})`,
  );
  console.log(
    `  heap early -> late (MB)      ${result.heap_mb.early.toFixed(1)} -> ${result.heap_mb.late.toFixed(1)}`,
  );
  console.log(`  max consumer lag             ${result.max_lag}`);
  console.log('  wrote bench/results/soak.json');
  process.exitCode = result.lost === 0 ? 0 : 1;
}

/** Stopped on a failure too, so a crashed soak leaves no broker behind. */
let activeStack: PrivateStack | undefined;

main().catch(async (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
  await activeStack?.down().catch(() => undefined);
});
