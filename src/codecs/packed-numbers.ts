/**
 * Numbers packed into Avro `bytes` for the state changelog: arrays that Avro would write one
 * item at a time (thousands of scores, a window's readings, their times) written in bulk.
 */

/** Whether this machine stores numbers little-endian (then bytes are copied as they are). */
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/** Doubles as little-endian IEEE 754 bytes (8 each): exact. */
export function doublesToBytes(values: Float64Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(values.slice().buffer);
  const out = Buffer.allocUnsafe(values.length * 8);
  for (let i = 0; i < values.length; i++) out.writeDoubleLE(values[i]!, i * 8);
  return out;
}

/** Reads `doublesToBytes` back into the start of `into`. */
export function bytesToDoubles(bytes: Buffer, into: Float64Array): void {
  const n = bytes.length / 8;
  if (LITTLE_ENDIAN) new Uint8Array(into.buffer, into.byteOffset, n * 8).set(bytes);
  else for (let i = 0; i < n; i++) into[i] = bytes.readDoubleLE(i * 8);
}

/** Floats as little-endian IEEE 754 single-precision bytes (4 each): exact for float32 values. */
export function floatsToBytes(values: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(values.slice().buffer);
  const out = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i]!, i * 4);
  return out;
}

/** Reads `floatsToBytes` back; a RangeError when the length is not a whole number of floats. */
export function bytesToFloats(bytes: Buffer): Float32Array {
  if (bytes.length % 4 !== 0) throw new RangeError(`${bytes.length} bytes are not floats`);
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** Integers packed by `integersToBytes` lie within ±2^51 (±71,000 years in ms), so differences stay exact. */
const MAX_PACKED = 2 ** 51;

/**
 * Integers (times in ms) as zigzag varints of their differences, the first from 0: readings
 * a second apart take 2 bytes each instead of Avro's 6 for a whole timestamp. Null when one
 * is not an integer within ±2^51 (keep such numbers as they are).
 */
export function integersToBytes(values: readonly number[]): Buffer | null {
  const out = Buffer.allocUnsafe(8 * values.length);
  let at = 0;
  let prev = 0;
  for (const x of values) {
    if (!Number.isInteger(x) || Math.abs(x) > MAX_PACKED) return null;
    const d = x - prev;
    let z = d >= 0 ? 2 * d : -2 * d - 1;
    prev = x;
    while (z >= 0x80) {
      out[at++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    out[at++] = z;
  }
  return Buffer.from(out.subarray(0, at));
}

/** Reads `integersToBytes` back; a RangeError when the bytes end inside a number. */
export function bytesToIntegers(bytes: Buffer): number[] {
  const out: number[] = [];
  let prev = 0;
  let at = 0;
  while (at < bytes.length) {
    let z = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[at++];
      if (b === undefined || scale > 2 ** 56) throw new RangeError('integers cut short');
      z += (b & 0x7f) * scale;
      scale *= 0x80;
      if (b < 0x80) break;
    }
    prev += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    out.push(prev);
  }
  return out;
}
