import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import type { Admin, IHeaders, Kafka } from 'kafkajs';
import { stringify } from 'yaml';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import { loadPipeline } from '../../src/config/load-pipeline';
import type { PipelineConfig } from '../../src/config/pipeline-schema';
import { createKafka } from '../../src/connectors/kafka/kafka-client';
import { KafkaSink, type OutboundMessage } from '../../src/connectors/kafka/kafka-sink';
import type { AnomalyEvent, Frame } from '../../src/core/records';
import { trainFromFile, type TrainedVersion } from '../../src/registry/train-and-store';
import { scoreHeldBack } from '../../src/inference/held-back-scores';
import { builtCli, spawnDetector, type DetectorProcess } from './detector-process';
import { uniqueName } from './names';
import { merge, type PipelineOverrides } from './pipeline-config';
import { INFLUX_URL, KAFKA_BROKERS } from './stack';
import { waitFor } from './wait-for';

export type { PipelineOverrides };

export interface FixtureOptions {
  /** Partitions of the input, anomaly and dead-letter topics (one number: all three). */
  partitions?: number | { input?: number; anomalies?: number; dlq?: number };
  /** A database of the test's own, an InfluxDB client on it and `output.influx` in the file. */
  influx?: boolean;
  /** Train a tiny model (`train()` with these options) before the tests run. */
  model?: boolean | TrainSpec;
  /**
   * Pipeline-file sections merged into the defaults (a section of another `kind` replaces);
   * a function gets the fixture's names and folder.
   */
  yaml?: PipelineOverrides | ((names: FixtureNames) => PipelineOverrides);
  /** Services other than the shared stack (a private stack): brokers and InfluxDB URL. */
  stack?: { brokers: string[]; influxUrl: string };
  /** Create the pipeline topics (default true); false for tests that make their own. */
  createTopics?: boolean;
  /** More topics by role and partitions, named `<name>.<role>` (e.g. `{ latent: 3 }`). */
  topics?: Record<string, number>;
}

/** Training data for `train()`: `rows` readings of `value(i)` (default a sine), one column. */
export interface TrainSpec {
  rows?: number;
  value?: (i: number) => number;
  seed?: number;
  epochs?: number;
  /** The pipeline the model is trained for (default the fixture's). */
  config?: PipelineConfig;
  /** Store the model's scores on held-back windows, as `aestream train` does. */
  calibrate?: boolean;
}

export type Topics = {
  input: string;
  anomalies: string;
  dlq: string;
  releases: string;
  control: string;
} & Record<string, string>;

export interface FixtureNames {
  name: string;
  dir: string;
  topics: PipelineFixture['topics'];
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: IHeaders;
}

export interface PipelineFixture {
  /** Unique per run: prefixes every topic, group and the database. */
  name: string;
  /** A temp folder of the test's own (model stores, pipeline files), removed by teardown. */
  dir: string;
  /** `control` is not in the pipeline file unless a test puts it there. */
  topics: Topics;
  /** The detectors' consumer group. */
  group: string;
  brokers: string[];
  kafka: Kafka;
  admin: Admin;
  /** Set with `influx: true`. */
  database: string;
  influx: InfluxDB;
  influxUrl: string;
  /** The pipeline file (written in `dir`) and its loaded config. */
  file: string;
  config: PipelineConfig;
  /** Another pipeline file of this fixture: the defaults, `options.yaml`, then `overrides`. */
  pipeline(
    overrides?: PipelineOverrides,
    fileName?: string,
  ): { file: string; config: PipelineConfig };
  /** Trains a model version into the pipeline's store from a one-column CSV. */
  train(spec?: TrainSpec): Promise<TrainedVersion>;
  /** Produces frames (Avro, keyed by source, event time as timestamp) or raw messages. */
  produce(items: ReadonlyArray<Frame | OutboundMessage>, topic?: string): Promise<void>;
  /** Points of `measurement` (count of `field`) in the database; 0 while there are none. */
  points(measurement?: string, field?: string): Promise<number>;
  /** Sum of the group's committed offsets on the topic (default: detectors, input). */
  committed(group?: string, topic?: string): Promise<number>;
  /** The topic's end offsets and the group's committed offsets, by partition. */
  offsets(topic?: string, group?: string): Promise<{ ends: number[]; committed: number[] }>;
  /** Sum of the topic's end offsets. */
  endOffset(topic: string): Promise<number>;
  /** Every message on the topics up to their end offsets now. */
  read(topics: string[]): Promise<ReadMessage[]>;
  /** Every anomaly event on the anomaly topic (default) up to its end offset now. */
  events(topic?: string): Promise<AnomalyEvent[]>;
  /** A new topic of this fixture (deleted by teardown). */
  topic(partitions: number, suffix?: string): Promise<string>;
  /** `aestream detect` as its own process on a pipeline file; killed by teardown. */
  spawn(file?: string): DetectorProcess;
  /** Registers something to stop at teardown (stopped in reverse order of registration). */
  track<T extends { stop(): Promise<unknown> } | undefined>(thing: T): T;
  /** Stops what was tracked, deletes the topics and the database, removes `dir`. */
  teardown(): Promise<void>;
}

/**
 * One integration test's world: unique topics on the broker, a database, a temp folder, a
 * pipeline file over them, and helpers to produce frames and read back what a detector wrote.
 *
 * @example
 * let f: PipelineFixture;
 * beforeAll(async () => (f = await pipelineFixture('crash', { partitions: 6, influx: true, model: true })));
 * afterAll(() => f.teardown());
 */
export async function pipelineFixture(
  prefix: string,
  options: FixtureOptions = {},
): Promise<PipelineFixture> {
  const name = uniqueName(prefix).replace(/[^a-z0-9-]/g, '');
  const brokers = options.stack?.brokers ?? KAFKA_BROKERS;
  const influxUrl = options.stack?.influxUrl ?? INFLUX_URL;
  const dir = mkdtempSync(join(tmpdir(), `aestream-${prefix}-`));
  const more = Object.fromEntries(
    Object.keys(options.topics ?? {}).map((role) => [role, `${name}.${role}`]),
  );
  const topics: Topics = {
    ...more,
    input: `${name}.frames`,
    anomalies: `${name}.anomalies`,
    dlq: `${name}.dlq`,
    releases: `${name}.models`,
    control: `${name}.control`,
  };
  const group = `${name}-detectors`;
  const database = name.replace(/-/g, '_');
  const kafka = createKafka({ brokers, clientId: 'aestream-test' });
  const admin = kafka.admin();
  const url = new URL(influxUrl);
  const influx = new InfluxDB({ host: url.hostname, port: Number(url.port), database });
  const extraTopics: string[] = [];
  const tracked: Array<{ stop(): Promise<unknown> }> = [];
  const spawned: DetectorProcess[] = [];
  let files = 0;

  const defaults = (): PipelineOverrides => ({
    name,
    input: {
      kafka: { brokers: brokers.join(','), topic: topics.input, group, fromBeginning: true },
      schema: 'schemas/sensor-frame.avsc',
    },
    frame: { kind: 'sensor', features: 1, window: 16, stride: 1 },
    model: { kind: 'dense-ae', hidden: [8, 3], train: { epochs: 3 } },
    batch: { maxSize: 64, maxWaitMs: 10 },
    threshold: { kind: 'ksigma', k: 6, calibration: 50 },
    output: {
      kafka: { topic: topics.anomalies },
      ...(options.influx ? { influx: { url: influxUrl, database } } : {}),
      dlq: { topic: topics.dlq },
    },
  });

  const pipeline = (overrides: PipelineOverrides = {}, fileName?: string) => {
    const own =
      typeof options.yaml === 'function' ? options.yaml({ name, dir, topics }) : options.yaml;
    const doc = merge(merge(defaults(), own ?? {}), overrides) as {
      model: Record<string, unknown>;
    };
    doc.model.store ??= join(dir, 'models');
    doc.model.releases ??= { topic: topics.releases };
    const file = join(dir, fileName ?? `${name}${files++ === 0 ? '' : `-${files}`}.yaml`);
    writeFileSync(file, stringify(doc));
    return { file, config: loadPipeline(file, { env: {}, baseDir: process.cwd() }) };
  };

  const sumOf = (list: Array<{ offset?: string; high?: string }>) =>
    list.reduce((s, p) => s + Math.max(0, Number(p.offset ?? p.high)), 0);
  const byPartition = (list: Array<{ partition: number; offset?: string; high?: string }>) => {
    const out: number[] = [];
    for (const p of list) out[p.partition] = Number(p.offset ?? p.high);
    return out;
  };

  await admin.connect();
  const f: PipelineFixture = {
    name,
    dir,
    topics,
    group,
    brokers,
    kafka,
    admin,
    database,
    influx,
    influxUrl,
    file: '',
    config: undefined as unknown as PipelineConfig,
    pipeline,

    async train(spec = {}) {
      const value = spec.value ?? ((i: number) => Math.sin(i / 5));
      const rows = Array.from({ length: spec.rows ?? 500 }, (_, i) => String(value(i)));
      const csv = join(dir, `train-${Date.now().toString(36)}.csv`);
      writeFileSync(csv, ['value', ...rows].join('\n'));
      const config = spec.config ?? f.config;
      return trainFromFile(config, {
        data: csv,
        ...(spec.calibrate ? { scoreHeldBack: scoreHeldBack(config.model) } : {}),
        ...(spec.seed !== undefined ? { seed: spec.seed } : {}),
        ...(spec.epochs !== undefined ? { epochs: spec.epochs } : {}),
      });
    },

    async produce(items, topic = topics.input) {
      const kind = f.config?.frame.kind === 'image' ? 'ImageFrame' : 'SensorFrame';
      const codec = createAvroCodec<Frame>(kind);
      const sink = new KafkaSink({ brokers, topic, kafka, batchSize: 5_000 });
      await sink.connect();
      try {
        await Promise.all(
          items.map((item) =>
            sink.send(
              isMessage(item)
                ? item
                : {
                    key: item.source,
                    value: codec.encode(item),
                    headers: codec.headers,
                    timestamp: item.time,
                  },
            ),
          ),
        );
      } finally {
        await sink.disconnect();
      }
    },

    async points(measurement = 'score', field = 'error') {
      const rows = await influx
        .query<{ count: number }>(`SELECT count("${field}") AS "count" FROM "${measurement}"`)
        .catch(() => []);
      return rows[0]?.count ?? 0;
    },

    async committed(groupId = group, topic = topics.input) {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return sumOf(offsets?.partitions ?? []);
    },

    async offsets(topic = topics.input, groupId = group) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return {
        ends: byPartition(await admin.fetchTopicOffsets(topic)),
        committed: byPartition(committed?.partitions ?? []),
      };
    },

    async endOffset(topic) {
      return sumOf(await admin.fetchTopicOffsets(topic));
    },

    async read(names) {
      let expected = 0;
      for (const t of names) expected += await f.endOffset(t);
      const out: ReadMessage[] = [];
      if (expected === 0) return out;
      const consumer = kafka.consumer({ groupId: uniqueName(`${name}-reader`) });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: names, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ topic, partition, message }) =>
            void out.push({
              topic,
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value ?? Buffer.alloc(0),
              headers: message.headers ?? {},
            }),
        });
        await waitFor(() => out.length >= expected, {
          what: `${expected} messages on ${names.join(', ')}`,
          timeoutMs: 60_000,
          state: () => out.length,
        });
      } finally {
        await consumer.disconnect();
      }
      return out;
    },

    async events(topic = topics.anomalies) {
      const codec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
      return (await f.read([topic])).map((m) => codec.decode(m.value, m.headers as never));
    },

    async topic(partitions, suffix = `t${extraTopics.length}`) {
      const topic = `${name}.${suffix}`;
      extraTopics.push(topic);
      await admin.createTopics({
        topics: [{ topic, numPartitions: partitions }],
        waitForLeaders: true,
      });
      return topic;
    },

    spawn(file = f.file) {
      builtCli();
      const p = spawnDetector(file);
      spawned.push(p);
      return p;
    },

    track(thing) {
      if (thing) tracked.push(thing);
      return thing;
    },

    async teardown() {
      for (const p of spawned) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      for (const t of tracked.reverse()) await t.stop().catch(() => undefined);
      const ours = (await admin.listTopics().catch(() => [] as string[])).filter(
        (t) => t.startsWith(`${name}.`) || extraTopics.includes(t),
      );
      if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      if (options.influx) await influx.dropDatabase(database).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    if (options.createTopics !== false) {
      const p = options.partitions ?? 3;
      const n = (role: 'input' | 'anomalies' | 'dlq') =>
        typeof p === 'number' ? p : (p[role] ?? 1);
      await admin.createTopics({
        topics: [
          ...(['input', 'anomalies', 'dlq'] as const).map((role) => ({
            topic: topics[role],
            numPartitions: n(role),
          })),
          ...Object.entries(options.topics ?? {}).map(([role, numPartitions]) => ({
            topic: topics[role],
            numPartitions,
          })),
        ],
        waitForLeaders: true,
      });
    }
    ({ file: f.file, config: f.config } = pipeline());
    if (options.model) await f.train(options.model === true ? {} : options.model);
  } catch (err) {
    await f.teardown();
    throw err;
  }
  return f;
}

function isMessage(item: Frame | OutboundMessage): item is OutboundMessage {
  return Buffer.isBuffer((item as OutboundMessage).value);
}

/** Waits until a group (default the detectors') has committed at least `n` records of the input. */
export function committedAtLeast(
  f: Pick<PipelineFixture, 'committed' | 'group'>,
  n: number,
  what: string,
  { group = f.group, timeoutMs = 240_000 }: { group?: string; timeoutMs?: number } = {},
): Promise<boolean> {
  return waitFor(async () => (await f.committed(group)) >= n, { what, timeoutMs, intervalMs: 100 });
}
