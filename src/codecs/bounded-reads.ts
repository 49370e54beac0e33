import { types } from 'avsc';

/**
 * avsc trusts the item counts written in front of array and map blocks: a corrupt or
 * hostile record claiming 2^31 items makes it allocate (and loop) until the process runs
 * out of memory, long before it notices the bytes ran out. Every item of our schemas takes
 * at least one byte, so a block cannot hold more items than bytes are left: reads of
 * array and map blocks are checked against that, and a record that breaks it fails to
 * decode (AE_ERR_AVRO_DECODE) instead of taking the detector down. Maps keep every key,
 * "__proto__" too (avsc's own read lost it). Applied once, to avsc's array and map types,
 * when this module is loaded (schema-loader imports it).
 */

interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

interface ReadableType {
  typeName: string;
  _read(tap: Tap): unknown;
}

function blockSize(tap: Tap, itemsMayBeEmpty: boolean): number {
  let n = tap.readLong();
  if (n < 0) {
    n = -n;
    tap.skipLong(); // the block's size in bytes
  }
  const left = tap.buf.length - tap.pos;
  if (!itemsMayBeEmpty && n > left) {
    throw new Error(`a block claims ${n} items but only ${Math.max(left, 0)} bytes are left`);
  }
  return n;
}

const zeroSized = (t: ReadableType): boolean => t.typeName === 'null';

type ArrayLikeType = ReadableType & { itemsType: ReadableType };
type MapLikeType = ReadableType & { valuesType: ReadableType };

const arrayProto = (types as unknown as { ArrayType: { prototype: ArrayLikeType } }).ArrayType
  .prototype;
const mapProto = (types as unknown as { MapType: { prototype: MapLikeType } }).MapType.prototype;

arrayProto._read = function (this: ArrayLikeType, tap: Tap): unknown[] {
  const items = this.itemsType;
  const mayBeEmpty = zeroSized(items);
  let n = blockSize(tap, mayBeEmpty);
  // One block (the usual case): an array of its exact length, not one grown by pushes
  // (a decoded frame's values live as long as the frame is in flight).
  const out: unknown[] = new Array<unknown>(n);
  if (n === 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = items._read(tap);
  while ((n = blockSize(tap, mayBeEmpty))) {
    while (n--) out.push(items._read(tap));
  }
  return out;
};

mapProto._read = function (this: MapLikeType, tap: Tap): Record<string, unknown> {
  const values = this.valuesType;
  const out: Record<string, unknown> = {};
  let n: number;
  // A map entry always holds its key (at least its length byte).
  while ((n = blockSize(tap, false))) {
    while (n--) {
      const key = tap.readString();
      const value = values._read(tap);
      // `out['__proto__'] = v` would hit Object.prototype's setter and drop the entry (a map
      // key is any string; the round-trip property test found it): define it as data instead.
      if (key === '__proto__')
        Object.defineProperty(out, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[key] = value;
    }
  }
  return out;
};
