import fc from 'fast-check';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { SensorFrame } from '../../src/core/records';
import type { OutboundMessage } from '../../src/connectors/kafka/kafka-sink';
import { DlqHeaders } from '../../src/outputs/dlq-sink';
import { consumerLag } from '../../src/connectors/kafka/consumer-lag';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { startDetector } from '../../src/app/detect';
import { seededRandom } from '../../src/core/seeded-random';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * 10,000 hostile payloads (random bytes from fast-check and byte mutations of valid frames)
 * interleaved with 5,000 valid frames: the detector neither crashes nor hangs, every
 * record is accounted for (scored, or dead-lettered with a reason code), and the valid
 * frames are all scored.
 */
describe('hostile input (real Kafka)', () => {
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('hostile', {
      model: { rows: 300 },
      yaml: {
        frame: { window: 8 },
        model: { hidden: [4, 2], train: { epochs: 2 } },
        batch: { maxSize: 256 },
        threshold: { k: 5, calibration: 20 },
      },
    });
  });
  afterAll(() => f?.teardown());

  it('dead-letters every bad payload with a reason code and scores every valid frame', async () => {
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const valid = [
      ...new SyntheticSource({ seed: 8, sources: 10, length: 500, anomaliesPerSource: 0 }).frames(),
    ];
    const encoded = valid.map((v) => codec.encode(v));
    const random = seededRandom(99);
    const randomBytes = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 64 }), {
      numRuns: 5_000,
      seed: 7,
    });
    const mutated = Array.from({ length: 5_000 }, () => {
      const bytes = Buffer.from(encoded[Math.floor(random() * encoded.length)]);
      const flips = 1 + Math.floor(random() * 4);
      for (let k = 0; k < flips; k++)
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      return random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
    });
    const hostile = [...randomBytes.map((b) => Buffer.from(b)), ...mutated];

    // Each source's valid frames stay in order; hostile payloads go in between, on the same keys.
    const messages: OutboundMessage[] = [];
    let h = 0;
    valid.forEach((frame, i) => {
      messages.push({ key: frame.source, value: encoded[i], headers: codec.headers });
      for (let k = 0; k < 2; k++) {
        messages.push({ key: frame.source, value: hostile[h++], headers: codec.headers });
      }
    });
    await f.produce(messages);
    const total = valid.length + hostile.length;

    let scoredRecords = 0;
    const scoredValid = new Set<string>();
    f.track(
      await startDetector(f.config, {
        metricsPort: null,
        onScored: (batch) => {
          for (const judged of batch) {
            scoredRecords += judged.covered.length;
            for (const c of judged.covered) {
              const frame = c.value as SensorFrame;
              scoredValid.add(`${frame.source}@${frame.time}`);
            }
          }
        },
      }),
    );
    const lagLeft = async () =>
      (await consumerLag(f.admin, f.group, f.topics.input)).reduce((sum, p) => sum + p.lag, 0);
    await waitFor(async () => (await lagLeft()) === 0, {
      what: `all ${total} records committed`,
      timeoutMs: 240_000,
      intervalMs: 250,
    });

    // Read the dead letters: each with a reason code from the documented set.
    const reasons = new Map<string, number>();
    const deadLetters = await f.read([f.topics.dlq]);
    const dlqEnd = deadLetters.length;
    for (const m of deadLetters) {
      const reason = String(m.headers[DlqHeaders.REASON]);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }

    console.log(
      `[hostile] scored ${scoredRecords}, dead letters by reason ${JSON.stringify(Object.fromEntries(reasons))}`,
    );
    // Every record accounted for exactly once: scored (valid or mutated-but-valid) or dead-lettered.
    expect(scoredRecords + dlqEnd).toBe(total);
    expect(dlqEnd).toBeGreaterThan(hostile.length * 0.5);
    const known = [
      'AE_ERR_AVRO_DECODE',
      'AE_ERR_FRAME_SHAPE',
      'AE_ERR_NON_FINITE',
      'AE_ERR_FRAME_INVALID',
    ];
    expect([...reasons.keys()].every((r) => known.includes(r))).toBe(true);
    // And every valid frame was scored.
    expect(valid.every((v) => scoredValid.has(`${v.source}@${v.time}`))).toBe(true);
  });
});
