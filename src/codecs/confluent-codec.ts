import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
// The package frames with these but does not re-export them from its index.
import {
  MAGIC_BYTE,
  encode as frameWire,
} from '@kafkajs/confluent-schema-registry/dist/wireEncoder';
import type { Type } from 'avsc';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import type { Headers } from '../core/kafka-record';
import { AvroCodec, type RecordCodec } from './avro-codec';
import { parseSchema } from './schema-loader';

/** Bytes before the Avro payload in the Confluent wire format: magic byte 0 + int32 BE schema id. */
export const WIRE_HEADER_SIZE = 5;

/**
 * Frames an Avro payload in the Confluent wire format.
 *
 * @example confluentFrame(42, avroBytes) // <00 00 00 00 2a ...avroBytes>
 */
export function confluentFrame(schemaId: number, payload: Buffer): Buffer {
  return frameWire(schemaId, payload);
}

/** Splits a Confluent-framed value; AE_ERR_AVRO_DECODE when it is not one (plain Avro, garbage). */
export function confluentUnframe(bytes: Buffer): { schemaId: number; payload: Buffer } {
  if (bytes.length < WIRE_HEADER_SIZE || bytes[0] !== MAGIC_BYTE[0]) {
    throw new AeError(
      ErrorCodes.AVRO_DECODE,
      `not in the Confluent wire format (expected magic byte 0 and a 4-byte schema id; got ${bytes.length} bytes starting ${bytes.subarray(0, 5).toString('hex') || '(empty)'})`,
    );
  }
  return { schemaId: bytes.readInt32BE(1), payload: bytes.subarray(WIRE_HEADER_SIZE) };
}

/** What the codec needs of a schema registry (the kafkajs client, or a fake in unit tests). */
export interface SchemaRegistryClient {
  register(
    schema: { type: SchemaType; schema: string },
    opts: { subject: string },
  ): Promise<{ id: number }>;
  getSchema(id: number): Promise<unknown>;
}

export interface ConfluentCodecOptions {
  /** Registry URL, e.g. http://registry:8081. */
  url?: string;
  /** Subject the writer schema is registered under; by Confluent's TopicNameStrategy `<topic>-value`. */
  subject: string;
  /** A client to use instead of one built from `url`. */
  client?: SchemaRegistryClient;
}

/**
 * Codec in the Confluent wire format: encode registers the schema (once, in `ready()`) and
 * prefixes its id; decode fetches unknown writer ids from the registry once, then resolves
 * them into the reader schema like the plain codec does.
 *
 * @example
 * const codec = createConfluentCodec<SensorFrame>(loadSchema('SensorFrame'), { url, subject: 'sensors.frames-value' });
 * await codec.ready();
 * const bytes = codec.encode(frame);   // 0x00 + id + Avro
 * await codec.decode(bytes);            // the frame
 */
export function createConfluentCodec<T>(
  type: Type,
  options: ConfluentCodecOptions,
): ConfluentCodec<T> {
  return new ConfluentCodec<T>(type, options);
}

export class ConfluentCodec<T> implements RecordCodec<T> {
  readonly headers: Readonly<Record<string, string>> = Object.freeze({});
  private readonly avro: AvroCodec<T>;
  private readonly client: SchemaRegistryClient;
  private schemaId: number | undefined;
  private readonly writers = new Map<number, Type>();
  private readonly fetching = new Map<number, Promise<Type>>();

  constructor(
    readonly type: Type,
    private readonly options: ConfluentCodecOptions,
  ) {
    this.avro = new AvroCodec<T>(type);
    if (options.client) this.client = options.client;
    else if (options.url)
      this.client = new SchemaRegistry({ host: options.url }) as SchemaRegistryClient;
    else throw new TypeError('ConfluentCodec needs a registry url or client');
  }

  async ready(): Promise<void> {
    if (this.schemaId !== undefined) return;
    try {
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(this.type.schema()) },
        { subject: this.options.subject },
      );
      this.schemaId = id;
      this.writers.set(id, this.type);
    } catch (err) {
      throw new AeError(
        ErrorCodes.SCHEMA_REGISTRY,
        `cannot register schema under ${this.options.subject}: ${messageOf(err)}`,
        { cause: err, retriable: true },
      );
    }
  }

  encode(value: T): Buffer {
    if (this.schemaId === undefined) throw new Error('ConfluentCodec.encode before ready()');
    return confluentFrame(this.schemaId, this.avro.encode(value));
  }

  decode(bytes: Buffer, _headers?: Headers): T | Promise<T> {
    const { schemaId, payload } = confluentUnframe(bytes);
    const writer = this.writers.get(schemaId);
    if (writer) return this.avro.decodeWithWriter(payload, writer, `registry:${schemaId}`);
    return this.fetchWriter(schemaId).then((w) =>
      this.avro.decodeWithWriter(payload, w, `registry:${schemaId}`),
    );
  }

  private fetchWriter(id: number): Promise<Type> {
    let pending = this.fetching.get(id);
    if (!pending) {
      pending = this.client.getSchema(id).then(
        (schema) => {
          const json = isExportable(schema) ? schema.schema() : schema;
          const type = parseSchema(json as never, `registry schema ${id}`);
          this.writers.set(id, type);
          return type;
        },
        (err: unknown) => {
          this.fetching.delete(id);
          const notFound = /not found|40403/i.test(messageOf(err));
          throw new AeError(
            notFound ? ErrorCodes.SCHEMA_UNKNOWN : ErrorCodes.SCHEMA_REGISTRY,
            `schema id ${id}: ${messageOf(err)}`,
            { cause: err, retriable: !notFound },
          );
        },
      );
      this.fetching.set(id, pending);
    }
    return pending;
  }
}

function isExportable(x: unknown): x is { schema(): unknown } {
  return (
    typeof x === 'object' && x !== null && typeof (x as { schema?: unknown }).schema === 'function'
  );
}
