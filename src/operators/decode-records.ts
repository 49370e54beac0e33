import { from, mergeMap, of, type Observable, type OperatorFunction } from 'rxjs';
import type { RecordCodec } from '../codecs/avro-codec';
import { AeError, ErrorCodes, messageOf } from '../errors';
import type { KafkaRecord, Outcome } from '../io/kafka-record';

/**
 * Decodes each record's value with `codec`. A record that cannot be decoded travels on as
 * a failed outcome with its reason (AE_ERR_AVRO_DECODE, AE_ERR_SCHEMA_UNKNOWN,
 * AE_ERR_SCHEMA_INCOMPATIBLE), so one bad message never ends the stream. Order is kept,
 * also when a decode waits for the schema registry.
 *
 * Errors that are not about the record (a registry that is down: retriable) end the
 * stream, for the restart policy: dead-lettering good records would lose them.
 *
 * @example
 * source.records().pipe(decodeRecords(createAvroCodec<SensorFrame>('SensorFrame')))
 */
export function decodeRecords<T>(codec: RecordCodec<T>): OperatorFunction<KafkaRecord, Outcome<T>> {
  return mergeMap((record: KafkaRecord): Observable<Outcome<T>> => {
    let decoded: T | Promise<T>;
    try {
      decoded = codec.decode(record.value, record.headers);
    } catch (err) {
      return of(failed<T>(record, err));
    }
    if (!(decoded instanceof Promise)) return of({ ok: true, record, value: decoded });
    return from(
      decoded.then(
        (value): Outcome<T> => ({ ok: true, record, value }),
        (err: unknown): Outcome<T> => failed(record, err),
      ),
    );
  }, 1);
}

function failed<T>(record: KafkaRecord, err: unknown): Outcome<T> {
  if (err instanceof AeError && err.retriable) throw err;
  const error =
    err instanceof AeError
      ? err
      : new AeError(ErrorCodes.AVRO_DECODE, messageOf(err), { cause: err });
  return { ok: false, record, error };
}
