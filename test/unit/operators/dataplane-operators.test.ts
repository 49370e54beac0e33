import { TestScheduler } from 'rxjs/testing';
import { lastValueFrom, map, of, Subject, toArray } from 'rxjs';
import { createAvroCodec } from '../../../src/codecs/avro-codec';
import { frameSchema } from '../../../src/core/frame-config';
import type { SensorFrame } from '../../../src/core/records';
import { AeError, ErrorCodes } from '../../../src/core/errors';
import { DlqHeaders, DlqSink, deadLetter, type MessageSink } from '../../../src/outputs/dlq-sink';
import type { KafkaRecord, Outcome } from '../../../src/core/kafka-record';
import type { OutboundMessage } from '../../../src/connectors/kafka/kafka-sink';
import { decodeRecords } from '../../../src/operators/decode-records';
import { toDeadLetters } from '../../../src/operators/to-dead-letters';
import { validateFrames } from '../../../src/operators/validate-frames';

const codec = createAvroCodec<SensorFrame>('SensorFrame');
const config = frameSchema.parse({ kind: 'sensor', features: 2, window: 4 });
const acked: string[] = [];

function record(offset: number, value: Buffer): KafkaRecord {
  return {
    topic: 'in',
    partition: 0,
    offset: String(offset),
    key: Buffer.from('s'),
    timestamp: 1000 + offset,
    headers: { trace: 'abc' },
    value,
    ack: () => void acked.push(String(offset)),
  };
}
const frame = (values: number[]) =>
  codec.encode({ source: 's', time: 1, values, seq: null, attributes: {} });

/** An in-memory message sink: acks after `resolveAll()`, or at once. */
class MemorySink implements MessageSink {
  readonly topic = 'dlq';
  readonly messages: OutboundMessage[] = [];
  private waiting: Array<() => void> = [];
  constructor(private readonly manual = false) {}
  send(m: OutboundMessage): Promise<void> {
    this.messages.push(m);
    return this.manual ? new Promise((r) => this.waiting.push(r)) : Promise.resolve();
  }
  resolveAll(): void {
    this.waiting.splice(0).forEach((r) => r());
  }
}

beforeEach(() => (acked.length = 0));

describe('decodeRecords + validateFrames', () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = new TestScheduler((a, b) => expect(a).toEqual(b))));

  it('keeps order and turns bad records into failed outcomes with reason codes', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const input = {
        a: record(0, frame([1, 2])),
        b: record(1, Buffer.from('junk')),
        c: record(2, frame([1])),
        d: record(3, frame([1, NaN])),
        e: record(4, frame([3, 4])),
      };
      const out = cold('a-b-c-d-e|', input).pipe(
        decodeRecords(codec),
        validateFrames<SensorFrame>(config),
      );
      const summary = (o: Outcome<SensorFrame>) =>
        o.ok ? `ok ${o.record.offset}` : `${o.error.code} ${o.record.offset}`;
      expectObservable(out.pipe(map(summary))).toBe('a-b-c-d-e|', {
        a: 'ok 0',
        b: `${ErrorCodes.AVRO_DECODE} 1`,
        c: `${ErrorCodes.FRAME_SHAPE} 2`,
        d: `${ErrorCodes.NON_FINITE} 3`,
        e: 'ok 4',
      });
    });
  });

  it('passes source errors and completion through, emits nothing for an empty or silent source', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<KafkaRecord>('|').pipe(decodeRecords(codec))).toBe('|');
      expectObservable(cold<KafkaRecord>('-').pipe(decodeRecords(codec))).toBe('-');
      expectObservable(
        cold<KafkaRecord>('--#', {}, new Error('broker gone')).pipe(decodeRecords(codec)),
      ).toBe('--#', {}, new Error('broker gone'));
    });
  });

  it('ends the stream on a retriable decode error (a registry that is down), rather than dead-lettering good data', async () => {
    const flaky = {
      ...codec,
      type: codec.type,
      headers: {},
      ready: async () => undefined,
      encode: (v: SensorFrame) => codec.encode(v),
      decode: () =>
        Promise.reject(
          new AeError(ErrorCodes.SCHEMA_REGISTRY, 'registry down', { retriable: true }),
        ),
    };
    await expect(
      lastValueFrom(of(record(0, frame([1, 2]))).pipe(decodeRecords(flaky))),
    ).rejects.toMatchObject({
      code: ErrorCodes.SCHEMA_REGISTRY,
    });
  });

  it('waits for asynchronous decodes in order', async () => {
    let n = 0;
    const slowFirst = {
      ...codec,
      type: codec.type,
      headers: {},
      ready: async () => undefined,
      encode: (v: SensorFrame) => codec.encode(v),
      decode: (b: Buffer) =>
        n++ === 0
          ? new Promise<SensorFrame>((r) => setTimeout(() => r(codec.decode(b)), 20))
          : codec.decode(b),
    };
    const out = await lastValueFrom(
      of(record(0, frame([1, 0])), record(1, frame([2, 0])), record(2, frame([3, 0]))).pipe(
        decodeRecords(slowFirst),
        toArray(),
      ),
    );
    expect(out.map((o) => (o.ok ? o.value.values[0] : -1))).toEqual([1, 2, 3]);
  });
});

describe('toDeadLetters', () => {
  it('passes good records on, writes bad ones with their reason and acks them only after the DLQ acked', async () => {
    const sink = new MemorySink(true);
    const dlq = new DlqSink(sink);
    const input = new Subject<Outcome<SensorFrame>>();
    const passed: string[] = [];
    input.pipe(toDeadLetters(dlq)).subscribe((o) => passed.push(o.record.offset));
    const bad = record(1, Buffer.from('junk'));
    input.next({ ok: true, record: record(0, frame([1, 2])), value: codec.decode(frame([1, 2])) });
    input.next({
      ok: false,
      record: bad,
      error: new AeError(ErrorCodes.AVRO_DECODE, 'truncated buffer'),
    });
    input.next({
      ok: false,
      record: record(2, frame([1])),
      error: new AeError(ErrorCodes.FRAME_SHAPE, 'expected 2'),
    });
    expect(passed).toEqual(['0']);
    expect(acked).toEqual([]); // good records are acked by the sinks downstream, bad ones by the DLQ
    expect(sink.messages.map((m) => m.headers?.[DlqHeaders.REASON])).toEqual([
      ErrorCodes.AVRO_DECODE,
      ErrorCodes.FRAME_SHAPE,
    ]);
    sink.resolveAll();
    await new Promise((r) => setImmediate(r));
    expect(acked).toEqual(['1', '2']);
    expect(dlq.counts()).toEqual({ [ErrorCodes.AVRO_DECODE]: 1, [ErrorCodes.FRAME_SHAPE]: 1 });
  });

  it('completes only once the input ended and every dead letter was written', async () => {
    const sink = new MemorySink(true);
    const input = new Subject<Outcome<SensorFrame>>();
    let completed = false;
    input.pipe(toDeadLetters(new DlqSink(sink))).subscribe({ complete: () => (completed = true) });
    input.next({
      ok: false,
      record: record(3, Buffer.from('junk')),
      error: new AeError(ErrorCodes.AVRO_DECODE, 'truncated buffer'),
    });
    input.complete();
    await new Promise((r) => setImmediate(r));
    expect(completed).toBe(false);
    sink.resolveAll();
    await new Promise((r) => setImmediate(r));
    expect(completed).toBe(true);
    expect(acked).toEqual(['3']);
  });

  it('errors the stream when the DLQ write fails, so nothing is acked that was not written', async () => {
    const dlq = new DlqSink({
      topic: 'dlq',
      send: () => Promise.reject(new AeError(ErrorCodes.KAFKA, 'broker down', { retriable: true })),
    });
    const out = lastValueFrom(
      of<Outcome<SensorFrame>>({
        ok: false,
        record: record(5, Buffer.from('x')),
        error: new AeError(ErrorCodes.AVRO_DECODE, 'bad'),
      }).pipe(toDeadLetters(dlq)),
    );
    await expect(out).rejects.toMatchObject({ code: ErrorCodes.KAFKA });
    expect(acked).toEqual([]);
  });
});

describe('deadLetter', () => {
  it('keeps the original key, bytes and headers and adds reason, message, origin and time', () => {
    const r = record(42, Buffer.from([0xde, 0xad]));
    const m = deadLetter(
      r,
      new AeError(ErrorCodes.NON_FINITE, 'values[1] is NaN'),
      Date.UTC(2026, 10, 27, 12),
    );
    expect(m.key).toEqual(Buffer.from('s'));
    expect(m.value).toEqual(Buffer.from([0xde, 0xad]));
    expect(m.headers).toEqual({
      trace: 'abc',
      [DlqHeaders.REASON]: 'AE_ERR_NON_FINITE',
      [DlqHeaders.MESSAGE]: 'value not finite or too large: values[1] is NaN',
      [DlqHeaders.TOPIC]: 'in',
      [DlqHeaders.PARTITION]: '0',
      [DlqHeaders.OFFSET]: '42',
      [DlqHeaders.TIMESTAMP]: '1042',
      [DlqHeaders.TIME]: '2026-11-27T12:00:00.000Z',
    });
  });
});
