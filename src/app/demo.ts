import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAvroCodec } from '../codecs/avro-codec';
import { windowsOf } from '../operators/sensor-windows';
import type { AnomalyEvent, Frame, SensorFrame } from '../core/records';
import type { SensorFrameConfig } from '../core/frame-config';
import type { Kafka } from 'kafkajs';
import { loadPipeline } from '../config/load-pipeline';
import type { PipelineConfig } from '../config/pipeline-schema';
import { demoReport, type SourceTrace } from '../eval/demo-report';
import { AeError, ErrorCodes } from '../core/errors';
import { matchEvents, type MatchResult } from '../eval/event-matching';
import { SyntheticSource } from '../connectors/synthetic-source';
import { consumerLag } from '../connectors/kafka/consumer-lag';
import { createKafka } from '../connectors/kafka/kafka-client';
import { kafkaSinkFrom } from '../connectors/connector-factory';
import type { Judged } from '../core/model-input';
import { startDetector } from './detect';
import { detectInMemory } from './in-memory-detector';
import { closeStackOf } from './wiring';
import { trainAndStore } from '../registry/train-and-store';
import { scoreHeldBack } from '../inference/held-back-scores';
import type { EpochReport } from '../training/trainer';

/** The package's own folder: the demo pipeline and schemas ship with it. */
const PACKAGE_DIR = resolve(__dirname, '..', '..');

export interface DemoOptions {
  seed?: number;
  sources?: number;
  /** Readings per source. */
  length?: number;
  /** Folder of the report and the trained model. */
  out?: string;
  onTrainStart?: (info: { windows: number; epochs: number }) => void;
  onEpoch?: (report: EpochReport) => void;
  onProgress?: (done: number, total: number, anomalies: number) => void;
  /** Each anomaly event; `incident` is true for the first event of a run of a source's events. */
  onEvent?: (event: AnomalyEvent, incident: boolean) => void;
  /** Run through a real broker (and InfluxDB when influxUrl is set) instead of in-process. */
  kafka?: { brokers: string; influxUrl?: string };
}

export interface DemoSummary {
  frames: number;
  sources: number;
  scored: number;
  events: number;
  /** Runs of events of one source, each less than a window apart: what an operator would look at. */
  incidents: number;
  match: MatchResult;
  trainSeconds: number;
  streamSeconds: number;
  framesPerSecond: number;
  modelVersion: string;
  engine: string;
  backend: string;
  reportPath: string;
  /** Where the frames went: in-process, or a Kafka broker (and InfluxDB). */
  via: string;
}

/**
 * The embedded default: a seeded synthetic multi-sensor stream with injected anomalies
 * (spikes, level shifts, drifts, noise bursts), a first model trained on its opening
 * stretch, then the whole stream through the same detector flow as `aestream detect` with
 * in-process topic and sinks. Ends with event-level precision/recall against the injected
 * anomalies and an HTML report.
 *
 * @example const summary = await runDemo({ out: 'demo-report' }); summary.match.recall // 0.9..
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const out = resolve(options.out ?? 'demo-report');
  const base = loadPipeline(join(PACKAGE_DIR, 'pipelines', 'demo.yaml'), { baseDir: PACKAGE_DIR });
  const config: Readonly<PipelineConfig> = {
    ...base,
    model: { ...base.model, store: join(out, 'models') },
  };
  if (config.frame.kind !== 'sensor') throw new Error('the demo pipeline has sensor frames');
  const frame = config.frame;
  const length = options.length ?? 5000;
  // The first 25 % of each source trains the model; the thresholds calibrate on the
  // readings after it (calibration windows of unseen normal data); anomalies come later.
  const trainReadings = Math.floor(length * 0.25);
  const gen = demoSource(config, frame, options, length, trainReadings);
  const trainSeconds = await trainOnOpening(config, frame, gen, trainReadings, options);

  // 2. Stream every frame through the detector, in event-time order. The training stretch
  // is not streamed: scores of data the model was fitted on are too low to calibrate with.
  const frames = [...gen.frames()].filter((f) => (f.seq ?? 0) >= trainReadings);
  const tailMs = frame.window * 60_000;
  const seen = new DemoObserver(gen.sources, frames.length, tailMs, options);
  const streamStarted = Date.now();
  const run = options.kafka
    ? await streamThroughKafka(config, frames, options.kafka, seen)
    : await detectInMemory(config, frames, seen).then((r) => ({
        model: r.model,
        deadLetters: r.deadLetters.length,
      }));
  const streamSeconds = (Date.now() - streamStarted) / 1000;
  const model = run.model;

  // 3. Score the events against what was injected, and write the report.
  const match = matchEvents(gen.anomalies, seen.events, tailMs);
  const summary: DemoSummary = {
    frames: frames.length,
    sources: gen.sources.length,
    scored: seen.scored,
    events: seen.events.length,
    incidents: seen.incidents,
    match,
    trainSeconds,
    streamSeconds,
    framesPerSecond: frames.length / Math.max(streamSeconds, 1e-3),
    via: options.kafka
      ? `Kafka at ${options.kafka.brokers}${options.kafka.influxUrl ? ` and InfluxDB at ${options.kafka.influxUrl}` : ''}`
      : 'in-process topic and sinks',
    modelVersion: model.version,
    engine: model.engine,
    backend: model.backend,
    reportPath: join(out, 'report.html'),
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(
    summary.reportPath,
    demoReport({
      title: 'aestream demo',
      summary: summaryRows(summary, run.deadLetters),
      match,
      traces: [...seen.traces.values()],
      anomalies: gen.anomalies,
    }),
  );
  writeFileSync(
    join(out, 'summary.json'),
    JSON.stringify({ ...summary, match: { ...match, perAnomaly: undefined } }, null, 2),
  );
  return summary;
}

/**
 * The demo's seeded synthetic stream; refused when `length` leaves no room for training
 * and threshold calibration before the first anomaly.
 */
function demoSource(
  config: Readonly<PipelineConfig>,
  frame: SensorFrameConfig,
  options: DemoOptions,
  length: number,
  trainReadings: number,
): SyntheticSource {
  const calibration = 'calibration' in config.threshold ? config.threshold.calibration : 0;
  const quiet = trainReadings + frame.window + calibration + 50;
  if (quiet >= length * 0.8) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `--length ${length} is too short: training and threshold calibration need ${quiet} readings per sensor before the first anomaly`,
    );
  }
  return new SyntheticSource({
    seed: options.seed ?? 7,
    sources: options.sources ?? 6,
    length,
    features: frame.features,
    seasons: [
      { period: 240, amplitude: 1 },
      { period: 40, amplitude: 0.3 },
    ],
    noise: 0.08,
    anomaliesPerSource: 3,
    magnitude: 2.5,
    warmup: quiet,
  });
}

/** 1. Trains the first model on the opening stretch of every source; returns the seconds it took. */
async function trainOnOpening(
  config: Readonly<PipelineConfig>,
  frame: SensorFrameConfig,
  gen: SyntheticSource,
  trainReadings: number,
  options: DemoOptions,
): Promise<number> {
  const { raw, count } = windowsOf(
    gen.sources.map((source) => firstReadings(gen.series(source), trainReadings)),
    { window: frame.window, stride: 1, features: frame.features },
  );
  options.onTrainStart?.({ windows: count, epochs: config.model.train.epochs });
  const started = Date.now();
  await trainAndStore(
    config,
    {
      raw,
      count,
      source: `synthetic seed ${options.seed ?? 7}: first ${trainReadings} readings of each source`,
    },
    {
      scoreHeldBack: scoreHeldBack(config.model),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
    },
  );
  return (Date.now() - started) / 1000;
}

/** What the demo sees of the stream: events, incidents, and each source's trace for the report. */
class DemoObserver implements StreamHooks {
  readonly events: AnomalyEvent[] = [];
  readonly traces: Map<string, SourceTrace>;
  incidents = 0;
  scored = 0;
  private done = 0;
  private readonly lastEvent = new Map<string, number>();

  constructor(
    sources: readonly string[],
    private readonly total: number,
    private readonly tailMs: number,
    private readonly options: DemoOptions,
  ) {
    this.traces = new Map(
      sources.map((s) => [
        s,
        { source: s, times: [], values: [], scores: [], thresholds: [], events: [] },
      ]),
    );
  }

  readonly onEvent = (e: AnomalyEvent): void => {
    this.events.push(e);
    this.traces.get(e.source)?.events.push(e.eventTime);
    const previous = this.lastEvent.get(e.source);
    const incident = previous === undefined || e.eventTime - previous > this.tailMs;
    if (incident) this.incidents++;
    this.lastEvent.set(e.source, e.eventTime);
    this.options.onEvent?.(e, incident);
  };

  readonly onScored = (batch: readonly Judged<Frame>[]): void => {
    for (const j of batch) {
      this.done += j.covered.length;
      this.scored++;
      const f = j.last.value as SensorFrame;
      const t = this.traces.get(j.key)!;
      t.times.push(f.time);
      t.values.push(f.values);
      t.scores.push(j.score);
      t.thresholds.push(j.threshold);
    }
    this.options.onProgress?.(this.done, this.total, this.events.length);
  };
}

/** The summary as label/value rows, shared by the report and the terminal. */
export function summaryRows(s: DemoSummary, deadLetters = 0): Array<[string, string]> {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    [
      'frames streamed',
      `${s.frames} from ${s.sources} sources (${s.scored} scored, ${deadLetters} dead letters)`,
    ],
    ['anomalies injected / found', `${s.match.injected} / ${s.match.found}`],
    [
      'anomaly events',
      `${s.events} in ${s.incidents} incidents (${s.match.trueEvents} on an anomaly, ${s.match.falseEvents} false)`,
    ],
    ['recall (anomalies found)', pct(s.match.recall)],
    ['precision (events on an anomaly)', pct(s.match.precision)],
    ['throughput', `${Math.round(s.framesPerSecond).toLocaleString('en')} frames/s`],
    [
      'model',
      `${s.modelVersion} on ${s.engine} (${s.backend}), trained in ${s.trainSeconds.toFixed(1)} s`,
    ],
    ['frames went through', s.via],
  ];
}

interface StreamHooks {
  onEvent: (event: AnomalyEvent) => void;
  onScored: (batch: readonly Judged<Frame>[]) => void;
}

interface StreamRun {
  model: { version: string; engine: string; backend: string };
  deadLetters: number;
}

/**
 * The frames through a real broker: produced to a fresh input topic of this run, scored by
 * `startDetector` (the code of `aestream detect`) until every offset is committed; the
 * run's topics are deleted afterwards. Scores go to InfluxDB too when a URL is given.
 */
async function streamThroughKafka(
  base: Readonly<PipelineConfig>,
  frames: readonly SensorFrame[],
  target: { brokers: string; influxUrl?: string },
  hooks: StreamHooks,
): Promise<StreamRun> {
  const run = `demo-${Date.now().toString(36)}`;
  // The state topic is the run's own too: a shared one would carry the last run's sources
  // into this one, whose frames would then count as already scored and be skipped.
  const topics = {
    input: `${run}.frames`,
    anomalies: `${run}.anomalies`,
    dlq: `${run}.dlq`,
    state: `${run}.state`,
  };
  const config = demoRunConfig(base, run, topics, target);
  const kafka = createKafka({ brokers: target.brokers, clientId: 'aestream-demo' });
  const admin = kafka.admin();
  const stack = closeStackOf(config.name);
  try {
    stack.defer('kafka admin', () => admin.disconnect());
    await admin.connect();
    stack.defer('demo topics', async () => {
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      await admin.deleteGroups([run]).catch(() => undefined);
    });
    await admin.createTopics({
      // The detector makes its state topic itself (compacted).
      topics: [topics.input, topics.anomalies, topics.dlq].map((topic) => ({
        topic,
        numPartitions: 3,
      })),
      waitForLeaders: true,
    });
    await produceFrames(kafka, target.brokers, topics.input, frames);
    const detector = await startDetector(config, {
      metricsPort: null,
      onEvent: hooks.onEvent,
      onScored: hooks.onScored,
    });
    stack.defer('detector', () => detector.stop(), 60_000);
    // Offsets are committed once the sinks acked: no lag left means every frame is scored and written.
    while ((await consumerLag(admin, run, topics.input)).some((p) => p.lag > 0)) {
      const failed = await Promise.race([
        detector.done.then(() => true),
        new Promise((r) => setTimeout(r, 250, false)),
      ]);
      if (failed) throw new Error('the detector stopped before it scored every frame');
    }
    return { model: detector.model, deadLetters: 0 };
  } finally {
    await stack.close();
  }
}

/** The demo pipeline pointed at a run's own topics on a real broker (and InfluxDB). */
function demoRunConfig(
  base: Readonly<PipelineConfig>,
  run: string,
  topics: { input: string; anomalies: string; dlq: string; state: string },
  target: { brokers: string; influxUrl?: string },
): Readonly<PipelineConfig> {
  return {
    ...base,
    input: {
      ...base.input,
      kafka: { ...base.input.kafka, brokers: target.brokers, topic: topics.input, group: run },
    },
    model: { ...base.model, releases: { ...base.model.releases, follow: false } },
    state: { ...base.state, topic: topics.state },
    output: {
      ...base.output,
      kafka: { ...base.output.kafka, topic: topics.anomalies },
      dlq: { ...base.output.dlq, topic: topics.dlq },
      ...(target.influxUrl
        ? { influx: { url: target.influxUrl, database: 'aestream', batchSize: 5000 } }
        : {}),
    },
  };
}

/** Produces the frames to `topic`, keyed by source, and waits until the broker has them all. */
async function produceFrames(
  kafka: Kafka,
  brokers: string,
  topic: string,
  frames: readonly SensorFrame[],
): Promise<void> {
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const sink = kafkaSinkFrom(brokers, { topic, batchSize: 5000 }, kafka);
  await sink.connect();
  try {
    await Promise.all(
      frames.map((f) =>
        sink.send({
          key: f.source,
          value: codec.encode(f),
          headers: codec.headers,
          timestamp: f.time,
        }),
      ),
    );
  } finally {
    await sink.disconnect();
  }
}

/** The values of a series' first `n` readings. */
export function* firstReadings(series: Iterable<SensorFrame>, n: number): Generator<number[]> {
  let i = 0;
  for (const reading of series) {
    if (i++ >= n) return;
    yield reading.values;
  }
}
