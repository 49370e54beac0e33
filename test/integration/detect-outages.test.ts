import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import type { Admin, Kafka } from 'kafkajs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { SensorFrame } from '../../src/core/records';
import { loadPipeline } from '../../src/config/load-pipeline';
import { createKafka } from '../../src/connectors/kafka/kafka-client';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { trainFromFile } from '../../src/registry/train-and-store';
import {
  builtCli,
  logEntries,
  spawnDetector,
  type DetectorProcess,
} from '../helpers/detector-process';
import { uniqueName } from '../helpers/names';
import { privateStack, type PrivateStack } from '../helpers/private-stack';
import { waitFor } from '../helpers/wait-for';

/**
 * A running `aestream detect` (its own OS process) through the faults production brings:
 * InfluxDB stopped for 30 s, then the Kafka broker stopped and started mid-stream. The
 * services are a stack of this test's own, so stopping them disturbs no other test.
 */
describe('aestream detect through InfluxDB and Kafka outages (real services)', () => {
  let stack: PrivateStack;
  let kafka: Kafka;
  let admin: Admin;
  let detector: DetectorProcess | undefined;
  const name = uniqueName('outage').replace(/[^a-z0-9-]/g, '');
  const topic = `${name}.frames`;
  const group = `${name}-detectors`;

  beforeAll(async () => {
    builtCli();
    stack = await privateStack();
    kafka = createKafka({ brokers: stack.brokers, clientId: 'aestream-test' });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 3 },
        { topic: `${name}.anomalies`, numPartitions: 1 },
        { topic: `${name}.dlq`, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
  });

  afterAll(async () => {
    detector?.child.kill('SIGKILL');
    await admin?.disconnect().catch(() => undefined);
    await stack?.down();
  });

  it('holds its offsets while InfluxDB is down and catches up after; survives a broker restart; loses no frame', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aestream-outage-'));
    const pipelineFile = join(dir, 'outage.yaml');
    const database = name.replace(/-/g, '_');
    writeFileSync(
      pipelineFile,
      `
name: ${name}
input:
  kafka: { brokers: "${stack.brokers.join(',')}", topic: ${topic}, group: ${group}, fromBeginning: true, commitIntervalMs: 200 }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 1, window: 16, stride: 1 }
model: { kind: dense-ae, hidden: [8, 3], store: ${join(dir, 'models')}, train: { epochs: 3 }, releases: { topic: ${name}.models } }
batch: { maxSize: 64, maxWaitMs: 10 }
threshold: { kind: ksigma, k: 4, calibration: 30, control: { topic: ${name}.control } }
output:
  kafka: { topic: ${name}.anomalies }
  influx: { url: "${stack.influxUrl}", database: ${database}, flushMs: 100 }
  dlq: { topic: ${name}.dlq }
`,
    );
    const config = loadPipeline(pipelineFile, { baseDir: process.cwd() });
    const csv = join(dir, 'train.csv');
    writeFileSync(
      csv,
      ['value', ...Array.from({ length: 500 }, (_, i) => String(Math.sin(i / 5)))].join('\n'),
    );
    await trainFromFile(config, { data: csv });

    // 4 sources x 900 readings, produced in four parts of 900 frames.
    const gen = new SyntheticSource({ seed: 12, sources: 4, length: 900, anomaliesPerSource: 1 });
    const frames = [...gen.frames()];
    const parts = [0, 1, 2, 3].map((i) => frames.slice(i * 900, (i + 1) * 900));
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const produce = async (part: SensorFrame[]) => {
      const sink = new KafkaSink({ brokers: stack.brokers, topic, kafka });
      await sink.connect();
      await Promise.all(
        part.map((f) =>
          sink.send({
            key: f.source,
            value: codec.encode(f),
            headers: codec.headers,
            timestamp: f.time,
          }),
        ),
      );
      await sink.disconnect();
    };
    const influx = new InfluxDB({
      host: '127.0.0.1',
      port: Number(new URL(stack.influxUrl).port),
      database,
    });
    const points = async () => {
      const rows = await influx
        .query<{ count: number }>(`SELECT count("error") AS "count" FROM "score"`)
        .catch(() => []);
      return rows[0]?.count ?? 0;
    };
    const committed = async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    const logged = (msg: string) => logEntries(detector!).filter((l) => l.msg === msg).length;

    detector = spawnDetector(pipelineFile);
    await produce(parts[0]!);
    await waitFor(async () => (await points()) === 900 && (await committed()) === 900, {
      what: 'the first 900 frames scored and committed',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    const started = logEntries(detector).find((l) => l.msg === 'detector started') as
      { metricsPort?: number } | undefined;
    const metrics = async () =>
      (await fetch(`http://127.0.0.1:${started!.metricsPort}/metrics`)).text();

    // InfluxDB down for 30 s while 900 more frames arrive: the detector holds them (no commit
    // past what was written), says so once (log line, aestream_influx_up 0), and catches up.
    await stack.stop('influxdb');
    const stoppedAt = Date.now();
    await produce(parts[1]!);
    let highestCommitted = 0;
    await waitFor(
      async () => {
        highestCommitted = Math.max(highestCommitted, await committed());
        return (
          Date.now() - stoppedAt >= 30_000 &&
          /aestream_influx_up\{database="[^"]+"\} 0/.test(await metrics())
        );
      },
      { what: '30 s of InfluxDB outage, reported', timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(highestCommitted).toBe(900);
    expect(logged('InfluxDB unavailable: holding points and retrying with backoff')).toBe(1);
    await stack.up();
    await waitFor(async () => (await points()) === 1800 && (await committed()) === 1800, {
      what: 'the held frames written and committed after InfluxDB is back',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    expect(logged('InfluxDB writes work again')).toBe(1);
    expect(await metrics()).toMatch(/aestream_influx_up\{database="[^"]+"\} 1/);

    // The broker stopped and started again while frames are in flight: no manual action.
    const inFlight = produce(parts[2]!);
    await inFlight;
    await stack.stop('kafka');
    await stack.up();
    await produce(parts[3]!);
    const seen = { points: 0, committed: 0 };
    await waitFor(
      async () => {
        seen.points = await points();
        seen.committed = await committed().catch(() => -1);
        return seen.points === 3600 && seen.committed === 3600;
      },
      {
        what: 'every frame scored and committed after the broker restart',
        timeoutMs: 180_000,
        intervalMs: 500,
        state: () => ({ ...seen, log: detector!.log.slice(-6) }),
      },
    );
    expect(detector.child.exitCode).toBeNull(); // still the same process
    console.log(
      `[outage] 3600 frames, 3600 points; influx outage ${Math.round((Date.now() - stoppedAt) / 1000)} s ago; ` +
        `kafka restarted once; committed never passed the written frames (${highestCommitted})`,
    );
    // Longer than the other tests: a 30 s outage, two restarts of real services, and waits
    // whose own timeouts name what did not happen (they must end before the test's).
  }, 600_000);
});
