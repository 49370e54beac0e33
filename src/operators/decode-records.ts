import { Observable, type OperatorFunction } from 'rxjs';
import type { RecordCodec } from '../codecs/avro-codec';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import type { KafkaRecord, Outcome } from '../core/kafka-record';

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
  // Plain Avro decodes synchronously and is passed on at once (an inner Observable per record
  // would cost more than the decode). Once a decode waits (a schema-registry lookup), later
  // outcomes queue behind it, in order.
  return (source) =>
    new Observable<Outcome<T>>((subscriber) => {
      let queue: Promise<void> | null = null;
      let waiting = 0;
      const fail = (err: unknown) => subscriber.error(err);
      const subscription = source.subscribe({
        next(record) {
          let outcome: Outcome<T> | Promise<Outcome<T>>;
          try {
            const decoded = codec.decode(record.value, record.headers);
            outcome =
              decoded instanceof Promise
                ? decoded.then(
                    (value): Outcome<T> => ({ ok: true, record, value }),
                    (err: unknown): Outcome<T> => failed(record, err),
                  )
                : { ok: true, record, value: decoded };
          } catch (err) {
            try {
              outcome = failed<T>(record, err);
            } catch (fatal) {
              fail(fatal);
              return;
            }
          }
          if (queue === null && !(outcome instanceof Promise)) {
            subscriber.next(outcome);
            return;
          }
          waiting++;
          const settled = outcome;
          queue = (queue ?? Promise.resolve())
            .then(() => settled)
            .then((o) => {
              subscriber.next(o);
              if (--waiting === 0) queue = null;
            })
            .catch(fail);
        },
        error: fail,
        complete() {
          if (queue === null) subscriber.complete();
          else void queue.then(() => subscriber.complete());
        },
      });
      return () => subscription.unsubscribe();
    });
}

function failed<T>(record: KafkaRecord, err: unknown): Outcome<T> {
  if (err instanceof AeError && err.retriable) throw err;
  const error =
    err instanceof AeError
      ? err
      : new AeError(ErrorCodes.AVRO_DECODE, messageOf(err), { cause: err });
  return { ok: false, record, error };
}
