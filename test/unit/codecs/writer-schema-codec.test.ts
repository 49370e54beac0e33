import { createAvroCodec } from '../../../src/codecs/avro-codec';
import { fingerprintOf, loadSchema, shippedSchemaFiles } from '../../../src/codecs/schema-loader';
import { createWriterSchemaCodec } from '../../../src/codecs/writer-schema-codec';
import type { SensorFrame, ThresholdCommand } from '../../../src/core/records';

describe('writer-schema codec (a reader of any project schema)', () => {
  const codec = createWriterSchemaCodec(
    shippedSchemaFiles().map((f) => loadSchema(f)),
    loadSchema('SensorFrame'),
  );
  const command: ThresholdCommand = {
    pipeline: 'sensors',
    key: null,
    action: 'SET',
    parameters: { risk: '1e-5' },
    issuedAt: 1_767_225_600_000,
    issuedBy: 'ops@host',
  };
  const frame: SensorFrame = {
    source: 'pump-1',
    time: 1_767_225_600_000,
    values: [0.5],
    seq: 3,
    attributes: {},
  };

  it('decodes each value with the schema its ae.schema header names', () => {
    const commands = createAvroCodec<ThresholdCommand>('ThresholdCommand');
    const frames = createAvroCodec<SensorFrame>('SensorFrame');
    expect(codec.decode(commands.encode(command), commands.headers)).toEqual(command);
    expect(codec.decode(frames.encode(frame), frames.headers)).toEqual(frame);
  });

  it('decodes a record of an earlier shipped schema (schemas/history/) as it was written', () => {
    const v1 = loadSchema('history/source-state-v1.avsc');
    const old = {
      pipeline: 'sensors',
      source: 'pump-1',
      modelVersion: 'v000001',
      partition: 0,
      offset: 41,
      readings: 2,
      window: 4,
      features: 1,
      values: [0.5, 1],
      times: [1_767_225_600_000, 1_767_225_601_000],
      threshold: null,
      writtenAt: 1_767_225_602_000,
    };
    const headers = { 'ae.schema': fingerprintOf(v1) };
    expect(codec.decode(v1.toBuffer(old), headers)).toEqual(old);
  });

  it('reads a value without the header as the fallback schema', () => {
    expect(codec.decode(createAvroCodec<SensorFrame>('SensorFrame').encode(frame))).toEqual(frame);
  });

  it('names the schemas it knows when the header names another', () => {
    let error: unknown;
    try {
      codec.decode(Buffer.alloc(4), { 'ae.schema': 'feedfacefeedface' });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'AE_ERR_SCHEMA_UNKNOWN' });
    expect(String((error as Error).message)).toMatch(
      /writer schema feedfacefeedface is none of SensorFrame, AnomalyEvent, .*ThresholdCommand/,
    );
  });
});
