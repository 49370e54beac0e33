import { DlqHeaders } from '../../src/outputs/dlq-sink';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import type { OutboundMessage } from '../../src/connectors/kafka/kafka-sink';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { AnomalyEvent, SensorFrame } from '../../src/core/records';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * kill -9 of a detector mid-stream, then a restart: every valid frame ends with a score
 * point and every bad one with a dead letter (counted by offset); what is redone after the
 * crash carries the same event ids.
 */
describe('a detector killed with SIGKILL and restarted (real Kafka and InfluxDB)', () => {
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('crash', {
      partitions: { input: 6, anomalies: 3, dlq: 1 },
      influx: true,
      model: true,
      yaml: {
        input: { kafka: { commitIntervalMs: 500 } },
        // Redone events equal the first ones only on the same engine: `auto` times the
        // engines at each start and may pick another one after the restart.
        model: { engine: 'onnx' },
        threshold: { kind: 'ksigma', k: 3, calibration: 30 },
      },
    });
  });
  afterAll(() => f?.teardown());

  it('loses nothing: every valid frame scored, every bad one dead-lettered, redone events keep their ids', async () => {
    // 12 sources x 1,000 readings with anomalies (so there are events to redo), and one
    // undecodable message after every 100 frames.
    const gen = new SyntheticSource({ seed: 4, sources: 12, length: 1000, anomaliesPerSource: 2 });
    const frames = [...gen.frames()];
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const messages: Array<SensorFrame | OutboundMessage> = [];
    let bad = 0;
    frames.forEach((frame, i) => {
      messages.push(frame);
      if (i % 100 === 99) {
        bad++;
        messages.push({
          key: frame.source,
          value: Buffer.from([0xde, 0xad, 0xbe, 0xef, bad & 0xff]),
          headers: codec.headers,
        });
      }
    });
    await f.produce(messages);

    const first = f.spawn();
    await waitFor(async () => (await f.points()) >= frames.length / 3, {
      what: 'the first detector to score a third of the frames',
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull(); // killed by the signal: no exit code, no clean shutdown
    const scoredBeforeCrash = await f.points();
    expect(scoredBeforeCrash).toBeLessThan(frames.length);

    const second = f.spawn();
    const total = await f.endOffset(f.topics.input);
    expect(total).toBe(frames.length + bad);
    await waitFor(async () => (await f.committed()) >= total, {
      what: 'the restarted detector to commit every offset',
      timeoutMs: 180_000,
      intervalMs: 250,
      state: () => ({ log: second.log.slice(-2) }),
    });

    // Every valid frame has its score point (one per source and time: redone ones overwrite).
    expect(await f.points()).toBe(frames.length);

    // Every bad message is in the DLQ, by its origin offset (once or, if redone, more).
    const dead = new Set<string>();
    const reasons = new Set<string>();
    const events = new Map<string, AnomalyEvent[]>();
    const eventCodec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
    for (const m of await f.read([f.topics.dlq, f.topics.anomalies])) {
      if (m.topic === f.topics.dlq) {
        dead.add(`${m.headers[DlqHeaders.PARTITION]}-${m.headers[DlqHeaders.OFFSET]}`);
        reasons.add(String(m.headers[DlqHeaders.REASON]));
      } else {
        const e = eventCodec.decode(m.value, m.headers as never);
        events.set(e.id, [...(events.get(e.id) ?? []), e]);
      }
    }
    expect(dead.size).toBe(bad);
    expect([...reasons]).toEqual(['AE_ERR_AVRO_DECODE']);

    // Redone events are the same events: same id, same score and source.
    const redone = [...events.values()].filter((list) => list.length > 1);
    for (const list of redone) {
      expect(new Set(list.map((e) => `${e.source} ${e.score} ${e.eventTime}`)).size).toBe(1);
    }
    console.log(
      `[crash] ${scoredBeforeCrash} of ${frames.length} frames scored before SIGKILL; ${events.size} distinct events, ${redone.length} redone after the restart`,
    );
  });
});
