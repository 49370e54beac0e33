import { createAvroCodec } from '../../../src/codecs/avro-codec';
import type { SensorFrame } from '../../../src/core/records';

/** Zig-zag varint of a long, as Avro writes counts. */
function varint(n: number): number[] {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
  return out;
}

describe('bounded Avro reads', () => {
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const frame: SensorFrame = {
    source: 'p',
    time: 1_700_000_000_000,
    values: [1, 2],
    seq: 3,
    attributes: { a: 'b' },
  };

  it('refuses a record whose array claims more items than bytes are left, at once', () => {
    // source "p", time, then values: a block of 2^31 doubles in a 20-byte message.
    const bytes = Buffer.from([
      ...varint(1),
      0x70,
      ...varint(1_700_000_000_000),
      ...varint(2 ** 31),
      0,
      0,
      0,
    ]);
    // Unchecked, avsc would allocate and loop 2^31 times (the detector ran out of memory).
    expect(() => codec.decode(bytes)).toThrow(
      /claims 2147483648 items but only \d+ bytes are left/,
    );
  });

  it('refuses a map that claims more entries than bytes are left', () => {
    const valid = codec.encode({ ...frame, attributes: {} });
    // Replace the empty map's terminating 0 with a huge count.
    const bytes = Buffer.concat([
      valid.subarray(0, valid.length - 1),
      Buffer.from(varint(2 ** 30)),
    ]);
    expect(() => codec.decode(bytes)).toThrow(/claims \d+ items/);
  });

  it('still reads valid arrays and maps, large ones included', () => {
    expect(codec.decode(codec.encode(frame))).toEqual(frame);
    const many = { ...frame, values: Array.from({ length: 5000 }, (_, i) => i / 7) };
    expect(codec.decode(codec.encode(many)).values).toEqual(many.values);
  });

  it('keeps a map key "__proto__" as an attribute (avsc alone dropped it)', () => {
    // As a producer's JSON would carry it: an own property, not the prototype.
    const attributes = JSON.parse('{"__proto__": "x", "site": "b"}') as Record<string, string>;
    const back = codec.decode(codec.encode({ ...frame, attributes }));
    expect(Object.keys(back.attributes)).toEqual(['__proto__', 'site']);
    expect(Object.getOwnPropertyDescriptor(back.attributes, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(back.attributes)).toBe(Object.prototype);
  });
});
