import type { KafkaMessage } from 'kafkajs';
import { mergeMap } from 'rxjs';
import { join } from 'node:path';
import { SCHEMA_HEADER, createAvroCodec } from '../../src/codecs/avro-codec';
import { frameSchema } from '../../src/core/frame-config';
import type { ImageFrame, SensorFrame } from '../../src/core/records';
import { fingerprintOf, loadSchema } from '../../src/codecs/schema-loader';
import { ErrorCodes } from '../../src/core/errors';
import { DlqHeaders, DlqSink } from '../../src/outputs/dlq-sink';
import { KafkaSink, type OutboundMessage } from '../../src/connectors/kafka/kafka-sink';
import { KafkaSource } from '../../src/connectors/kafka/kafka-source';
import { decodeRecords } from '../../src/operators/decode-records';
import { toDeadLetters } from '../../src/operators/to-dead-letters';
import { validateFrames } from '../../src/operators/validate-frames';
import { uniqueName } from '../helpers/names';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * Bad input against the real broker: 1,000 bad messages of six kinds interleaved with 4,000
 * good ones go through decode -> validate -> dead letters. Every bad one lands in the DLQ
 * with its reason code, original bytes and origin; every good one flows on; every offset
 * is committed in the end (nothing blocks a partition).
 */
describe('dead-letter routing (real broker)', () => {
  const incompatible = loadSchema(
    join(__dirname, '..', 'fixtures', 'codecs', 'sensor-frame-incompatible.avsc'),
  );
  const codec = createAvroCodec<SensorFrame>('SensorFrame', { writers: [incompatible] });
  const imageCodec = createAvroCodec<ImageFrame>('ImageFrame');
  const frame = frameSchema.parse({ kind: 'sensor', features: 3, window: 8 });
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('dataplane', { createTopics: false });
  });
  afterAll(() => f?.teardown());

  /** The six kinds of bad input and the reason each must get. */
  const badKinds: Array<{ reason: string; make: (i: number) => OutboundMessage }> = [
    {
      reason: ErrorCodes.AVRO_DECODE,
      make: (i) => ({ key: `s${i % 7}`, value: Buffer.from(`garbage ${i} \u0000\u00ff`) }),
    },
    {
      reason: ErrorCodes.SCHEMA_UNKNOWN,
      make: (i) => ({
        key: `s${i % 7}`,
        value: good(i),
        headers: { [SCHEMA_HEADER]: 'ffffffffffffffffffffffffffffffff' },
      }),
    },
    {
      reason: ErrorCodes.SCHEMA_INCOMPATIBLE,
      make: (i) => ({
        key: `s${i % 7}`,
        value: incompatible.toBuffer({ source: `s${i % 7}`, time: i, values: ['1', '2', '3'] }),
        headers: { [SCHEMA_HEADER]: fingerprintOf(incompatible) },
      }),
    },
    {
      reason: ErrorCodes.FRAME_SHAPE,
      make: (i) => ({ key: `s${i % 7}`, value: sensor(i, [1, 2]) }),
    },
    {
      reason: ErrorCodes.NON_FINITE,
      make: (i) => ({ key: `s${i % 7}`, value: sensor(i, [1, i % 2 ? NaN : Infinity, 3]) }),
    },
    {
      // an image frame where a sensor frame belongs decodes as garbage or fails to decode
      reason: 'image-on-sensor-topic',
      make: (i) => ({
        key: `s${i % 7}`,
        value: imageCodec.encode({
          source: `s${i % 7}`,
          time: i,
          width: 2,
          height: 2,
          channels: 1,
          encoding: 'RAW_U8',
          data: Buffer.alloc(4),
        }),
      }),
    },
  ];

  function sensor(i: number, values: number[]): Buffer {
    return codec.encode({
      source: `s${i % 7}`,
      time: 1_700_000_000_000 + i,
      values,
      seq: i,
      attributes: {},
    });
  }
  function good(i: number): Buffer {
    return sensor(i, [i, i + 1, i + 2]);
  }

  it('sends each of 1,000 mixed bad messages to the DLQ with its reason while 4,000 good ones flow', async () => {
    const { kafka, brokers } = f;
    const topic = await f.topic(3, 'in');
    const dlqTopic = await f.topic(1, 'dead');

    // interleave: every 5th message is bad, kinds in rotation; the id header says what it is
    const input = new KafkaSink({ brokers, topic, kafka });
    await input.connect();
    const expected = new Map<string, string>();
    const messages: OutboundMessage[] = [];
    for (let i = 0; i < 5_000; i++) {
      const id = String(i);
      if (i % 5 === 4) {
        const kind = badKinds[Math.floor(i / 5) % badKinds.length];
        const m = kind.make(i);
        messages.push({ ...m, headers: { ...m.headers, 'test.id': id } });
        expected.set(id, kind.reason);
      } else {
        messages.push({
          key: `s${i % 7}`,
          value: good(i),
          headers: { ...codec.headers, 'test.id': id },
        });
      }
    }
    await input.sendMany(messages);
    await input.disconnect();

    const group = uniqueName('dataplane-group');
    const source = new KafkaSource({
      brokers,
      topic,
      group,
      kafka,
      fromBeginning: true,
      commitIntervalMs: 200,
    });
    const dlqProducer = new KafkaSink({ brokers, topic: dlqTopic, kafka });
    await dlqProducer.connect();
    const dlq = new DlqSink(dlqProducer);
    const goodIds = new Set<string>();
    const sub = source
      .records()
      .pipe(
        decodeRecords(codec),
        validateFrames(frame),
        toDeadLetters(dlq),
        mergeMap(async (ok) => ok),
      )
      .subscribe((ok) => {
        goodIds.add(String(ok.record.headers['test.id']));
        ok.record.ack();
      });

    // read the DLQ back with a plain kafkajs consumer
    const dead = new Map<string, KafkaMessage>();
    const reader = kafka.consumer({ groupId: uniqueName('dataplane-dlq-reader') });
    await reader.connect();
    await reader.subscribe({ topic: dlqTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) =>
        void dead.set(String(message.headers!['test.id']), message),
    });

    await waitFor(() => goodIds.size === 4_000 && dead.size === 1_000, {
      what: '4,000 good records through and 1,000 dead letters',
      timeoutMs: 60_000,
      state: () => ({ good: goodIds.size, dead: dead.size }),
    });
    expect(await source.stop()).toEqual({ drained: true, inFlight: 0 });
    sub.unsubscribe();
    await reader.disconnect();
    await dlqProducer.disconnect();

    const wrong: string[] = [];
    const byReason: Record<string, number> = {};
    for (const [id, message] of dead) {
      const want = expected.get(id);
      const reason = String(message.headers![DlqHeaders.REASON]);
      byReason[reason] = (byReason[reason] ?? 0) + 1;
      const ok =
        want === 'image-on-sensor-topic'
          ? [ErrorCodes.AVRO_DECODE, ErrorCodes.FRAME_SHAPE, ErrorCodes.NON_FINITE].includes(
              reason as never,
            )
          : reason === want;
      if (!ok)
        wrong.push(
          `${id}: expected ${want}, got ${reason} (${String(message.headers![DlqHeaders.MESSAGE])})`,
        );
      // original bytes and origin kept
      const original = messages[Number(id)];
      if (!message.value!.equals(original.value)) wrong.push(`${id}: bytes changed`);
      if (String(message.headers![DlqHeaders.TOPIC]) !== topic) wrong.push(`${id}: origin topic`);
      if (!/^\d+$/.test(String(message.headers![DlqHeaders.OFFSET])))
        wrong.push(`${id}: origin offset`);
      if (Number.isNaN(Date.parse(String(message.headers![DlqHeaders.TIME]))))
        wrong.push(`${id}: time`);
    }
    expect(wrong).toEqual([]);
    expect([...goodIds].every((id) => !expected.has(id))).toBe(true);
    // the counter per reason agrees with what landed in the DLQ
    expect(dlq.counts()).toEqual(byReason);
    for (const reason of [
      ErrorCodes.AVRO_DECODE,
      ErrorCodes.SCHEMA_UNKNOWN,
      ErrorCodes.SCHEMA_INCOMPATIBLE,
      ErrorCodes.FRAME_SHAPE,
      ErrorCodes.NON_FINITE,
    ]) {
      expect(byReason[reason]).toBeGreaterThanOrEqual(166);
    }
    // bad records were acked after their dead letter: every partition committed to its end
    const { ends, committed } = await f.offsets(topic, group);
    expect(committed).toEqual(ends);
  }, 90_000);
});
