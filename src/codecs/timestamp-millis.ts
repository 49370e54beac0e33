import { Type, types } from 'avsc';

/**
 * The Avro `timestamp-millis` logical type, which avsc does not ship.
 *
 * Decision: decoded values stay plain numbers (milliseconds since the Unix epoch, UTC),
 * not `Date` objects. Frames are hot-path data: a number costs nothing to decode, is what
 * InfluxDB points, windows and JSON output want, and compares with `<`. Encoding accepts a
 * number (a safe integer) or a `Date`, so callers holding a Date need not convert.
 *
 * Resolution: a reader with timestamp-millis reads writers that wrote a plain `long` (or an
 * `int`, promoted) or the same logical type, as the Avro spec allows for logical types.
 *
 * @example
 * const t = Type.forSchema(schema, { logicalTypes: { 'timestamp-millis': TimestampMillisType } });
 * t.toBuffer({ time: new Date('2026-01-01T00:00:00Z') }); // written as long 1767225600000
 */
/**
 * Smallest time written: avsc's long writer silently corrupts values below -2^52 (zigzag
 * overflow; checked with avsc 5.7.9), so earlier times are refused instead. Dates end at
 * +8.64e15 ms anyway.
 */
export const MIN_TIME_MS = -(2 ** 52);
export const MAX_TIME_MS = 8.64e15;

export class TimestampMillisType extends types.LogicalType {
  protected override _fromValue(val: unknown): unknown {
    return val;
  }

  protected override _toValue(val: unknown): unknown {
    const ms = val instanceof Date ? val.getTime() : val;
    // undefined makes avsc report the value as invalid instead of writing a wrong long.
    return typeof ms === 'number' && Number.isInteger(ms) && ms >= MIN_TIME_MS && ms <= MAX_TIME_MS
      ? ms
      : undefined;
  }

  protected override _resolve(type: Type): unknown {
    if (Type.isType(type, 'long', 'int', 'logical:timestamp-millis')) {
      return (val: unknown) => val;
    }
    return undefined;
  }
}

/** The logical types every aestream schema is parsed with. */
export const logicalTypes = { 'timestamp-millis': TimestampMillisType };
