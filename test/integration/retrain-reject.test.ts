import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { register } from 'prom-client';
import { describeTraining } from '../../src/cli/retrain';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { SensorFrame } from '../../src/core/records';
import { parsePipeline } from '../../src/config/load-pipeline';
import { createKafka } from '../../src/connectors/kafka/kafka-client';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { ModelStore } from '../../src/registry/model-store';
import { trainFromFile } from '../../src/registry/train-and-store';
import { startDetector, type Detector } from '../../src/app/detect';
import { startRetrainer, type Retrainer } from '../../src/app/retrain';
import { seededRandom } from '../../src/core/seeded-random';
import { uniqueName } from '../helpers/names';
import { KAFKA_BROKERS } from '../helpers/stack';
import { waitFor } from '../helpers/wait-for';

/**
 * Issue 7, "Done when" 2: a candidate trained on deliberately corrupted frames is
 * rejected by the validation on clean held-back data; nothing is published, the store
 * keeps its versions and the running detector keeps its model. A candidate trained on the
 * reservoir's clean frames, checked the same way, is published (the check is not a wall).
 */
describe('aestream retrain rejects a bad candidate (real Kafka)', () => {
  const kafka = createKafka({ brokers: KAFKA_BROKERS, clientId: 'aestream-test' });
  let admin: Admin;
  const name = uniqueName('reject').replace(/[^a-z0-9-]/g, '');
  const topics = {
    input: `${name}.frames`,
    anomalies: `${name}.anomalies`,
    dlq: `${name}.dlq`,
    releases: `${name}.models`,
  };
  let detector: Detector | undefined;
  let retrainer: Retrainer | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [topics.input, topics.anomalies, topics.dlq].map((topic) => ({
        topic,
        numPartitions: 2,
      })),
      waitForLeaders: true,
    });
  });

  afterAll(async () => {
    await retrainer?.stop();
    await detector?.stop();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  });

  it('rejects a candidate trained on corrupted frames; the detector keeps its model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aestream-reject-'));
    const config = parsePipeline(
      `
name: ${name}
input:
  kafka: { brokers: "${KAFKA_BROKERS.join(',')}", topic: ${topics.input}, group: ${name}-detectors, fromBeginning: true }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 1, window: 16, stride: 1 }
model:
  kind: dense-ae
  hidden: [8, 3]
  store: ${join(dir, 'models')}
  train: { epochs: 40, seed: 1, patience: 5 }
  releases: { topic: ${topics.releases} }
batch: { maxSize: 64, maxWaitMs: 10 }
threshold: { kind: ksigma, k: 6, calibration: 50 }
output:
  kafka: { topic: ${topics.anomalies} }
  dlq: { topic: ${topics.dlq} }
retrain:
  trigger: { everyFrames: 1000000 }
  reservoir: 1000
  epochs: 20
  minSamples: 100
`,
      'reject-test.yaml',
      { env: {}, baseDir: process.cwd() },
    );
    const random = seededRandom(21);
    const reading = (t: number) =>
      Math.sin((2 * Math.PI * t) / 20) + 0.05 * (random() - 0.5) * Math.sqrt(12);
    const csv = join(dir, 'train.csv');
    writeFileSync(
      csv,
      ['value', ...Array.from({ length: 1500 }, (_, t) => String(reading(t)))].join('\n'),
    );
    await trainFromFile(config, { data: csv });
    const store = new ModelStore(config.model.store);

    let scored = 0;
    detector = await startDetector(config, {
      metricsPort: null,
      onScored: (batch) => (scored += batch.reduce((n, j) => n + j.covered.length, 0)),
    });
    retrainer = await startRetrainer(config);

    // Clean frames fill the retrainer's reservoir (and its held-back share).
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const sink = new KafkaSink({ brokers: KAFKA_BROKERS, topic: topics.input, kafka });
    await sink.connect();
    const frames: SensorFrame[] = [];
    for (let t = 0; t < 600; t++) {
      for (const source of ['pump-1', 'pump-2']) {
        frames.push({
          source,
          time: Date.UTC(2026, 0, 1) + t * 60_000,
          values: [reading(t)],
          seq: t,
          attributes: {},
        });
      }
    }
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
    await waitFor(() => scored === frames.length && retrainer!.stats().normal >= 1000, {
      what: 'the detector and the retrainer to score every frame',
      timeoutMs: 60_000,
      state: () => ({ scored, retrainer: retrainer?.stats() }),
    });
    expect(retrainer.stats().heldBack).toBeGreaterThanOrEqual(50);

    // Corrupted training frames: every window replaced by loud uniform noise.
    const noise = seededRandom(5);
    const corrupted = Array.from({ length: 800 }, () =>
      Float32Array.from({ length: 16 }, () => 20 * (noise() - 0.5)),
    );
    const rejected = await retrainer.train({ frames: corrupted });
    console.log(`[retrain] ${describeTraining(rejected)}`);
    expect(rejected.outcome).toBe('rejected');
    expect(rejected.reasons.join('; ')).toMatch(/held-back error .* > /);
    expect(rejected.check!.heldBack.candidate).toBeGreaterThan(rejected.check!.heldBack.limit);
    const rejections = await register.getSingleMetric('aestream_retrain_rejected_total')?.get();
    expect(
      rejections?.values.find((v) => v.labels.pipeline === name && v.labels.rule === 'held-back')
        ?.value,
    ).toBe(1);
    // Not published, not in the store (quarantined among the candidates), the detector keeps v000001.
    expect(await store.versions()).toEqual([1]);
    const candidates = join(config.model.store, '.candidates');
    const quarantined = readdirSync(candidates).filter((n) => n.startsWith('.rejected-'));
    expect(quarantined).toHaveLength(1);
    const record = JSON.parse(
      readFileSync(join(candidates, quarantined[0]!, 'rejected.json'), 'utf8'),
    ) as { reasons: string[] };
    expect(record.reasons).toEqual(rejected.reasons);
    const releaseOffsets = async () =>
      (await admin.fetchTopicOffsets(topics.releases)).reduce((n, p) => n + Number(p.high), 0);
    expect(await releaseOffsets()).toBe(0);
    expect(detector.model.version).toBe('v000001');
    expect(retrainer.model.version).toBe('v000001');

    // The same check passes a candidate trained on the reservoir's clean frames.
    const accepted = await retrainer.train();
    console.log(`[retrain] ${describeTraining(accepted)}`);
    expect(accepted.outcome).toBe('published');
    expect(accepted.version).toBe('v000002');
    expect(await releaseOffsets()).toBe(1);
    expect(existsSync(store.pathOf(2))).toBe(true);
    await waitFor(() => detector!.model.version === 'v000002', {
      what: 'the detector to swap to the clean candidate',
      timeoutMs: 60_000,
    });
    await sink.disconnect();
  });
});
