import fc from 'fast-check';
import {
  bytesToDoubles,
  bytesToFloats,
  bytesToIntegers,
  doublesToBytes,
  floatsToBytes,
  integersToBytes,
} from '../../../src/codecs/packed-numbers';

describe('packed numbers', () => {
  it('round-trips doubles and floats bit for bit, as little-endian IEEE 754', () => {
    fc.assert(
      fc.property(fc.array(fc.double()), fc.array(fc.float()), (ds, fs) => {
        const doubles = Float64Array.from(ds);
        const back = new Float64Array(doubles.length);
        bytesToDoubles(doublesToBytes(doubles), back);
        expect(back).toEqual(doubles);
        const floats = Float32Array.from(fs);
        expect(bytesToFloats(floatsToBytes(floats))).toEqual(floats);
      }),
    );
    expect(floatsToBytes(Float32Array.of(1.5)).toString('hex')).toBe('0000c03f');
    expect(doublesToBytes(Float64Array.of(0.25)).toString('hex')).toBe('000000000000d03f');
  });

  it('writes a view of floats without its neighbours, and refuses bytes that are not floats', () => {
    const all = Float32Array.of(1, 2, 3, 4);
    expect(Array.from(bytesToFloats(floatsToBytes(all.subarray(1, 3))))).toEqual([2, 3]);
    expect(() => bytesToFloats(Buffer.alloc(6))).toThrow(RangeError);
  });

  it('round-trips integers within ±2^51, readings a second apart in 2 bytes each', () => {
    const limit = 2 ** 51;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -limit, max: limit })), (xs) => {
        expect(bytesToIntegers(integersToBytes(xs)!)).toEqual(xs);
      }),
    );
    const extremes = [limit, -limit, 0, -1, 1, limit];
    expect(bytesToIntegers(integersToBytes(extremes)!)).toEqual(extremes);
    const times = Array.from({ length: 31 }, (_, i) => 1_767_323_045_000 + 1_000 * i);
    expect(integersToBytes(times)!.length).toBe(6 + 2 * 30);
    expect(bytesToIntegers(integersToBytes([])!)).toEqual([]);
  });

  it('packs no numbers it could not give back, and refuses integers cut short', () => {
    expect(integersToBytes([1, 1.5])).toBeNull();
    expect(integersToBytes([2 ** 51 + 2])).toBeNull();
    expect(integersToBytes([NaN])).toBeNull();
    const bytes = integersToBytes([1_767_323_045_000])!;
    expect(() => bytesToIntegers(bytes.subarray(0, bytes.length - 1))).toThrow(RangeError);
    expect(() => bytesToIntegers(Buffer.alloc(12, 0xff))).toThrow(RangeError);
  });
});
