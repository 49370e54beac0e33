import { SchemaType } from '@kafkajs/confluent-schema-registry';
import wireDecode from '@kafkajs/confluent-schema-registry/dist/wireDecoder';
import { join } from 'node:path';
import {
  confluentFrame,
  confluentUnframe,
  createConfluentCodec,
  type SchemaRegistryClient,
} from '../../../src/codecs/confluent-codec';
import { loadSchema } from '../../../src/codecs/schema-loader';
import type { SensorFrame } from '../../../src/core/records';
import { AeError, ErrorCodes } from '../../../src/core/errors';

// No schema registry server runs here: these tests check the framing bytes and the codec's
// use of the registry through a small in-memory registry with the client's interface.
class MemoryRegistry implements SchemaRegistryClient {
  readonly schemas = new Map<number, string>();
  lookups = 0;
  async register(schema: { type: SchemaType; schema: string }): Promise<{ id: number }> {
    for (const [id, s] of this.schemas) if (s === schema.schema) return { id };
    const id = 100 + this.schemas.size;
    this.schemas.set(id, schema.schema);
    return { id };
  }
  async getSchema(id: number): Promise<unknown> {
    this.lookups++;
    const s = this.schemas.get(id);
    if (!s) throw new Error(`Schema ${id} not found (40403)`);
    return JSON.parse(s);
  }
}

const frame: SensorFrame = {
  source: 'pump-1',
  time: 1_700_000_000_000,
  values: [1, 2],
  seq: null,
  attributes: {},
};

describe('Confluent wire format', () => {
  it('is magic byte 0, the schema id as a big-endian int32, then the Avro bytes', () => {
    const framed = confluentFrame(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect(framed.toString('hex')).toBe('0001020304aabb');
    expect(confluentUnframe(framed)).toEqual({
      schemaId: 0x01020304,
      payload: Buffer.from([0xaa, 0xbb]),
    });
    // and the registry client's own decoder reads our framing
    const theirs = wireDecode(framed);
    expect(theirs.registryId).toBe(0x01020304);
    expect(theirs.payload).toEqual(Buffer.from([0xaa, 0xbb]));
  });

  it('refuses bytes that are not framed (plain Avro, short) with AE_ERR_AVRO_DECODE', () => {
    for (const bytes of [
      Buffer.from([1, 0, 0, 0, 1, 2]),
      Buffer.from([0, 0, 1]),
      Buffer.alloc(0),
    ]) {
      expect(() => confluentUnframe(bytes)).toThrow(
        expect.objectContaining({ code: ErrorCodes.AVRO_DECODE }),
      );
    }
  });

  it('registers the writer schema once, frames with its id, and decodes through the registry', async () => {
    const registry = new MemoryRegistry();
    const codec = createConfluentCodec<SensorFrame>(loadSchema('SensorFrame'), {
      subject: 't-value',
      client: registry,
    });
    await codec.ready();
    const bytes = codec.encode(frame);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(100);
    // a fresh reader knows no ids yet: it looks the writer up once, then decodes synchronously
    const reader = createConfluentCodec<SensorFrame>(loadSchema('SensorFrame'), {
      subject: 't-value',
      client: registry,
    });
    await expect(reader.decode(bytes)).resolves.toEqual(frame);
    expect(reader.decode(bytes)).toEqual(frame);
    expect(registry.lookups).toBe(1);
  });

  it('resolves an older writer registered under the same subject', async () => {
    const registry = new MemoryRegistry();
    const v0 = loadSchema(
      join(__dirname, '..', '..', 'fixtures', 'codecs', 'sensor-frame-v0.avsc'),
    );
    const { id } = await registry.register({
      type: SchemaType.AVRO,
      schema: JSON.stringify(v0.schema()),
    });
    const bytes = confluentFrame(id, v0.toBuffer({ source: 'old', time: 5, values: [0.5] }));
    const reader = createConfluentCodec<SensorFrame>(loadSchema('SensorFrame'), {
      subject: 's',
      client: registry,
    });
    await expect(reader.decode(bytes)).resolves.toEqual({
      source: 'old',
      time: 5,
      values: [0.5],
      seq: null,
      attributes: {},
    });
  });

  it('refuses an id the registry does not have with AE_ERR_SCHEMA_UNKNOWN', async () => {
    const reader = createConfluentCodec<SensorFrame>(loadSchema('SensorFrame'), {
      subject: 's',
      client: new MemoryRegistry(),
    });
    const err = await Promise.resolve(reader.decode(confluentFrame(7, Buffer.from([0])))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AeError);
    expect((err as AeError).code).toBe(ErrorCodes.SCHEMA_UNKNOWN);
  });
});
