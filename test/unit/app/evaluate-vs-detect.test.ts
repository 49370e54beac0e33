/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from } from 'rxjs';
import { createAvroCodec } from '../../../src/codecs/avro-codec';
import { parsePipeline } from '../../../src/config/load-pipeline';
import { MemoryTopic, type MemoryRecord } from '../../../src/connectors/kafka/memory-io';
import type { Judged } from '../../../src/core/model-input';
import type { Frame, SensorFrame } from '../../../src/core/records';
import { detectInMemory } from '../../../src/app/in-memory-detector';
import { startDetector } from '../../../src/app/detect';
import { windowsOf } from '../../../src/operators/sensor-windows';
import { trainAndStore } from '../../../src/registry/train-and-store';

/**
 * `evaluate series` (and `evaluate nab`) judge frames with detectInMemory; `aestream detect`
 * with startDetector. Here startDetector runs its own code with only the Kafka clients
 * swapped for in-process stand-ins (the records the broker would hand out, producers that
 * accept everything), so both paths see the same frames and model.
 */
let mockRecords: MemoryRecord[] = [];
jest.mock('../../../src/connectors/kafka/kafka-client', () => ({
  ...jest.requireActual('../../../src/connectors/kafka/kafka-client'),
  createKafka: () => ({
    admin: () => ({ connect: async () => {}, disconnect: async () => {} }),
  }),
}));
jest.mock('../../../src/connectors/kafka/consumer-lag', () => ({ consumerLag: async () => [] }));
jest.mock('../../../src/connectors/connector-factory', () => ({
  ...jest.requireActual('../../../src/connectors/connector-factory'),
  kafkaSourceFrom: () => ({
    records: () => from(mockRecords),
    stop: async () => {},
    // A stop that never comes: the flow ends with the records.
    stopped: new Promise(() => {}),
    handleSignals: () => () => {},
  }),
  kafkaSinkFrom: () => ({
    connect: async () => {},
    disconnect: async () => {},
    send: async () => {},
    sendMany: async () => {},
  }),
}));

const LENGTH = 700;

/** Two features per reading; source b drifts away late, a has a spike. */
function readings(source: string): SensorFrame[] {
  return Array.from({ length: LENGTH }, (_, i) => {
    const base = Math.sin((2 * Math.PI * i) / 30);
    const spike = source === 'a' && i >= 600 && i < 604 ? 3 : 0;
    const drift = source === 'b' && i >= 550 ? (i - 550) / 40 : 0;
    return {
      source,
      time: 1_700_000_000_000 + i * 1000,
      values: [base + spike, 0.5 * Math.cos((2 * Math.PI * i) / 30) + drift],
      seq: i,
      attributes: {},
    };
  });
}

describe('evaluate and detect judge alike', () => {
  const store = mkdtempSync(join(tmpdir(), 'eval-vs-detect-'));
  afterAll(() => rmSync(store, { recursive: true, force: true }));
  const config = parsePipeline(
    `
name: same
input: { kafka: { brokers: 'localhost:9092', topic: same.frames, group: same }, schema: schemas/sensor-frame.avsc }
frame: { kind: sensor, features: 2, window: 16 }
model:
  kind: dense-ae
  hidden: [8, 3]
  store: ${store}
  releases: { follow: false }
  train: { epochs: 8, seed: 3 }
rules: { range: { tolerance: 0.05 } }
threshold: { kind: quantile, q: 0.99, calibration: 200, control: { follow: false } }
output: {}
# The state changelog needs a broker's topic admin; verdicts do not depend on it.
state: { enabled: false }
`,
    'same.yaml',
    { env: {}, baseDir: process.cwd() },
  );

  it('gives identical verdicts on the same frames and model, in memory and on the code path of detect', async () => {
    const train = windowsOf(
      ['a', 'b'].map((s) =>
        readings(s)
          .slice(0, 300)
          .map((f) => f.values),
      ),
      { window: 16, stride: 1, features: 2 },
    );
    await trainAndStore(config, { ...train, source: 'synthetic' });
    // Interleaved by time, as a broker would hand out two sources' records.
    const frames = readings('a').flatMap((f, i) => [f, readings('b')[i]!]);

    const collect = (into: Map<string, Judged<Frame>>) => (batch: readonly Judged<Frame>[]) => {
      for (const j of batch) {
        const f = j.last.value as SensorFrame;
        into.set(`${f.source}/${f.seq}`, j);
      }
    };
    const inMemory = new Map<string, Judged<Frame>>();
    await detectInMemory(config, frames, { onScored: collect(inMemory) });

    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const topic = new MemoryTopic(config.input.kafka.topic, 3);
    mockRecords = frames.map((f) =>
      topic.record(f.source, codec.encode(f), { ...codec.headers }, f.time),
    );
    const viaDetect = new Map<string, Judged<Frame>>();
    const detector = await startDetector(config, {
      metricsPort: null,
      onScored: collect(viaDetect),
    });
    await detector.done;

    expect(viaDetect.size).toBe(2 * LENGTH);
    expect(inMemory.size).toBe(2 * LENGTH);
    const verdicts = (m: Map<string, Judged<Frame>>) =>
      [...m.keys()].sort().map((k) => `${k}:${m.get(k)!.verdict}`);
    expect(verdicts(viaDetect)).toEqual(verdicts(inMemory));
    for (const [k, j] of inMemory) {
      const other = viaDetect.get(k)!;
      if (Number.isFinite(j.score)) expect(other.score).toBeCloseTo(j.score, 5);
      else expect(other.score).toBe(j.score);
    }
    // Not a vacuous match: both found the spike and the drift, and most windows are normal.
    const anomalies = [...inMemory.values()].filter((j) => j.verdict === 'anomaly');
    expect(anomalies.some((j) => j.key === 'a')).toBe(true);
    expect(anomalies.some((j) => j.key === 'b')).toBe(true);
    expect(anomalies.length).toBeLessThan(0.2 * inMemory.size);
  }, 180_000);
});
