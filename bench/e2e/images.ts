/**
 * The image part of the end-to-end benchmark: 28x28 MNIST digits as ImageFrames (RAW_U8)
 * through the real Kafka and InfluxDB with a conv autoencoder.
 *
 * 1. Throughput: preload a 6-partition topic with N ImageFrames (real MNIST training digits,
 *    cycled), train a small conv-ae (filters [16, 32], latent 16, kernel 3: 61,329
 *    parameters) for 8 epochs on 2,000 of those digits into a temporary store, then in the
 *    same run
 *    - the plain kafkajs consume -> avsc decode -> avsc encode -> produce of the same topic
 *      (same bytes, no model, no InfluxDB), once before and once after the detector (the
 *      ratio is taken against their mean: one run's rate moves with the machine's load),
 *    - one `aestream detect` CLI child process from the start of the topic until its group has
 *      committed every offset (frames/s and CPU from its first frame read to the last frame its
 *      sinks acknowledged, as the passthrough counts to its last produce).
 * 2. Latency: a fresh topic fed at half the measured detect rate by a Java producer
 *    (bench/e2e/RateProducer.java) with frame.time = the moment it is sent and `maxWaitMs: 20`
 *    for 40 s, percentiles after the first 10 s (whole run printed too); the normal frames
 *    are held-out MNIST test digits, every
 *    `anomalyEvery`-th frame is one of them inverted (255 - pixel). The static threshold is
 *    measured, not guessed: the model scores the held-out digits and their inverted copies
 *    in this process, and the threshold is 1.1 x the highest normal score (checked to be
 *    below every inverted score), so exactly the inverted frames become AnomalyEvents. The
 *    anomaly topic uses LogAppendTime: event Kafka timestamp - eventTime = frame time to
 *    event appended on the broker.
 *
 * @example
 * const r = await imageBench(kafka, admin, dir, { frames: 150_000 });
 * printImageTable(r);
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { AnomalyEvent, ImageFrame } from '../../src/core/records';
import { loadPipeline } from '../../src/config/load-pipeline';
import { readIdxFile } from '../../src/connectors/files/idx-file';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { architectureOf } from '../../src/training/architecture';
import { createEngine, type EngineRequest } from '../../src/inference/inference-engine';
import { ModelStore } from '../../src/registry/model-store';
import { createScorer } from '../../src/inference/scorer';
import { layoutOf } from '../../src/inference/scoring';
import { trainAndStore } from '../../src/registry/train-and-store';
import {
  arg,
  brokers,
  flag,
  freePort,
  influxUrl,
  log,
  passthrough,
  percentile,
  percentiles,
  type Percentiles,
  produceAtFixedRate,
  readAll,
  root,
  rssMb,
  stamp,
  stateTopic,
  startDetectorProcess,
  stopProcess,
  waitCommitted,
} from './harness';
import { summarizeProfile, type ProfileSummary } from './profile-summary';

const SIDE = 28;
const PIXELS = SIDE * SIDE;

export interface ImageBenchOptions {
  /** Preloaded ImageFrames for the throughput run (default 150,000). */
  frames?: number;
  /** Distinct frame sources (camera ids, the Kafka key; default 120). */
  sources?: number;
  partitions?: number;
  /** Folder with the MNIST IDX files (default ../shared/datasets/mnist). */
  data?: string;
  /** Training digits and epochs of the conv-ae (default 2,000 and 8). */
  trainImages?: number;
  epochs?: number;
  /** Detector inference engine (default onnx, pinned: `auto` times the engines on a probe, which a busy machine skews). */
  engine?: EngineRequest;
  batchMaxSize?: number;
  /** Length of the latency run (default 40 s) and its warm-up left out of the percentiles (default 10 s). */
  latencySeconds?: number;
  warmupSeconds?: number;
  /** Produce rate of the latency run (default half the measured detect rate). */
  latencyRate?: number;
  /** Every this many live frames one is an inverted digit (default 50). */
  anomalyEvery?: number;
  skipPassthrough?: boolean;
  skipLatency?: boolean;
  /** Run the throughput detector under `node --cpu-prof` into this folder and summarize it. */
  profileDir?: string | null;
  /** Keep the topics (default: deleted at the end). */
  keep?: boolean;
  /** Scores to InfluxDB (default true; false only to see what the InfluxDB output costs). */
  influx?: boolean;
}

/**
 * The options from the command line; `prefix` lets a bigger bench take them as, e.g.,
 * `--images-frames 150000` (prefix 'images-').
 *
 * @example const opts = imageBenchOptionsFromArgs('images-');
 */
export function imageBenchOptionsFromArgs(prefix = ''): ImageBenchOptions {
  const text = (name: string): string => arg(prefix + name, '');
  const num = (name: string): number | undefined =>
    text(name) === '' ? undefined : Number(text(name));
  return {
    frames: num('frames'),
    sources: num('sources'),
    data: text('data') || undefined,
    trainImages: num('train-images'),
    epochs: num('epochs'),
    engine: (text('engine') || undefined) as EngineRequest | undefined,
    batchMaxSize: num('batch'),
    latencySeconds: num('latency-seconds'),
    warmupSeconds: num('warmup-seconds'),
    latencyRate: num('latency-rate'),
    anomalyEvery: num('anomaly-every'),
    skipPassthrough: flag(prefix + 'skip-passthrough'),
    skipLatency: flag(prefix + 'skip-latency'),
    profileDir: text('profile') || null,
    keep: flag(prefix + 'keep'),
    influx: !flag(prefix + 'skip-influx'),
  };
}

export interface ImageBenchResult {
  frames: number;
  sources: number;
  partitions: number;
  data: string;
  meanValueBytes: number;
  preload: { framesPerSecond: number; seconds: number };
  model: {
    architecture: string;
    parameters: number;
    trainImages: number;
    epochs: number;
    valLoss: number;
    trainSeconds: number;
    engine: EngineRequest;
    /** ms per batch of `batchMaxSize` frames of each engine on this model, in this process. */
    engineMsPerBatch: Record<string, number>;
  };
  batchMaxSize: number;
  /** False when the run left the InfluxDB output out (a diagnostic, not the benchmark). */
  influx: boolean;
  throughput: {
    /** Mean of the passthrough run before and the one after the detector. */
    passthroughFramesPerSecond: number;
    passthroughRuns: [number, number];
    /** CPU ms per 1,000 frames of the passthrough process (mean of both runs) and of the detector. */
    passthroughCpuMsPer1kFrames: number;
    detectCpuMsPer1kFrames: number;
    /** Passthrough CPU per frame / detector CPU per frame: the frames/s ratio at equal CPU. */
    cpuRatio: number;
    passthroughMBPerSecond: number;
    detectFramesPerSecond: number;
    detectMBPerSecond: number;
    detectVsPassthrough: number;
    target: number;
    detect: Awaited<ReturnType<typeof waitCommitted>>;
  };
  threshold: {
    value: number;
    normal: { count: number; p50: number; p99: number; max: number };
    inverted: { count: number; min: number; p50: number };
  } | null;
  latency: {
    rate: number;
    /** True when the rate is half the measured detect rate (not given). */
    halfOfDetect: boolean;
    seconds: number;
    /** The first seconds of the run, left out of the percentiles (not of `events`). */
    warmupSeconds: number;
    framesSent: number;
    anomaliesSent: number;
    /** The load generator's own CPU (cores) and how far it fell behind its schedule at worst. */
    generator: { cores: number; behindMaxMs: number };
    events: number;
    maxWaitMs: number;
    appendMinusFrameTimeMs: Percentiles;
    appendMinusFrameTimeWholeRunMs: Percentiles;
    detectionMinusFrameTimeMs: Percentiles;
    frameAppendMinusFrameTimeMs: Percentiles;
    rssMb: Array<{ s: number; rssMb: number }>;
  } | null;
  profile: ProfileSummary | null;
  totalSeconds: number;
}

interface Digits {
  images: Uint8Array;
  count: number;
}

/** The MNIST images of `file` in `dir`, or a clear error saying where they were expected. */
function readDigits(dir: string, file: string): Digits {
  const path = join(dir, file);
  if (!existsSync(path)) {
    throw new Error(
      `MNIST not found: ${path} does not exist. The image benchmark reads the MNIST IDX files ` +
        `(train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz); pass their folder with --data DIR`,
    );
  }
  const { shape, data } = readIdxFile(path);
  if (shape.length !== 3 || shape[1] !== SIDE || shape[2] !== SIDE) {
    throw new Error(`${path}: expected [n, 28, 28] images, got [${shape.join(', ')}]`);
  }
  return { images: data, count: shape[0] as number };
}

const digit = (d: Digits, i: number): Uint8Array =>
  d.images.subarray((i % d.count) * PIXELS, ((i % d.count) + 1) * PIXELS);

function inverted(img: Uint8Array): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = 255 - (img[i] as number);
  return out;
}

function imageFrame(source: string, time: number, img: Uint8Array): ImageFrame {
  return {
    source,
    time,
    width: SIDE,
    height: SIDE,
    channels: 1,
    encoding: 'RAW_U8',
    data: Buffer.from(img.buffer, img.byteOffset, img.length),
  };
}

interface Pipeline {
  file: string;
  group: string;
}

/** The image preset's blur radius, so the bench scores images as pipelines/images.yaml does. */
function presetBlur(): number {
  const model = loadPipeline(join(root, 'pipelines', 'images.yaml')).model;
  return model.kind === 'conv-ae' ? model.blur : 0;
}

function writePipeline(
  dir: string,
  name: string,
  o: {
    topic: string;
    events: string;
    store: string;
    threshold: string;
    database: string;
    engine: EngineRequest;
    batchMaxSize: number;
    epochs: number;
    influx: boolean;
  },
): Pipeline {
  const group = `bench-e2e-${name}-${stamp}`;
  const yaml = `name: ${name}
input:
  kafka: { brokers: '${brokers}', topic: ${o.topic}, group: ${group}, fromBeginning: true }
  schema: ${join(root, 'schemas', 'image-frame.avsc')}
frame: { kind: image, width: ${SIDE}, height: ${SIDE}, channels: 1 }
model:
  kind: conv-ae
  filters: [16, 32]
  latent: 16
  blur: ${presetBlur()}
  store: ${o.store}
  engine: ${o.engine}
  releases: { follow: false }
  train: { epochs: ${o.epochs}, batchSize: 64, seed: 7 }
batch: { maxSize: ${o.batchMaxSize}, maxWaitMs: 20 }
threshold: ${o.threshold}
output:
  kafka: { topic: ${o.events} }
${o.influx ? `  influx: { url: '${influxUrl}', database: ${o.database} }\n` : ''}  dlq: { topic: ${o.events}.dlq }
state: { topic: ${stateTopic(name)} }
`;
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return { file, group };
}

type Message = { key: string; value: Buffer; headers: Record<string, string>; timestamp?: number };

/** Preloads `n` ImageFrames (MNIST training digits, cycled, `sources` cameras round-robin). */
async function preload(kafka: Kafka, topic: string, n: number, sources: number, d: Digits) {
  const codec = createAvroCodec<ImageFrame>('ImageFrame');
  const sink = new KafkaSink({ brokers, topic, kafka, batchSize: 2_000 });
  await sink.connect();
  const started = performance.now();
  const t0 = Date.UTC(2026, 0, 1);
  let bytes = 0;
  let chunk: Message[] = [];
  let pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const source = `cam-${i % sources}`;
    const time = t0 + Math.floor(i / sources) * 1000;
    const value = codec.encode(imageFrame(source, time, digit(d, i)));
    bytes += value.length;
    chunk.push({ key: source, value, headers: { ...codec.headers }, timestamp: time });
    if (chunk.length === 2_000) {
      pending.push(sink.sendMany(chunk));
      chunk = [];
      if (pending.length >= 5) {
        await Promise.all(pending);
        pending = [];
      }
    }
  }
  pending.push(sink.sendMany(chunk));
  await Promise.all(pending);
  await sink.disconnect();
  const seconds = (performance.now() - started) / 1000;
  return { framesPerSecond: n / seconds, seconds, meanValueBytes: bytes / n };
}

/**
 * Scores held-out digits and their inverted copies with the stored model in this process;
 * the static threshold of the latency run is 1.1 x the highest normal score.
 */
async function measureThreshold(
  store: string,
  normal: Digits,
  count: number,
  engine: EngineRequest,
) {
  const stored = await new ModelStore(store).load();
  const eng = await createEngine(engine === 'auto' ? 'tfjs' : engine, stored);
  const scorer = createScorer(
    eng,
    stored.metadata.normalization,
    layoutOf(stored.autoencoder.architecture),
  );
  const score = async (imgs: Uint8Array[]) => {
    const out: number[] = [];
    for (let i = 0; i < imgs.length; i += 256) {
      const part = imgs.slice(i, i + 256);
      const x = new Float32Array(part.length * PIXELS);
      part.forEach((img, k) => x.set(img, k * PIXELS));
      const { scores } = await scorer.score(x, part.length);
      out.push(...scores);
    }
    return out.sort((a, b) => a - b);
  };
  const normalImgs = Array.from({ length: count }, (_, i) => digit(normal, i));
  const n = await score(normalImgs);
  const inv = await score(normalImgs.map(inverted));
  await eng.dispose();
  const max = n[n.length - 1] as number;
  const value = 1.1 * max;
  if ((inv[0] as number) <= value) {
    log(
      `images: WARNING the lowest inverted-digit score ${inv[0]} is not above the threshold ${value}: some anomalies will not become events`,
    );
  }
  return {
    value,
    normal: { count: n.length, p50: percentile(n, 50), p99: percentile(n, 99), max },
    inverted: { count: inv.length, min: inv[0] as number, p50: percentile(inv, 50) },
  };
}

/** ms per batch of `size` frames of each engine that loads, on the stored model (informative). */
async function engineTimings(store: string, d: Digits, size: number) {
  const stored = await new ModelStore(store).load();
  const x = new Float32Array(size * PIXELS);
  for (let k = 0; k < size; k++) {
    const img = digit(d, k);
    for (let i = 0; i < PIXELS; i++) x[k * PIXELS + i] = (img[i] as number) / 255;
  }
  const out: Record<string, number> = {};
  for (const name of ['tfjs', 'onnx'] as const) {
    try {
      const eng = await createEngine(name, stored);
      await eng.reconstruct(x, size);
      const started = performance.now();
      for (let i = 0; i < 5; i++) await eng.reconstruct(x, size);
      out[name] = +((performance.now() - started) / 5).toFixed(2);
      await eng.dispose();
    } catch (err) {
      log(`images: engine ${name} unavailable: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return out;
}

async function latencyRun(
  kafka: Kafka,
  admin: Admin,
  dir: string,
  o: {
    store: string;
    rate: number;
    seconds: number;
    warmupSeconds: number;
    threshold: number;
    normal: Digits;
    normalCount: number;
    anomalyEvery: number;
    partitions: number;
    sources: number;
    engine: EngineRequest;
    batchMaxSize: number;
    epochs: number;
    influx: boolean;
  },
) {
  const topic = `bench-e2e-img-live-${stamp}`;
  const events = `bench-e2e-img-live-events-${stamp}`;
  const appendTime = [{ name: 'message.timestamp.type', value: 'LogAppendTime' }];
  await admin.createTopics({
    topics: [
      { topic, numPartitions: o.partitions, configEntries: appendTime },
      { topic: events, numPartitions: o.partitions, configEntries: appendTime },
      { topic: `${events}.dlq`, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  const p = writePipeline(dir, 'img-live', {
    topic,
    events,
    store: o.store,
    threshold: `{ kind: static, value: ${o.threshold} }`,
    database: `bench_e2e_img_live_${stamp}`,
    engine: o.engine,
    batchMaxSize: o.batchMaxSize,
    epochs: o.epochs,
    influx: o.influx,
  });
  const codec = createAvroCodec<ImageFrame>('ImageFrame');
  const sink = new KafkaSink({ brokers, topic, kafka, batchSize: 2_000, lingerMs: 2 });
  await sink.connect();
  const imageOf = (i: number) => {
    const img = digit(o.normal, i % o.normalCount);
    return i % o.anomalyEvery === o.anomalyEvery - 1 ? inverted(img) : img;
  };
  const message = (i: number, time: number): Message => {
    const source = `live-${i % o.sources}`;
    return {
      key: source,
      value: codec.encode(imageFrame(source, time, imageOf(i))),
      headers: { ...codec.headers },
    };
  };
  // Warm-up: the detector joins, picks its engine and scores these before the timed phase.
  const prime = 2_000;
  const old = Date.now() - 3_600_000;
  await sink.sendMany(Array.from({ length: prime }, (_, i) => message(i, old)));
  await sink.disconnect();
  const child = startDetectorProcess(p.file, null);
  await waitCommitted(admin, p.group, topic, prime, child);
  log(
    `images latency: ${prime} warm-up frames committed; producing at ${Math.round(o.rate)}/s for ${o.seconds}s`,
  );

  // The frames come from a Java producer (see produceAtFixedRate), cycling through the
  // frames after the warm-up ones; each frame's time is set as it is sent.
  const templates = o.normalCount * 2;
  const rss: Array<{ s: number; rssMb: number }> = [];
  let phaseStart = Date.now();
  const sample = () =>
    rss.push({ s: Math.round((Date.now() - phaseStart) / 1000), rssMb: rssMb(child.pid!) });
  const generator = await produceAtFixedRate({
    dir,
    topic,
    templates,
    frame: (i, time) => {
      const m = message(prime + i, time);
      return { key: m.key as string, value: m.value };
    },
    headers: codec.headers,
    rate: o.rate,
    seconds: o.seconds,
    onStart: (at) => {
      phaseStart = at;
      sample();
    },
    onTick: sample,
  });
  const sent = generator.sent;
  let anomalies = 0;
  for (let j = 0; j < sent; j++) {
    const i = prime + (j % templates);
    if (i % o.anomalyEvery === o.anomalyEvery - 1) anomalies++;
  }
  await waitCommitted(admin, p.group, topic, prime + sent, child);
  await stopProcess(child);

  // Events: Kafka timestamp = broker append time (LogAppendTime topic).
  const eventCodec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
  // After the warm-up (the first seconds carry the start of the producer and the detector's
  // first events), and over the whole run.
  const measuredFrom = phaseStart + o.warmupSeconds * 1000;
  const appendLat: number[] = [];
  const appendLatAll: number[] = [];
  const detectLat: number[] = [];
  await readAll(kafka, admin, events, `bench-e2e-img-lat-${stamp}`, (value, timestamp) => {
    const e = eventCodec.decode(value, {});
    const eventTime = Number(e.eventTime);
    if (eventTime >= phaseStart) appendLatAll.push(timestamp - eventTime);
    if (eventTime >= measuredFrom) {
      appendLat.push(timestamp - eventTime);
      detectLat.push(Number(e.detectionTime) - eventTime);
    }
  });
  // The frames' own append times: how long they took to reach the broker (producer side).
  const inputLat: number[] = [];
  await readAll(kafka, admin, topic, `bench-e2e-img-in-${stamp}`, (value, timestamp) => {
    const f = codec.decode(value, {});
    if (f.time >= measuredFrom) inputLat.push(timestamp - f.time);
  });
  for (const xs of [appendLat, appendLatAll, detectLat, inputLat]) xs.sort((a, b) => a - b);
  return {
    rate: Math.round(o.rate),
    seconds: o.seconds,
    warmupSeconds: o.warmupSeconds,
    framesSent: sent,
    anomaliesSent: anomalies,
    generator: { cores: generator.cores, behindMaxMs: generator.behindMaxMs },
    events: appendLatAll.length,
    maxWaitMs: 20,
    appendMinusFrameTimeMs: percentiles(appendLat),
    appendMinusFrameTimeWholeRunMs: percentiles(appendLatAll),
    detectionMinusFrameTimeMs: percentiles(detectLat),
    frameAppendMinusFrameTimeMs: percentiles(inputLat),
    rssMb: rss,
    topics: [topic, events, `${events}.dlq`],
  };
}

/**
 * The image benchmark (see the file comment). `dir` is a scratch folder (pipelines, model
 * store). Topics it creates are deleted at the end unless `keep`.
 *
 * @example
 * const result = await imageBench(kafka, admin, mkdtempSync(join(tmpdir(), 'img-')), { frames: 20_000 });
 */
export async function imageBench(
  kafka: Kafka,
  admin: Admin,
  dir: string,
  opts: ImageBenchOptions = {},
): Promise<ImageBenchResult> {
  const frames = opts.frames ?? 150_000;
  const sources = opts.sources ?? 120;
  const partitions = opts.partitions ?? 6;
  const data = opts.data ?? join(root, '..', 'shared', 'datasets', 'mnist');
  const trainImages = opts.trainImages ?? 2_000;
  const epochs = opts.epochs ?? 8;
  const engine = opts.engine ?? 'onnx';
  const batchMaxSize = opts.batchMaxSize ?? 256;
  const anomalyEvery = opts.anomalyEvery ?? 50;
  const influx = opts.influx ?? true;
  const t0 = performance.now();

  const train = readDigits(data, 'train-images-idx3-ubyte.gz');
  const test = readDigits(data, 't10k-images-idx3-ubyte.gz');
  const store = join(dir, 'image-models');
  const input = `bench-e2e-img-in-${stamp}`;
  const rawOut = `bench-e2e-img-raw-${stamp}`;
  const events = `bench-e2e-img-events-${stamp}`;
  const topics = [
    input,
    rawOut,
    events,
    `${events}.dlq`,
    stateTopic('img-e2e'),
    stateTopic('img-live'),
  ];
  await admin.createTopics({
    topics: [input, rawOut, events]
      .map((topic) => ({ topic, numPartitions: partitions }))
      .concat([{ topic: `${events}.dlq`, numPartitions: 1 }]),
    waitForLeaders: true,
  });

  const pre = await preload(kafka, input, frames, sources, train);
  log(
    `images: preloaded ${frames} MNIST frames in ${pre.seconds.toFixed(1)}s (${Math.round(pre.framesPerSecond)}/s), mean value ${pre.meanValueBytes.toFixed(1)} B`,
  );

  const pipeline = writePipeline(dir, 'img-e2e', {
    topic: input,
    events,
    store,
    threshold: '{ kind: spot, risk: 1.0e-3, calibration: 1000, perKey: false }',
    database: `bench_e2e_img_${stamp}`,
    engine,
    batchMaxSize,
    epochs,
    influx,
  });
  const config = loadPipeline(pipeline.file);
  const trainStarted = performance.now();
  const trained = await trainAndStore(
    config,
    {
      raw: Float32Array.from(train.images.subarray(0, trainImages * PIXELS)),
      count: trainImages,
      source: `${data}/train-images-idx3-ubyte.gz (first ${trainImages})`,
    },
    { epochs, store },
  );
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  const arch = architectureOf(config.frame, config.model);
  const parameters = (await new ModelStore(store).load()).autoencoder.model.countParams();
  log(
    `images: trained conv-ae v${trained.version} (${parameters} parameters) on ${trainImages} digits, ${trained.result.epochs} epochs in ${trainSeconds.toFixed(1)}s, val loss ${trained.result.valLoss.toFixed(4)}`,
  );
  const engineMsPerBatch = await engineTimings(store, test, batchMaxSize);
  log(
    `images: ms per batch of ${batchMaxSize} in this process: ${JSON.stringify(engineMsPerBatch)}`,
  );

  // The passthrough runs before and after the detector: on this shared machine one run's
  // rate moves with the load, and the ratio is taken against the mean of the two.
  const runPassthrough = async (round: number) => {
    if (opts.skipPassthrough) return { framesPerSecond: NaN, cpuMsPer1kFrames: NaN };
    const r = await passthrough(kafka, input, rawOut, frames, {
      schema: 'image-frame.avsc',
      partitions,
      group: `bench-e2e-img-raw${round}-${stamp}`,
    });
    log(
      `images: kafkajs passthrough (${round}) ${Math.round(r.framesPerSecond)}/s, ${r.cpuMsPer1kFrames.toFixed(1)} CPU ms per 1,000 frames`,
    );
    return r;
  };
  const passBefore = await runPassthrough(1);

  if (opts.profileDir) mkdirSync(opts.profileDir, { recursive: true });
  const detectPort = await freePort();
  const child = startDetectorProcess(pipeline.file, opts.profileDir ?? null, String(detectPort));
  const det = await waitCommitted(admin, pipeline.group, input, frames, child, detectPort);
  await stopProcess(child);
  log(
    `images: aestream detect ${Math.round(det.framesPerSecond)}/s, ${det.cpuMsPer1kFrames.toFixed(1)} CPU ms per 1,000 frames (startup ${det.startupSeconds.toFixed(1)}s, peak RSS ${det.peakRssMb.toFixed(0)} MB)`,
  );
  const passAfter = await runPassthrough(2);
  const raw = {
    framesPerSecond: (passBefore.framesPerSecond + passAfter.framesPerSecond) / 2,
    cpuMsPer1kFrames: (passBefore.cpuMsPer1kFrames + passAfter.cpuMsPer1kFrames) / 2,
  };
  const profile = opts.profileDir ? summarizeProfile(opts.profileDir) : null;

  let threshold: ImageBenchResult['threshold'] = null;
  let latency: ImageBenchResult['latency'] = null;
  const liveTopics: string[] = [];
  if (!opts.skipLatency) {
    const normalCount = Math.min(2_000, test.count);
    threshold = await measureThreshold(store, test, normalCount, engine);
    log(
      `images: threshold ${threshold.value.toExponential(3)} (normal max ${threshold.normal.max.toExponential(3)}, inverted min ${threshold.inverted.min.toExponential(3)})`,
    );
    const { topics: lt, ...lat } = await latencyRun(kafka, admin, dir, {
      store,
      rate: opts.latencyRate ?? det.framesPerSecond / 2,
      seconds: opts.latencySeconds ?? 40,
      warmupSeconds: opts.warmupSeconds ?? 10,
      threshold: threshold.value,
      normal: test,
      normalCount,
      anomalyEvery,
      partitions,
      sources,
      engine,
      batchMaxSize,
      epochs,
      influx,
    });
    latency = { ...lat, halfOfDetect: opts.latencyRate === undefined };
    liveTopics.push(...lt);
    log(
      `images: latency at ${lat.rate}/s after ${lat.warmupSeconds}s: p50 ${lat.appendMinusFrameTimeMs.p50} p95 ${lat.appendMinusFrameTimeMs.p95} p99 ${lat.appendMinusFrameTimeMs.p99} ms, ${lat.events} events of ${lat.anomaliesSent} inverted frames`,
    );
  }
  if (!opts.keep)
    await admin.deleteTopics({ topics: [...topics, ...liveTopics] }).catch(() => undefined);

  const mb = (fps: number) => (fps * pre.meanValueBytes) / 1e6;
  return {
    frames,
    sources,
    partitions,
    data,
    meanValueBytes: pre.meanValueBytes,
    preload: { framesPerSecond: pre.framesPerSecond, seconds: pre.seconds },
    model: {
      architecture: `conv-ae ${arch.kind === 'conv-ae' ? `filters [${arch.filters.join(', ')}], latent ${arch.latent}, kernel ${arch.kernel}` : ''}`,
      parameters,
      trainImages,
      epochs: trained.result.epochs,
      valLoss: trained.result.valLoss,
      trainSeconds,
      engine,
      engineMsPerBatch,
    },
    batchMaxSize,
    influx,
    throughput: {
      passthroughFramesPerSecond: raw.framesPerSecond,
      passthroughRuns: [passBefore.framesPerSecond, passAfter.framesPerSecond],
      passthroughCpuMsPer1kFrames: raw.cpuMsPer1kFrames,
      detectCpuMsPer1kFrames: det.cpuMsPer1kFrames,
      cpuRatio: raw.cpuMsPer1kFrames / det.cpuMsPer1kFrames,
      passthroughMBPerSecond: mb(raw.framesPerSecond),
      detectFramesPerSecond: det.framesPerSecond,
      detectMBPerSecond: mb(det.framesPerSecond),
      detectVsPassthrough: det.framesPerSecond / raw.framesPerSecond,
      target: 0.8,
      detect: det,
    },
    threshold,
    latency,
    profile,
    totalSeconds: (performance.now() - t0) / 1000,
  };
}

/** Prints the image tables: throughput (frames/s, MB/s, vs passthrough) and latency percentiles. */
export function printImageTable(r: ImageBenchResult): void {
  const t = r.throughput;
  const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  console.log(
    `\nimages: ${r.frames} ImageFrames (MNIST 28x28 RAW_U8, ${r.sources} sources), ${r.partitions} partitions, mean value ${r.meanValueBytes.toFixed(1)} B; ` +
      `model ${r.model.architecture} (${r.model.parameters} parameters, ${r.model.epochs} epochs on ${r.model.trainImages} digits), engine ${r.model.engine}, batch ${r.batchMaxSize}`,
  );
  console.log(`  ${'what'.padEnd(66)} frames/s       MB/s   vs passthrough`);
  const rows: Array<[string, number, number]> = [
    [
      'aestream KafkaSink (the preload)',
      r.preload.framesPerSecond,
      (r.preload.framesPerSecond * r.meanValueBytes) / 1e6,
    ],
    [
      `kafkajs consume->decode->encode->produce (mean of ${fmt(t.passthroughRuns[0])}, ${fmt(t.passthroughRuns[1])})`,
      t.passthroughFramesPerSecond,
      t.passthroughMBPerSecond,
    ],
    [
      `aestream detect (conv-ae, SPOT, Kafka${r.influx ? ', Influx' : ', NO Influx'})`,
      t.detectFramesPerSecond,
      t.detectMBPerSecond,
    ],
  ];
  for (const [name, fps, mbs] of rows) {
    console.log(
      `  ${name.padEnd(66)} ${fmt(fps).padStart(8)} ${fmt(mbs, 1).padStart(10)} ${fmt(fps / t.passthroughFramesPerSecond, 2).padStart(16)}`,
    );
  }
  console.log(
    `  detect / passthrough = ${fmt(t.detectVsPassthrough, 2)} (target >= ${t.target}: ${t.detectVsPassthrough >= t.target ? 'met' : 'NOT met'}); detect startup ${fmt(t.detect.startupSeconds, 1)} s, peak RSS ${fmt(t.detect.peakRssMb)} MB; ` +
      `engine ms per batch of ${r.batchMaxSize}: ${Object.entries(r.model.engineMsPerBatch)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
  );
  console.log(
    `  CPU ms per 1,000 frames: passthrough ${fmt(t.passthroughCpuMsPer1kFrames, 1)}, detect ${fmt(t.detectCpuMsPer1kFrames, 1)} ` +
      `(ratio ${fmt(t.cpuRatio, 2)}: the frames/s ratio at equal CPU, less sensitive to the machine's load)`,
  );
  if (r.latency && r.threshold) {
    const l = r.latency;
    console.log(
      `\nimages latency at ${l.rate} frames/s (${l.halfOfDetect ? 'half the detect rate' : 'set by --latency-rate'}), maxWaitMs ${l.maxWaitMs}, ${l.seconds}s, ${l.framesSent} frames, ` +
        `${l.anomaliesSent} inverted, ${l.events} events; static threshold ${r.threshold.value.toExponential(3)} = 1.1 x max normal score ` +
        `(normal p50 ${r.threshold.normal.p50.toExponential(2)}, max ${r.threshold.normal.max.toExponential(2)}; inverted min ${r.threshold.inverted.min.toExponential(2)})`,
    );
    console.log(
      `  measure (after the first ${l.warmupSeconds}s)       p50     p95     p99     max (ms)`,
    );
    for (const [name, v] of [
      ['broker append time - frame time', l.appendMinusFrameTimeMs],
      ['  the same, whole run', l.appendMinusFrameTimeWholeRunMs],
      ['detectionTime - frame time', l.detectionMinusFrameTimeMs],
      ['frame appended - frame time', l.frameAppendMinusFrameTimeMs],
    ] as const) {
      console.log(
        `  ${name.padEnd(34)} ${[v.p50, v.p95, v.p99, v.max].map((x) => String(x).padStart(7)).join(' ')}`,
      );
    }
  }
  if (r.profile) {
    console.log('\nimage detector CPU profile (self time by area):');
    for (const a of r.profile.areas.slice(0, 12))
      console.log(`  ${a.area.padEnd(36)} ${a.percent.toFixed(1).padStart(5)} %`);
  }
}
