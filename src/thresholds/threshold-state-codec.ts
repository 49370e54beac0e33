import { z } from 'zod';
import { AeError, ErrorCodes } from '../core/errors';
import { thresholdSpecSchema } from './threshold-config';
import type { ThresholdState } from './threshold';
import { ThresholdRegistry, type RegistryState } from './threshold-registry';

const registryStateSchema = z.strictObject({
  version: z.literal(1),
  spec: thresholdSpecSchema,
  perKey: z.boolean(),
  warmup: z.enum(['suppress', 'flag']),
  calibrate: z.enum(['model', 'source']).optional(),
  overrides: z.record(z.string(), thresholdSpecSchema),
  thresholds: z.record(z.string(), z.looseObject({ kind: z.string() })),
});

/**
 * The registry's state as JSON text. JSON numbers round-trip doubles exactly, so a decoded
 * registry gives bit-identical thresholds and verdicts.
 *
 * @example
 * const text = encodeRegistryState(registry);
 * const again = decodeRegistryState(text); // same verdicts from here on
 */
export function encodeRegistryState(registry: ThresholdRegistry): string {
  return JSON.stringify(registry.snapshot());
}

/** Rebuilds a registry from `encodeRegistryState` text; AE_ERR_THRESHOLD_STATE when it is not one. */
export function decodeRegistryState(text: string): ThresholdRegistry {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new AeError(ErrorCodes.THRESHOLD_STATE, `not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = registryStateSchema.safeParse(data);
  if (!parsed.success) {
    throw new AeError(
      ErrorCodes.THRESHOLD_STATE,
      `not a registry snapshot: ${z.prettifyError(parsed.error)}`,
    );
  }
  try {
    return ThresholdRegistry.restore(parsed.data as RegistryState);
  } catch (err) {
    throw new AeError(ErrorCodes.THRESHOLD_STATE, `cannot be restored: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** First byte of a binary threshold state: the layout below, version 1. */
const BINARY_VERSION = 1;
/** Value tags of the binary form. */
const NULL = 0;
const FALSE = 1;
const TRUE = 2;
const NUMBER = 3;
const STRING = 4;
/** An array of numbers only: its length, then each as a little-endian IEEE 754 double. */
const NUMBERS = 5;
const ARRAY = 6;
const OBJECT = 7;
/** An integer of at most 31 bits (counts, indexes), zigzag varint: 1-5 bytes instead of 8. */
const INT = 8;

/** Where states are written before being copied out; grows to the largest state seen. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * One threshold's state (`Threshold.snapshot()`) in a compact binary form, for the state
 * changelog: a version byte, then tagged values, every number a little-endian double, so
 * it round-trips bit-exactly (NaN and ±Infinity too) and arrays of numbers (peaks,
 * calibration scores) take 8 bytes each instead of about 20 characters of JSON.
 *
 * @example
 * const bytes = encodeThresholdState(threshold.snapshot());
 * restoreThreshold(decodeThresholdState(bytes)); // the same verdicts from here on
 */
export function encodeThresholdState(state: ThresholdState): Buffer {
  for (;;) {
    const w = { buf: scratch, at: 0 };
    if (writeTag(w, BINARY_VERSION) && writeValue(w, state))
      return Buffer.from(scratch.subarray(0, w.at));
    scratch = Buffer.allocUnsafe(scratch.length * 2);
  }
}

/** Reads `encodeThresholdState` bytes back; AE_ERR_THRESHOLD_STATE when they are not one. */
export function decodeThresholdState(bytes: Uint8Array): ThresholdState {
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  try {
    if (buf[0] !== BINARY_VERSION) throw new Error(`unknown version ${buf[0]}`);
    const r = { buf, at: 1 };
    const state = readValue(r);
    if (r.at !== buf.length) throw new Error(`${buf.length - r.at} bytes after the state`);
    if (
      state === null ||
      typeof state !== 'object' ||
      typeof (state as ThresholdState).kind !== 'string'
    )
      throw new Error('not a state with a kind');
    return state as ThresholdState;
  } catch (err) {
    throw new AeError(ErrorCodes.THRESHOLD_STATE, `binary state: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

interface Cursor {
  buf: Buffer;
  at: number;
}

/** Each writer returns false when the buffer is too small (the caller grows it and starts over). */
function writeTag(w: Cursor, tag: number): boolean {
  if (w.at + 1 > w.buf.length) return false;
  w.buf[w.at++] = tag;
  return true;
}

function writeLength(w: Cursor, n: number): boolean {
  if (w.at + 5 > w.buf.length) return false;
  let v = n >>> 0;
  while (v >= 0x80) {
    w.buf[w.at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  w.buf[w.at++] = v;
  return true;
}

function writeDouble(w: Cursor, x: number): boolean {
  if (w.at + 8 > w.buf.length) return false;
  w.buf.writeDoubleLE(x, w.at);
  w.at += 8;
  return true;
}

/** Keys and kinds are short ASCII: written byte by byte, not through a native call each. */
function writeString(w: Cursor, s: string): boolean {
  const n = s.length;
  if (n < 64 && w.at + 1 + n <= w.buf.length) {
    const start = w.at;
    w.buf[w.at++] = n;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      w.buf[w.at++] = c;
    }
    if (i === n) return true;
    w.at = start;
  }
  const bytes = Buffer.byteLength(s);
  if (!writeLength(w, bytes) || w.at + bytes > w.buf.length) return false;
  w.at += w.buf.write(s, w.at);
  return true;
}

/** JSON's data model: objects drop undefined fields, arrays write them as null. */
function writeValue(w: Cursor, v: unknown): boolean {
  if (v === null || v === undefined) return writeTag(w, NULL);
  switch (typeof v) {
    case 'boolean':
      return writeTag(w, v ? TRUE : FALSE);
    case 'number':
      return writeNumber(w, v);
    case 'string':
      return writeTag(w, STRING) && writeString(w, v);
    case 'object':
      if (Array.isArray(v)) return writeArray(w, v);
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
        return writeValue(w, (v as { toJSON(): unknown }).toJSON());
      return writeObject(w, v as Record<string, unknown>);
    default:
      throw new AeError(
        ErrorCodes.THRESHOLD_STATE,
        `cannot encode a ${typeof v} in a threshold state`,
      );
  }
}

function isSmallInt(x: number): boolean {
  return (x | 0) === x && !Object.is(x, -0);
}

function writeNumber(w: Cursor, x: number): boolean {
  if (isSmallInt(x)) return writeTag(w, INT) && writeLength(w, ((x << 1) ^ (x >> 31)) >>> 0);
  return writeTag(w, NUMBER) && writeDouble(w, x);
}

/** Numbers only: packed doubles, or item by item when that is smaller (mostly small integers). */
function writeArray(w: Cursor, xs: readonly unknown[]): boolean {
  const n = xs.length;
  let numbers = true;
  let itemized = 0;
  for (let i = 0; i < n && numbers; i++) {
    const x = xs[i];
    numbers = typeof x === 'number';
    itemized += numbers && isSmallInt(x as number) ? 3 : 9;
  }
  if (!numbers || itemized < 8 * n) {
    if (!writeTag(w, ARRAY) || !writeLength(w, n)) return false;
    for (let i = 0; i < n; i++) if (!writeValue(w, xs[i])) return false;
    return true;
  }
  if (!writeTag(w, NUMBERS) || !writeLength(w, n) || w.at + 8 * n > w.buf.length) return false;
  for (let i = 0; i < n; i++) {
    w.buf.writeDoubleLE(xs[i] as number, w.at);
    w.at += 8;
  }
  return true;
}

function writeObject(w: Cursor, o: Record<string, unknown>): boolean {
  const keys = Object.keys(o);
  let n = 0;
  for (const k of keys) if (o[k] !== undefined) n++;
  if (!writeTag(w, OBJECT) || !writeLength(w, n)) return false;
  for (const k of keys) {
    const v = o[k];
    if (v !== undefined && (!writeString(w, k) || !writeValue(w, v))) return false;
  }
  return true;
}

function readLength(r: Cursor): number {
  let n = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const b = r.buf[r.at++];
    if (b === undefined) throw new Error('truncated');
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return n;
  }
  throw new Error('bad length');
}

/** Checks that `n` more bytes are there. */
function need(r: Cursor, n: number): void {
  if (r.at + n > r.buf.length) throw new Error('truncated');
}

function readString(r: Cursor): string {
  const n = readLength(r);
  need(r, n);
  const s = r.buf.toString('utf8', r.at, r.at + n);
  r.at += n;
  return s;
}

function readValue(r: Cursor): unknown {
  need(r, 1);
  const tag = r.buf[r.at++];
  switch (tag) {
    case NULL:
      return null;
    case FALSE:
      return false;
    case TRUE:
      return true;
    case NUMBER: {
      need(r, 8);
      const x = r.buf.readDoubleLE(r.at);
      r.at += 8;
      return x;
    }
    case INT: {
      const z = readLength(r);
      if (z > 0xffffffff) throw new Error('bad integer');
      return (z >>> 1) ^ -(z & 1);
    }
    case STRING:
      return readString(r);
    case NUMBERS: {
      const n = readLength(r);
      need(r, 8 * n);
      const xs = new Array<number>(n);
      for (let i = 0; i < n; i++, r.at += 8) xs[i] = r.buf.readDoubleLE(r.at);
      return xs;
    }
    case ARRAY: {
      const n = readLength(r);
      need(r, n); // at least a byte per item
      const xs = new Array<unknown>(n);
      for (let i = 0; i < n; i++) xs[i] = readValue(r);
      return xs;
    }
    case OBJECT: {
      const n = readLength(r);
      need(r, 2 * n);
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = readString(r);
        // As JSON.parse makes it: an own property, never the prototype.
        if (k === '__proto__')
          Object.defineProperty(o, k, {
            value: readValue(r),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else o[k] = readValue(r);
      }
      return o;
    }
    default:
      throw new Error(`unknown tag ${tag}`);
  }
}
