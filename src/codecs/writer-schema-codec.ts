import type { Type } from 'avsc';
import type { Headers } from '../core/kafka-record';
import { AeError, ErrorCodes } from '../core/errors';
import { AvroCodec, headerString, SCHEMA_HEADER, type RecordCodec } from './avro-codec';
import { fingerprintOf } from './schema-loader';

/**
 * A reader for topics whose record type is not known in advance (what `consume` prints):
 * each value is decoded with the schema its `ae.schema` header names, among `known`; a value
 * without the header with `fallback`. An unknown fingerprint fails with AE_ERR_SCHEMA_UNKNOWN
 * naming the schemas it was looked for in. Encoding writes `fallback`.
 *
 * @example
 * const codec = createWriterSchemaCodec(shippedSchemaFiles().map(loadSchema), loadSchema('SensorFrame'));
 * codec.decode(eventBytes, { 'ae.schema': fingerprintOf(loadSchema('AnomalyEvent')) }); // an AnomalyEvent
 */
export function createWriterSchemaCodec(known: Type[], fallback: Type): RecordCodec<unknown> {
  const byFingerprint = new Map<string, AvroCodec<unknown>>();
  for (const type of [fallback, ...known]) {
    const fp = fingerprintOf(type);
    if (!byFingerprint.has(fp)) byFingerprint.set(fp, new AvroCodec<unknown>(type));
  }
  const fallbackCodec = byFingerprint.get(fingerprintOf(fallback))!;
  return {
    type: fallback,
    headers: fallbackCodec.headers,
    ready: () => Promise.resolve(),
    encode: (value) => fallbackCodec.encode(value),
    decode(bytes: Buffer, headers?: Headers): unknown {
      const fp = headers ? headerString(headers[SCHEMA_HEADER]) : undefined;
      const codec = fp === undefined ? fallbackCodec : byFingerprint.get(fp);
      if (!codec) {
        const names = [...byFingerprint.values()]
          .map((c) => c.type.name?.split('.').pop() ?? '?')
          .join(', ');
        throw new AeError(
          ErrorCodes.SCHEMA_UNKNOWN,
          `writer schema ${fp} is none of ${names} (pass its .avsc with --writer or --schema)`,
        );
      }
      return codec.decode(bytes);
    },
  };
}
