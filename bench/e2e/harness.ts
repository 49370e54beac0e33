/**
 * What the end-to-end benchmark's parts share: arguments, the stack's addresses, the
 * detector child process, waiting for a group to commit everything, the plain kafkajs
 * passthrough baseline and Kafka's own perf tools.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Type } from 'avsc';
import { InfluxDB } from 'influx';
import { Partitioners, type Admin, type EachBatchPayload, type Kafka } from 'kafkajs';
import { consumerLag } from '../../src/connectors/kafka/consumer-lag';
import { cliNodeFlags } from '../../test/helpers/detector-process';

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}
export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** The repository root: the nearest folder above this file with a package.json (works from dist/ too). */
export const root = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above ' + __dirname);
    dir = up;
  }
  return dir;
})();

export const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const influxUrl = process.env.INFLUX_URL ?? 'http://127.0.0.1:8086';
export const kafkaLibs =
  process.env.AESTREAM_KAFKA_LIBS ?? join(homedir(), '.cache', 'aestream', 'kafka-libs');
export const stamp = Date.now().toString(36);
/**
 * The per-source state changelog of the bench's pipeline `name`, of this run only: a state
 * topic kept from an earlier run would mark every frame of the new input as already seen.
 */
export const stateTopic = (name: string): string => `bench-e2e-state-${name}-${stamp}`;
export const log = (msg: string): void =>
  console.error(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}`);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** p50, p95, p99 and max of ascending values (NaN each when there are none). */
export function percentiles(sorted: number[]): Percentiles {
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : NaN,
  };
}

/**
 * Consumes the first `n` records of `topic` (a new group, from its start, kafkajs
 * auto-commit) through `each`; returns frames/s and this process's CPU per 1,000 frames,
 * both from the first batch on (the process does nothing else meanwhile).
 */
async function consumeN(
  kafka: Kafka,
  topic: string,
  n: number,
  o: { partitions: number; group: string },
  each: (payload: EachBatchPayload) => Promise<void>,
) {
  const consumer = kafka.consumer({ groupId: o.group, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let first = 0;
  let cpuAtFirst = process.cpuUsage();
  let done = 0;
  let finish: () => void = () => undefined;
  let fail: (err: unknown) => void = () => undefined;
  const finished = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
  await consumer.run({
    partitionsConsumedConcurrently: o.partitions,
    eachBatch: async (payload) => {
      if (first === 0) {
        first = performance.now();
        cpuAtFirst = process.cpuUsage();
      }
      await each(payload);
      done += payload.batch.messages.length;
      if (done >= n) finish();
    },
  });
  await finished;
  const seconds = (performance.now() - first) / 1000;
  const cpu = process.cpuUsage(cpuAtFirst);
  await consumer.disconnect();
  return { framesPerSecond: n / seconds, seconds, cpuMsPer1kFrames: (cpu.user + cpu.system) / n };
}

/** Plain kafkajs consume -> avsc decode -> avsc encode -> produce, until `n` frames went through. */
export async function passthrough(
  kafka: Kafka,
  input: string,
  output: string,
  n: number,
  o: { schema: string; partitions: number; group: string },
) {
  const type = Type.forSchema(JSON.parse(readFileSync(join(root, 'schemas', o.schema), 'utf8')));
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const result = await consumeN(kafka, input, n, o, async ({ batch, resolveOffset, heartbeat }) => {
    for (let i = 0; i < batch.messages.length; i += 5_000) {
      const chunk = batch.messages.slice(i, i + 5_000);
      await producer.send({
        topic: output,
        messages: chunk.map((m) => ({
          key: m.key,
          value: type.toBuffer(type.fromBuffer(m.value as Buffer)),
          headers: m.headers,
        })),
      });
      resolveOffset(chunk[chunk.length - 1].offset);
      await heartbeat();
    }
  });
  await producer.disconnect();
  return result;
}

/**
 * Plain kafkajs consume of `n` records of `topic`, nothing done with them but reading each
 * value's length: the floor of any kafkajs detector.
 */
export async function consumeOnly(
  kafka: Kafka,
  topic: string,
  n: number,
  o: { partitions: number; group: string },
) {
  let bytes = 0;
  const result = await consumeN(kafka, topic, n, o, async ({ batch }) => {
    for (const m of batch.messages) bytes += m.value?.length ?? 0;
  });
  return { ...result, bytes };
}

/** Apache Avro's jars for the Java passthrough, resolved from Maven Central once per machine. */
export const avroLibs =
  process.env.AESTREAM_BENCH_AVRO_LIBS ?? join(homedir(), '.cache', 'aestream', 'bench-avro-libs');

function resolveAvroLibs(): void {
  if (existsSync(join(avroLibs, '.complete'))) return;
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(root, 'bench', 'e2e', 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${avroLibs}`,
      '-DincludeScope=runtime',
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  if (r.status !== 0)
    throw new Error(
      `mvn could not resolve Apache Avro (${r.status}): ${(r.stdout + r.stderr).slice(-2000)}`,
    );
  writeFileSync(join(avroLibs, '.complete'), '');
}

/**
 * The JVM anchor: bench/e2e/JavaPassthrough.java (kafka-clients from the stack's jars, Apache
 * Avro generic decode and encode, idempotent produce) over the first `n` records of `input`,
 * in its own process. CPU per 1,000 frames is that process's, all threads.
 */
export function javaPassthrough(
  input: string,
  output: string,
  n: number,
  group: string,
  schema: string,
) {
  resolveAvroLibs();
  const r = spawnSync(
    'java',
    [
      '-Xmx512m',
      '-Dlog4j.configuration=file:/dev/null',
      // Avro's jars first: it needs a newer Jackson than the broker's.
      '-cp',
      `${avroLibs}/*:${kafkaLibs}/*`,
      join(root, 'bench', 'e2e', 'JavaPassthrough.java'),
      brokers,
      input,
      output,
      String(n),
      group,
      join(root, 'schemas', schema),
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const done = /^done frames=(\d+) seconds=([\d.E-]+) cpuMs=(\d+) failed=(\d+)$/m.exec(r.stdout);
  if (r.status !== 0 || !done)
    throw new Error(`JavaPassthrough failed (${r.status}): ${(r.stdout + r.stderr).slice(-2000)}`);
  const [frames, seconds, cpuMs, failed] = done.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  if (failed > 0) throw new Error(`JavaPassthrough: ${failed} of ${frames} records not acked`);
  return { framesPerSecond: frames / seconds, seconds, cpuMsPer1kFrames: cpuMs / (frames / 1000) };
}

export function javaTool(cls: string, args: string[]): string {
  const r = spawnSync('java', ['-Xmx512m', '-cp', `${kafkaLibs}/*`, cls, ...args], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`${cls} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** Runs the built `aestream detect` CLI on `pipeline`; `metricsPort` 'off' unless given. */
export function startDetectorProcess(
  pipeline: string,
  profile: string | null,
  metricsPort = 'off',
): ChildProcess {
  // --detector-node-args "--trace-gc": V8 flags for the detector (experiments); its stdout
  // (where --trace-gc writes) goes to --detector-log FILE, appended.
  const extra = arg('detector-node-args', '').split(' ').filter(Boolean);
  const logFile = arg('detector-log', '');
  const nodeArgs = [...extra, ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [])];
  const child = spawn(
    process.execPath,
    [
      // As the installed command starts it (its shebang's node flags), then the experiment's.
      ...cliNodeFlags(),
      ...nodeArgs,
      join(root, 'bin', 'aestream.js'),
      'detect',
      '-p',
      pipeline,
      '--metrics-port',
      metricsPort,
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers,
        AESTREAM_LOG_LEVEL: process.env.AESTREAM_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', logFile ? openSync(logFile, 'a') : 'ignore', 'inherit'],
    },
  );
  return child;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (NaN when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name: state is field 3, utime 14, stime 15 (clock ticks, 100/s).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** A counter of the detector's `/metrics` (summed over its labels), 0 when it does not answer yet. */
async function detectorCounter(metricsPort: number, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Polls the group's lag until every offset is committed; the rate is between the first commit
 * and the last. With the detector's `metricsPort`, also its CPU from its first frame read to
 * the last commit over all `total` frames (`cpuMsPer1kFramesFromFirstFrame`): unlike the span
 * from the first commit, it does not depend on how far the detector is ahead of its commits.
 * And `toLastAck`: rate and CPU from the first frame read to the first sample at which the
 * detector's sinks have acknowledged every frame (`aestream_frames_scored_total`).
 */
export async function waitCommitted(
  admin: Admin,
  group: string,
  topic: string,
  total: number,
  child: ChildProcess,
  metricsPort?: number,
) {
  const samples: Array<{ t: number; lag: number; rssMb: number; cpu: number }> = [];
  const started = performance.now();
  let cpuAtFirstFrame = NaN;
  let tFirstFrame = NaN;
  let lastAck: { t: number; cpu: number } | null = null;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`detector exited with ${child.exitCode}`);
    // Polled often until the first frame is read (start-up and warm-up are not counted), then not at all.
    while (metricsPort !== undefined && Number.isNaN(cpuAtFirstFrame)) {
      const cpu = cpuSeconds(child.pid!);
      if ((await detectorCounter(metricsPort, 'aestream_frames_in_total')) > 0) {
        cpuAtFirstFrame = cpu;
        tFirstFrame = performance.now();
      } else if (child.exitCode !== null) break;
      else await sleep(20);
    }
    const lag = (await consumerLag(admin, group, topic)).reduce((s, p) => s + p.lag, 0);
    const t = performance.now();
    const cpu = cpuSeconds(child.pid!);
    samples.push({ t, lag, rssMb: rssMb(child.pid!), cpu });
    // The first sample at which every frame is through the sinks (their writes acknowledged).
    if (metricsPort !== undefined && lastAck === null) {
      if ((await detectorCounter(metricsPort, 'aestream_frames_scored_total')) >= total)
        lastAck = { t, cpu };
    }
    if (lag === 0) break;
    if (performance.now() - started > 900_000) throw new Error(`lag still ${lag} after 15 min`);
    // Progress on a long wait: a detector that stopped committing shows here, not as silence.
    if (samples.length % 120 === 0)
      log(`  waiting for ${group}: lag ${lag}, detector RSS ${rssMb(child.pid!).toFixed(0)} MB`);
    await sleep(250);
  }
  const firstCommit = samples.find((s) => s.lag < total)!;
  const last = samples[samples.length - 1];
  const seconds = (last.t - firstCommit.t) / 1000;
  // The detector's own CPU per 1,000 frames over the same span: less noisy than frames/s
  // on a shared machine, and it counts the onnxruntime threads too.
  const fromFirstCommit = {
    framesPerSecond: firstCommit.lag / seconds,
    cpuMsPer1kFrames: ((last.cpu - firstCommit.cpu) * 1000 * 1000) / firstCommit.lag,
  };
  const cpuMsPer1kFramesFromFirstFrame = ((last.cpu - cpuAtFirstFrame) * 1000 * 1000) / total;
  // From the first frame when it was seen: the span from the first commit is biased by how
  // far the detector runs ahead of its commits (more with a longer commit interval).
  const fair = Number.isFinite(cpuAtFirstFrame);
  // To the last frame through the sinks, as the Java passthrough counts to its last ack: the
  // commit comes later, on the detector's commit tick (5 s by default), whatever its speed.
  const toLastAck =
    fair && lastAck
      ? {
          framesPerSecond: total / ((lastAck.t - tFirstFrame) / 1000),
          seconds: (lastAck.t - tFirstFrame) / 1000,
          cpuMsPer1kFrames: ((lastAck.cpu - cpuAtFirstFrame) * 1000 * 1000) / total,
        }
      : null;
  const toLastCommit = fair
    ? {
        framesPerSecond: total / ((last.t - tFirstFrame) / 1000),
        seconds: (last.t - tFirstFrame) / 1000,
        cpuMsPer1kFrames: cpuMsPer1kFramesFromFirstFrame,
      }
    : null;
  const headline = toLastAck ?? toLastCommit ?? { ...fromFirstCommit, seconds };
  return {
    span: toLastAck
      ? 'first frame read to last frame acknowledged by the sinks'
      : toLastCommit
        ? 'first frame read to last commit'
        : 'first commit to last commit',
    framesPerSecond: headline.framesPerSecond,
    measuredFrames: fair ? total : firstCommit.lag,
    seconds: headline.seconds,
    startupSeconds: ((fair ? tFirstFrame : firstCommit.t) - started) / 1000,
    cpuMsPer1kFrames: headline.cpuMsPer1kFrames,
    cpuMsPer1kFramesFromFirstFrame,
    toLastCommit,
    fromFirstCommit,
    peakRssMb: Math.max(...samples.map((s) => s.rssMb).filter(Number.isFinite)),
  };
}

/** The middle of `xs` (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Of runs taken in turn, the one with the median CPU per frame (the lower middle of an even count). */
export function medianRun<R extends { cpuMsPer1kFrames: number }>(runs: readonly R[]): R {
  const sorted = [...runs].sort((a, b) => a.cpuMsPer1kFrames - b.cpuMsPer1kFrames);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** A TCP port nothing listens on right now (for a child's metrics server). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Drops this run's InfluxDB databases (bench_e2e_*_<stamp>): left behind, their compactions
 * take CPU from the next run on this machine.
 */
export async function dropBenchDatabases(): Promise<void> {
  const url = new URL(influxUrl);
  const influx = new InfluxDB({ host: url.hostname, port: Number(url.port || 8086) });
  const names = await influx.getDatabaseNames().catch(() => [] as string[]);
  for (const name of names)
    if (name.startsWith('bench_e2e') && name.endsWith(stamp))
      await influx.dropDatabase(name).catch(() => undefined);
}

/** One frame of a fixed-rate run: its key and its encoded value with `time` as the frame time. */
export type FrameAt = (i: number, time: number) => { key: string; value: Buffer };

export interface FixedRateResult {
  /** When the first frame was due (ms since the epoch): the phase's start. */
  startedAt: number;
  /** Frames sent, every one acked by the broker (a frame not acked fails the run). */
  sent: number;
  /** How far sending fell behind the schedule at worst. */
  behindMaxMs: number;
  /** The generator's own CPU over the sending, in cores (what it took from the detector). */
  cores: number;
}

/**
 * Produces `frame(0..templates-1)` at `rate` frames/s for `seconds`, cycling through them, from
 * bench/e2e/RateProducer.java (a Java producer, linger 5 ms), which writes the moment each frame
 * is handed to it into the frame's time. Why not kafkajs in this process: at 18,786 frames/s it
 * took 0.46 core of this machine's 2; the Java producer ~0.1. `onStart` gets the start time;
 * `onTick` is called about every 5 s with the frames sent so far (for samples meanwhile).
 */
export async function produceAtFixedRate(o: {
  dir: string;
  topic: string;
  frame: FrameAt;
  templates: number;
  headers: Readonly<Record<string, string>>;
  rate: number;
  seconds: number;
  onStart?: (startedAt: number) => void;
  onTick?: (sent: number) => void;
}): Promise<FixedRateResult> {
  // The frames once, each with the offset of its time in the value: where two encodings with
  // times 1 ms apart first differ (the low byte of the zig-zag varint).
  const t = Date.now();
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeInt32BE(o.templates);
  for (let i = 0; i < o.templates; i++) {
    const { key, value } = o.frame(i, t);
    const other = o.frame(i, t + 1).value;
    let at = 0;
    while (at < value.length && value[at] === other[at]) at++;
    if (at === value.length) throw new Error(`frame ${i}: its time is not in the value`);
    const k = Buffer.from(key);
    const head = Buffer.alloc(6);
    head.writeUInt16BE(k.length, 0);
    head.writeInt32BE(value.length, 2);
    const tail = Buffer.alloc(2);
    tail.writeUInt16BE(at);
    parts.push(head.subarray(0, 2), k, head.subarray(2), value, tail);
  }
  const file = join(o.dir, `rate-frames-${o.topic}.bin`);
  writeFileSync(file, Buffer.concat(parts));
  const [[headerName, headerValue]] = Object.entries(o.headers) as [[string, string]];
  const child = spawn(
    'java',
    [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-Dlog4j.configuration=file:/dev/null',
      '-cp',
      `${kafkaLibs}/*`,
      join(root, 'bench', 'e2e', 'RateProducer.java'),
      brokers,
      o.topic,
      file,
      String(o.rate),
      String(o.seconds),
      headerName,
      headerValue,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let done = '';
  let startedAt = NaN;
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const started = /^started (\d+)/.exec(line);
      if (started) {
        startedAt = Number(started[1]);
        o.onStart?.(startedAt);
      }
      const progress = /^progress sent=(\d+)/.exec(line);
      if (progress) o.onTick?.(Number(progress[1]));
      if (line.startsWith('done ')) done = line;
      if (line.startsWith('behind ')) log(`  rate producer ${line}`);
    }
  });
  const exited = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  if (exited !== 0 || !done)
    throw new Error(`RateProducer failed (${exited}): ${stderr.trim().slice(-2000)}`);
  const field = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(done)?.[1]);
  const [sent, acked, failed] = [field('sent'), field('acked'), field('failed')];
  if (failed > 0 || acked !== sent)
    throw new Error(`RateProducer: ${acked} of ${sent} frames acked, ${failed} failed`);
  const result = {
    startedAt,
    sent,
    behindMaxMs: field('behindMaxMs'),
    cores: field('cpuMs') / 1000 / o.seconds,
  };
  log(
    `  ${o.topic}: ${sent} frames sent and acked; the generator used ${result.cores.toFixed(2)} core, at worst ${result.behindMaxMs} ms behind its schedule`,
  );
  return result;
}

/** Reads every record of `topic` once (up to its current end offsets), all partitions at once. */
export async function readAll(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  groupId: string,
  each: (value: Buffer, timestamp: number) => void,
): Promise<void> {
  const ends = await admin.fetchTopicOffsets(topic);
  const expected = ends.reduce((s, e) => s + Number(e.high), 0);
  if (expected === 0) return;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, maxBytes: 50 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  await new Promise<void>((res) => {
    void consumer.run({
      partitionsConsumedConcurrently: ends.length,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          seen++;
          each(m.value as Buffer, Number(m.timestamp));
        }
        if (seen >= expected) res();
      },
    });
  });
  await consumer.disconnect();
}
