/**
 * Where the detector's CPU goes, without the network: the sensor pipeline of bench/e2e
 * (SensorFrames of 4 features, window 32, a dense autoencoder on the pipeline's engine,
 * SPOT per source) run in-process over pre-encoded records, stage by stage:
 *
 *   decode      decode -> validate -> dead letters
 *   windows     + per-source sliding windows
 *   inference   + micro-batches -> batched inference
 *   thresholds  + per-source thresholds
 *   detectFlow  the whole detectFlow: + the InfluxDB score points (serialized to line
 *               protocol exactly as the InfluxSink sends them, not sent) and the anomaly
 *               events (Avro-encoded, not sent), then the acks
 *
 * Each stage's time minus the one before is that step's cost. The baseline, measured in
 * the same run, is the work of the plain kafkajs passthrough of bench/e2e without Kafka:
 * avsc decode -> avsc encode of the same records. Times are the median of `--rounds`
 * rounds (ms per 1,000 frames, wall clock in one process); figures are comparable within
 * a run, which is what the ratios are for.
 *
 *   npm run bench:hotpath -- [--frames 200000] [--sources 2000] [--rounds 3] [--engine auto|onnx|tfjs]
 *
 * Writes bench/results/hotpath.json and prints a table.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'avsc';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { createAvroCodec } from '../src/codecs/avro-codec';
import { windowsOf } from '../src/operators/sensor-windows';
import type { AnomalyEvent, Frame, SensorFrame } from '../src/core/records';
import type { SensorFrameConfig } from '../src/core/frame-config';
import { loadPipeline } from '../src/config/load-pipeline';
import { AnomalyEventSink } from '../src/outputs/anomaly-event-sink';
import { toLine } from '../src/connectors/influx/influx-line';
import type { KafkaRecord } from '../src/core/kafka-record';
import { MemoryDlq, MemoryMessages, MemoryTopic } from '../src/connectors/kafka/memory-io';
import { ScoreSink } from '../src/outputs/score-sink';
import { SyntheticSource } from '../src/connectors/synthetic-source';
import { openModel } from '../src/inference/active-model';
import { trainAndStore } from '../src/registry/train-and-store';
import { applyThresholds } from '../src/operators/apply-thresholds';
import { decodeRecords } from '../src/operators/decode-records';
import { inferBatch } from '../src/operators/infer-batch';
import { microBatch } from '../src/operators/micro-batch';
import { toDeadLetters } from '../src/operators/to-dead-letters';
import { sensorInputs } from '../src/operators/to-model-inputs';
import { validateFrames } from '../src/operators/validate-frames';
import { detectFlow } from '../src/operators/detect-flow';
import { createThresholdRegistry } from '../src/thresholds/threshold-registry';
import { arg, root } from './e2e/harness';

const frames = Number(arg('frames', '200000'));
const sources = Number(arg('sources', '2000'));
const rounds = Number(arg('rounds', '3'));
// `auto` times the engines on a few batches and keeps the faster: on a busy machine pin one.
const engine = arg('engine', 'auto');
const features = 4;
const window = 32;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'aestream-hotpath-'));
  const store = join(dir, 'models');
  const file = join(dir, 'hotpath.yaml');
  // The pipeline of bench/e2e: same model, batch and threshold settings.
  writeFileSync(
    file,
    `name: hotpath
input:
  kafka: { brokers: '127.0.0.1:1', topic: hotpath, group: hotpath }
  schema: ${join(root, 'schemas', 'sensor-frame.avsc')}
frame: { kind: sensor, features: ${features}, window: ${window}, stride: 1 }
model: { kind: dense-ae, hidden: [32, 8], store: ${store}, engine: ${engine}, releases: { follow: false } }
batch: { maxSize: 256, maxWaitMs: 20 }
threshold: { kind: spot, risk: 1.0e-4, calibration: 2000, perKey: true }
output:
  kafka: { topic: hotpath.events }
  influx: { url: 'http://127.0.0.1:1', database: hotpath }
  dlq: { topic: hotpath.dlq }
`,
  );
  const config = loadPipeline(file);
  const frame = config.frame as SensorFrameConfig;
  const gen = new SyntheticSource({
    seed: 11,
    sources,
    length: Math.ceil(frames / sources),
    features,
  });
  const all = [...gen.frames()].slice(0, frames);
  const training = windowsOf(
    gen.sources.slice(0, 20).map((s) => [...gen.series(s)].map((f) => f.values)),
    { window, stride: 1, features },
  );
  await trainAndStore(
    config,
    { ...training, source: 'bench hotpath synthetic' },
    { epochs: 3, store },
  );
  const model = await openModel(config.frame, config.model);
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const encoded = all.map((f) => ({ f, value: codec.encode(f) }));
  const records = (): KafkaRecord[] => {
    const topic = new MemoryTopic('hotpath', 6);
    return encoded.map(({ f, value }) => topic.record(f.source, value, codec.headers, f.time));
  };

  const decoded = (r: Observable<KafkaRecord>) =>
    r.pipe(
      decodeRecords(codec),
      validateFrames<SensorFrame>(frame),
      toDeadLetters<SensorFrame>(new MemoryDlq() as never),
    );
  const windowed = (r: Observable<KafkaRecord>) => decoded(r).pipe(sensorInputs(frame));
  const inferred = (r: Observable<KafkaRecord>) =>
    windowed(r).pipe(
      microBatch(config.batch),
      inferBatch(() => model),
    );
  const judged = (r: Observable<KafkaRecord>) => {
    const registry = createThresholdRegistry(config.threshold);
    return inferred(r).pipe(applyThresholds(() => registry));
  };
  let lineBytes = 0;
  let events = 0;
  const full = (r: Observable<KafkaRecord>) => {
    lineBytes = 0;
    events = 0;
    const registry = createThresholdRegistry(config.threshold);
    return r.pipe(
      detectFlow({
        config,
        codec: codec as never,
        dlq: new MemoryDlq(),
        model: () => model,
        judge: () => registry,
        sinks: [
          new AnomalyEventSink<Frame>(
            new MemoryMessages(),
            createAvroCodec<AnomalyEvent>('AnomalyEvent'),
            config.name,
            () => events++,
          ),
          new ScoreSink<Frame>(
            {
              async writePoints(points) {
                // What the InfluxSink puts on the wire, built the same way.
                for (const p of points) lineBytes += toLine(p).length;
              },
              async writeLines(lines) {
                for (const l of lines) lineBytes += l.length;
              },
            },
            config.name,
          ),
        ],
      }),
    );
  };
  const type = Type.forSchema(
    JSON.parse(readFileSync(join(root, 'schemas', 'sensor-frame.avsc'), 'utf8')),
  );
  const baseline = async (rs: KafkaRecord[]) => {
    let bytes = 0;
    for (const r of rs) bytes += type.toBuffer(type.fromBuffer(r.value)).length;
    if (bytes === 0) throw new Error('nothing encoded');
  };

  const stages: Array<[string, (rs: KafkaRecord[]) => Promise<void>]> = [
    ['avsc decode -> encode (passthrough work)', baseline],
    ...(
      [
        ['decode', decoded],
        ['+ windows', windowed],
        ['+ batches, inference', inferred],
        ['+ thresholds', judged],
        ['detectFlow (+ sinks, acks)', full],
      ] as Array<[string, (r: Observable<KafkaRecord>) => Observable<unknown>]>
    ).map(
      ([name, flow]) =>
        [name, (rs: KafkaRecord[]) => drain(flow(from(rs)))] as [
          string,
          (rs: KafkaRecord[]) => Promise<void>,
        ],
    ),
  ];
  const results: Array<{ stage: string; msPer1k: number[]; median: number }> = [];
  for (const [stage, run] of stages) {
    const times: number[] = [];
    for (let i = 0; i < rounds + 1; i++) {
      const rs = records();
      const started = performance.now();
      await run(rs);
      // Round 0 warms the JIT and is not counted.
      if (i > 0) times.push(((performance.now() - started) / frames) * 1000);
    }
    const sorted = [...times].sort((a, b) => a - b);
    results.push({ stage, msPer1k: times, median: sorted[Math.floor(sorted.length / 2)]! });
    console.error(`[hotpath] ${stage}: ${sorted.map((t) => t.toFixed(1)).join(' ')} ms/1k`);
  }
  await model.dispose();
  rmSync(dir, { recursive: true, force: true });

  const base = results[0]!.median;
  console.log(
    `\nhot path: ${frames} SensorFrames, ${sources} sources, ${features} features, window ${window}, engine ${model.engine}, median of ${rounds} rounds`,
  );
  console.log(
    '  stage                                        ms/1k frames   step   vs passthrough work',
  );
  let previous = 0;
  for (const [i, r] of results.entries()) {
    const step = i <= 1 ? r.median : r.median - previous;
    console.log(
      `  ${r.stage.padEnd(44)} ${r.median.toFixed(2).padStart(10)} ${step.toFixed(2).padStart(8)} ${(r.median / base).toFixed(2).padStart(10)}`,
    );
    if (i > 0) previous = r.median;
  }
  const last = results[results.length - 1]!;
  console.log(
    `\ndetectFlow: ${Math.round(1_000_000 / last.median)} frames/s on one core (${events} events, ${(lineBytes / frames).toFixed(0)} B of line protocol per frame)`,
  );
  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'hotpath.json'),
    JSON.stringify(
      {
        benchmark: 'hotpath',
        date: new Date().toISOString(),
        node: process.version,
        frames,
        sources,
        features,
        window,
        engine: model.engine,
        rounds,
        stages: results,
        detectFlowFramesPerSecond: 1_000_000 / last.median,
        events,
        lineBytesPerFrame: lineBytes / frames,
      },
      null,
      2,
    ) + '\n',
  );
}

/** Runs a flow to completion. */
async function drain(flow: Observable<unknown>): Promise<void> {
  await lastValueFrom(flow, { defaultValue: null });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
