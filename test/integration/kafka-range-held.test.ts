import { filter, lastValueFrom, tap, toArray } from 'rxjs';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { SensorFrame } from '../../src/core/records';
import type { Accepted } from '../../src/core/kafka-record';
import { KafkaSink } from '../../src/connectors/kafka/kafka-sink';
import { KafkaRangeSource } from '../../src/connectors/kafka/kafka-range-source';
import { decodeRecords } from '../../src/operators/decode-records';
import { sensorInputs } from '../../src/operators/to-model-inputs';
import { uniqueName } from '../helpers/names';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/**
 * A replay's bounded read (KafkaRangeSource) over sources whose readings wait in their
 * windows (no padding): those readings stay unacked until their window is written, and must
 * not use up `maxInFlight`, or the read stops handing on the readings that complete them.
 */
describe('KafkaRangeSource with readings held in windows (real broker)', () => {
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('range-held', { createTopics: false });
  });
  afterAll(() => f?.teardown());

  it('reads to the end when more readings are held than maxInFlight', async () => {
    const topic = await f.topic(1);
    const sink = new KafkaSink({ brokers: f.brokers, topic, kafka: f.kafka });
    await sink.connect();
    const sources = 40;
    const readings = 60;
    const window = 16;
    const messages = [];
    for (let t = 0; t < readings; t++)
      for (let s = 0; s < sources; s++) {
        const frame = { source: `s${s}`, time: 1_000 * t, values: [t], seq: t, attributes: {} };
        messages.push({ key: frame.source, value: codec.encode(frame) });
      }
    await sink.sendMany(messages);
    await sink.disconnect();

    const total = sources * readings;
    const source = new KafkaRangeSource({
      kafka: f.kafka,
      topic,
      ranges: [{ partition: 0, start: 0, end: total }],
      groupId: uniqueName('range-held'),
      maxInFlight: 100,
    });
    // 40 x 15 = 600 readings wait for their source's first window: 6 x maxInFlight.
    const windows = await lastValueFrom(
      source.records().pipe(
        decodeRecords(codec),
        filter((o): o is Accepted<SensorFrame> => o.ok),
        sensorInputs({ kind: 'sensor', features: 1, window, stride: 1, pad: false }),
        // a sink that has each window at once: its records are acked
        tap((w) => w.covered.forEach((a) => a.record.ack())),
        toArray(),
      ),
    );
    expect(windows).toHaveLength(sources * (readings - window + 1));
    expect(source.progress().every((p) => p.acked === p.total)).toBe(true);
  }, 60_000);
});
