import type { HeaderValue, Headers } from '../core/kafka-record';
import type { Resolver, Type } from 'avsc';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import { fingerprintOf, loadSchema, parseSchema } from './schema-loader';

/**
 * Kafka header naming the writer schema of a plain-Avro value (hex MD5 fingerprint of its
 * canonical form). Plain Avro bytes do not say which schema wrote them; this header does,
 * so readers can resolve older and newer writers. Absent header: the reader's own schema.
 */
export const SCHEMA_HEADER = 'ae.schema';

/** Encodes and decodes one record type; decoding may need I/O (a schema registry lookup). */
export interface RecordCodec<T> {
  /** Reader schema (what decode returns) and writer schema (what encode writes). */
  readonly type: Type;
  /** Prepares encoding (registers the schema with a registry); a no-op for plain Avro. */
  ready(): Promise<void>;
  /** Avro bytes of `value`; throws AeError AE_ERR_AVRO_ENCODE when it does not fit the schema. */
  encode(value: T): Buffer;
  /** Headers to send with encoded values (the writer's fingerprint in plain-Avro mode). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Decodes bytes written with the reader schema or a compatible writer schema. Throws (or
   * rejects with) AeError: AE_ERR_AVRO_DECODE, AE_ERR_SCHEMA_UNKNOWN, AE_ERR_SCHEMA_INCOMPATIBLE.
   */
  decode(bytes: Buffer, headers?: Headers): T | Promise<T>;
}

export interface AvroCodecOptions {
  /** Writer schemas (files, names or avsc Types) besides the reader's that may appear in the topic. */
  writers?: Array<string | Type>;
}

/** Header value as a string, whichever form kafkajs delivered it in. */
export function headerString(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  const v = Array.isArray(value) ? value[value.length - 1] : value;
  return v === undefined ? undefined : v.toString();
}

/**
 * Plain Avro codec with writer/reader resolution: each known writer schema is keyed by its
 * fingerprint (the `ae.schema` header); its resolver into the reader schema is built once.
 *
 * @example
 * const codec = createAvroCodec<SensorFrame>('SensorFrame', { writers: ['./old/sensor-frame-v0.avsc'] });
 * const bytes = codec.encode({ source: 'pump-1', time: Date.now(), values: [1], seq: null, attributes: {} });
 * codec.decode(bytes, codec.headers); // the same frame
 */
export function createAvroCodec<T>(
  schema: string | Type,
  options: AvroCodecOptions = {},
): AvroCodec<T> {
  return new AvroCodec<T>(typeof schema === 'string' ? loadSchema(schema) : schema, options);
}

/** Where every codec encodes before copying the bytes out; grows to the largest value seen. */
let scratch = Buffer.allocUnsafe(64 * 1024);

export class AvroCodec<T> implements RecordCodec<T> {
  readonly fingerprint: string;
  readonly headers: Readonly<Record<string, string>>;
  private readonly writers = new Map<string, Type>();
  private readonly resolvers = new Map<string, Resolver>();

  constructor(
    readonly type: Type,
    options: AvroCodecOptions = {},
  ) {
    this.fingerprint = fingerprintOf(type);
    this.headers = Object.freeze({ [SCHEMA_HEADER]: this.fingerprint });
    for (const w of options.writers ?? []) this.addWriter(w);
  }

  /** Makes a writer schema known; returns its fingerprint. Incompatibility shows on decode. */
  addWriter(writer: string | Type | object): string {
    const type =
      typeof writer === 'string'
        ? loadSchema(writer)
        : isAvscType(writer)
          ? writer
          : parseSchema(writer as never);
    const fp = fingerprintOf(type);
    if (fp !== this.fingerprint) this.writers.set(fp, type);
    return fp;
  }

  async ready(): Promise<void> {}

  encode(value: T): Buffer {
    try {
      // Into a scratch buffer, then copied out: avsc's toBuffer writes a value of over 1 KiB
      // twice (into its shared 1 KiB buffer, then again into one of the right size).
      let end = this.type.encode(value, scratch, 0);
      if (end < 0) {
        scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, 2 * (scratch.length - end)));
        end = this.type.encode(value, scratch, 0);
      }
      return Buffer.from(scratch.subarray(0, end));
    } catch (err) {
      throw new AeError(ErrorCodes.AVRO_ENCODE, `${this.type.name ?? 'value'}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  decode(bytes: Buffer, headers?: Headers): T {
    const fp = headers ? headerString(headers[SCHEMA_HEADER]) : undefined;
    if (fp === undefined || fp === this.fingerprint) return this.decodeWith(bytes, undefined);
    return this.decodeWith(bytes, this.resolverFor(fp));
  }

  /** Decodes bytes written with `writer` (an avsc Type); used by the registry codec. */
  decodeWithWriter(bytes: Buffer, writer: Type, writerId: string): T {
    if (!this.resolvers.has(writerId) && !this.writers.has(writerId))
      this.writers.set(writerId, writer);
    return this.decodeWith(bytes, this.resolverFor(writerId));
  }

  private resolverFor(fp: string): Resolver | undefined {
    if (fp === this.fingerprint) return undefined;
    const hit = this.resolvers.get(fp);
    if (hit) return hit;
    const writer = this.writers.get(fp);
    if (!writer) {
      throw new AeError(
        ErrorCodes.SCHEMA_UNKNOWN,
        `writer schema ${fp} is not known to the ${this.type.name ?? ''} reader (add it to the codec's writers)`,
      );
    }
    let resolver: Resolver;
    try {
      resolver = this.type.createResolver(writer);
    } catch (err) {
      throw new AeError(
        ErrorCodes.SCHEMA_INCOMPATIBLE,
        `writer schema ${fp} cannot be read as ${this.type.name ?? 'the reader schema'}: ${messageOf(err)}`,
        { cause: err },
      );
    }
    this.resolvers.set(fp, resolver);
    return resolver;
  }

  private decodeWith(bytes: Buffer, resolver: Resolver | undefined): T {
    try {
      return this.type.fromBuffer(bytes, resolver) as T;
    } catch (err) {
      throw new AeError(
        ErrorCodes.AVRO_DECODE,
        `not a valid ${this.type.name ?? 'Avro'} record: ${messageOf(err)}`,
        {
          cause: err,
        },
      );
    }
  }
}

function isAvscType(x: unknown): x is Type {
  return typeof x === 'object' && x !== null && typeof (x as Type).createResolver === 'function';
}
