import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { SCHEMA_HEADER, createAvroCodec } from '../../../src/codecs/avro-codec';
import { bytesToFloats, bytesToIntegers } from '../../../src/codecs/packed-numbers';
import type { Headers } from '../../../src/core/kafka-record';
import {
  loadSchema,
  SCHEMA_FILES,
  SCHEMAS_DIR,
  fingerprintOf,
} from '../../../src/codecs/schema-loader';
import type { ImageFrame, SensorFrame } from '../../../src/core/records';
import { MAX_TIME_MS, MIN_TIME_MS } from '../../../src/codecs/timestamp-millis';
import { AeError, ErrorCodes } from '../../../src/core/errors';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'codecs');

function revive(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (_k, v) =>
    v && typeof v === 'object' && typeof v.$bytes === 'string' ? Buffer.from(v.$bytes, 'hex') : v,
  );
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AeError ? err.code : `not an AeError: ${String(err)}`;
  }
  return undefined;
}

describe('schemas/', () => {
  it.each(Object.keys(SCHEMA_FILES))('%s loads by name and documents every field', (name) => {
    const type = loadSchema(name);
    expect(type.name).toBe(`io.aestream.${name}`);
    const undocumented: string[] = [];
    const visit = (schema: unknown, path: string): void => {
      if (Array.isArray(schema)) return schema.forEach((s, i) => visit(s, `${path}|${i}`));
      if (!schema || typeof schema !== 'object') return;
      const s = schema as {
        type?: unknown;
        fields?: Array<{ name: string; doc?: string; type: unknown }>;
        items?: unknown;
        values?: unknown;
      };
      for (const f of s.fields ?? []) {
        if (!f.doc) undocumented.push(`${path}.${f.name}`);
        visit(f.type, `${path}.${f.name}`);
      }
      visit(s.items, path);
      visit(s.values, path);
      if (typeof s.type === 'object') visit(s.type, path);
    };
    visit(
      JSON.parse(
        readFileSync(
          join(
            __dirname,
            '..',
            '..',
            '..',
            'schemas',
            SCHEMA_FILES[name as keyof typeof SCHEMA_FILES],
          ),
          'utf8',
        ),
      ),
      name,
    );
    expect(undocumented).toEqual([]);
  });
});

describe('golden bytes', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.golden.json'));

  it('cover every shipped schema', () => {
    const covered = files.map((f) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')).schema);
    expect(covered.sort()).toEqual(Object.keys(SCHEMA_FILES).sort());
  });

  it.each(files)('%s: encodes to the recorded bytes and decodes back', (file) => {
    const golden = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as {
      schema: string;
      hex: string;
      value: unknown;
    };
    const codec = createAvroCodec(golden.schema);
    const value = revive(golden.value);
    expect(codec.encode(value).toString('hex')).toBe(golden.hex);
    expect(codec.decode(Buffer.from(golden.hex, 'hex'))).toEqual(value);
  });
});

describe('timestamp-millis', () => {
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const frame = (time: unknown) =>
    ({ source: 's', time, values: [1], seq: null, attributes: {} }) as unknown as SensorFrame;

  it('decodes to a number of milliseconds and accepts a Date when encoding', () => {
    const t = Date.UTC(2026, 10, 27, 12, 0, 0, 1);
    const fromDate = codec.decode(codec.encode(frame(new Date(t))));
    expect(fromDate.time).toBe(t);
    expect(codec.encode(frame(new Date(t)))).toEqual(codec.encode(frame(t)));
  });

  it('refuses times that are not whole milliseconds', () => {
    expect(codeOf(() => codec.encode(frame(1.5)))).toBe(ErrorCodes.AVRO_ENCODE);
    expect(codeOf(() => codec.encode(frame(new Date(NaN))))).toBe(ErrorCodes.AVRO_ENCODE);
    expect(codeOf(() => codec.encode(frame('2026-01-01')))).toBe(ErrorCodes.AVRO_ENCODE);
    // avsc would silently write a wrong long below -2^52: refused rather than corrupted.
    expect(codeOf(() => codec.encode(frame(-(2 ** 52) - 1)))).toBe(ErrorCodes.AVRO_ENCODE);
  });
});

describe('writer/reader resolution', () => {
  const v0 = loadSchema(join(FIXTURES, 'sensor-frame-v0.avsc'));
  const v2 = loadSchema(join(FIXTURES, 'sensor-frame-v2.avsc'));
  const bad = loadSchema(join(FIXTURES, 'sensor-frame-incompatible.avsc'));
  const reader = createAvroCodec<SensorFrame>('SensorFrame', { writers: [v0, v2, bad] });
  const header = (t: typeof v0): Headers => ({ [SCHEMA_HEADER]: Buffer.from(fingerprintOf(t)) });

  it('reads an older writer: missing fields take their defaults, floats become doubles', () => {
    const bytes = v0.toBuffer({ source: 'old', time: 1000, values: [0.5, 2] });
    expect(reader.decode(bytes, header(v0))).toEqual({
      source: 'old',
      time: 1000,
      values: [0.5, 2],
      seq: null,
      attributes: {},
    });
  });

  it('reads a newer writer: fields it does not know are skipped', () => {
    const bytes = v2.toBuffer({
      source: 'new',
      time: 7,
      values: [3],
      quality: 0.5,
      seq: 9,
      attributes: { a: 'b' },
    });
    expect(reader.decode(bytes, header(v2))).toEqual({
      source: 'new',
      time: 7,
      values: [3],
      seq: 9,
      attributes: { a: 'b' },
    });
  });

  it("reads its own schema's records whichever form the header comes in (bytes, text, repeated)", () => {
    const frame = { source: 'own', time: 5, values: [1.5], seq: 2, attributes: {} };
    const bytes = reader.encode(frame);
    const own = reader.headers[SCHEMA_HEADER]!;
    for (const value of [Buffer.from(own), own, [Buffer.from(fingerprintOf(v0)), Buffer.from(own)]])
      expect(reader.decode(bytes, { [SCHEMA_HEADER]: value })).toEqual(frame);
    // Under another writer's header the same bytes go through that writer, not as its own.
    expect(codeOf(() => reader.decode(bytes, header(bad)))).toBe(ErrorCodes.SCHEMA_INCOMPATIBLE);
  });

  it('refuses an incompatible writer with AE_ERR_SCHEMA_INCOMPATIBLE', () => {
    const bytes = bad.toBuffer({ source: 'x', time: 1, values: ['1'] });
    expect(codeOf(() => reader.decode(bytes, header(bad)))).toBe(ErrorCodes.SCHEMA_INCOMPATIBLE);
  });

  it('refuses a writer it was not told about with AE_ERR_SCHEMA_UNKNOWN', () => {
    const plain = createAvroCodec<SensorFrame>('SensorFrame');
    const bytes = v0.toBuffer({ source: 'old', time: 1000, values: [0.5] });
    expect(codeOf(() => plain.decode(bytes, header(v0)))).toBe(ErrorCodes.SCHEMA_UNKNOWN);
  });

  it('classifies truncated and garbage bytes as AE_ERR_AVRO_DECODE', () => {
    const good = reader.encode({
      source: 'p',
      time: 1,
      values: [1, 2, 3],
      seq: null,
      attributes: {},
    });
    expect(codeOf(() => reader.decode(good.subarray(0, good.length - 3)))).toBe(
      ErrorCodes.AVRO_DECODE,
    );
    expect(codeOf(() => reader.decode(Buffer.concat([good, Buffer.from([1, 2])])))).toBe(
      ErrorCodes.AVRO_DECODE,
    );
    expect(codeOf(() => reader.decode(Buffer.from('{"source":"json?"}')))).toBe(
      ErrorCodes.AVRO_DECODE,
    );
    expect(codeOf(() => reader.decode(Buffer.alloc(0)))).toBe(ErrorCodes.AVRO_DECODE);
  });
});

describe('round trips (property-based)', () => {
  const timeArb = fc.integer({ min: MIN_TIME_MS, max: MAX_TIME_MS });
  const sensorArb = fc.record({
    source: fc.string({ minLength: 1, maxLength: 40 }),
    time: timeArb,
    values: fc.array(fc.double(), { maxLength: 64 }),
    // Sequence numbers count up from 0; avsc corrupts longs below -2^52 (see timestamp-millis.ts).
    seq: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1 }), { nil: null }),
    attributes: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), {
      maxKeys: 4,
    }),
  });

  it('SensorFrame: decode(encode(x)) equals x, NaN and -0 included', () => {
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    fc.assert(
      fc.property(sensorArb, (frame) => {
        const back = codec.decode(codec.encode(frame), codec.headers);
        expect(back.values.map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual(
          frame.values.map((v) => (Object.is(v, -0) ? '-0' : v)),
        );
        expect({ ...back, values: [] }).toEqual({
          ...frame,
          values: [],
          attributes: { ...frame.attributes },
        });
      }),
      { numRuns: 300 },
    );
  });

  it('ImageFrame: decode(encode(x)) equals x', () => {
    const codec = createAvroCodec<ImageFrame>('ImageFrame');
    const imageArb = fc.record({
      source: fc.string({ minLength: 1, maxLength: 20 }),
      time: timeArb,
      width: fc.integer({ min: 1, max: 64 }),
      height: fc.integer({ min: 1, max: 64 }),
      channels: fc.constantFrom(1, 3),
      encoding: fc.constantFrom('RAW_U8', 'RAW_F32', 'PNG') as fc.Arbitrary<ImageFrame['encoding']>,
      data: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(imageArb, (frame) => {
        expect(codec.decode(codec.encode(frame))).toEqual(frame);
      }),
      { numRuns: 300 },
    );
  });

  /** The golden SourceState's threshold, values and times as schemas before v5 wrote them. */
  const earlier = {
    threshold: '{"kind":"static","value":0.4}',
    values: [0.5, -1.25, 2, 3.5, 0.125, 8],
    times: [1767323045000, 1767323046000, 1767323047000],
  };
  /** The golden SourceState; with `median` false, as schemas before v7 (no medians' range) read. */
  const goldenState = (median = true) => {
    const state = revive(
      (
        JSON.parse(readFileSync(join(FIXTURES, 'source-state.golden.json'), 'utf8')) as {
          value: unknown;
        }
      ).value,
    ) as Record<string, unknown> & {
      values: Buffer;
      times: Buffer;
      rules: { likelihood: Record<string, unknown>; range: Record<string, unknown> };
    };
    if (!median) state.rules.range.median = null;
    return state;
  };

  /** What today's reader gives for a record written with `old`'s earlier schema. */
  const asRead = (old: Record<string, unknown>) => ({
    ...old,
    threshold: Buffer.from(earlier.threshold),
  });

  it('a SourceState packs its values as little-endian floats and its times as varint differences', () => {
    const state = goldenState();
    expect(Array.from(bytesToFloats(state.values))).toEqual(earlier.values);
    expect(bytesToIntegers(state.times)).toEqual(earlier.times);
  });

  it('a SourceState of the first schema (before rules and events were kept) reads with them null', () => {
    const v1 = loadSchema(join(SCHEMAS_DIR, 'history', 'source-state-v1.avsc'));
    const reader = createAvroCodec<Record<string, unknown>>('SourceState', { writers: [v1] });
    const { rules: _rules, events: _events, ...rest } = goldenState();
    const old = { ...rest, ...earlier };
    const back = reader.decode(v1.toBuffer(old), { [SCHEMA_HEADER]: fingerprintOf(v1) });
    expect(back).toEqual({ ...asRead(old), rules: null, events: null });
  });

  it("a SourceState of the second schema (before the newest reading's likelihood) reads with it null", () => {
    const v2 = loadSchema(join(SCHEMAS_DIR, 'history', 'source-state-v2.avsc'));
    const reader = createAvroCodec<Record<string, unknown>>('SourceState', { writers: [v2] });
    const value = goldenState(false);
    const { newest: _newest, ...likelihood } = value.rules.likelihood;
    const old = { ...value, ...earlier, rules: { ...value.rules, likelihood } };
    const back = reader.decode(v2.toBuffer(old), { [SCHEMA_HEADER]: fingerprintOf(v2) });
    expect(back).toEqual({
      ...asRead(old),
      rules: { ...old.rules, likelihood: { ...likelihood, newest: null } },
    });
  });

  it('SourceStates of the third to sixth schemas (JSON or binary threshold, arrays or bytes) read as written', () => {
    const { threshold: _threshold, ...arrays } = earlier;
    for (const [version, old, read] of [
      ['v3', { ...goldenState(false), ...earlier }, asRead],
      ['v4', { ...goldenState(false), ...arrays }, (x: object) => x],
      ['v5', goldenState(false), (x: object) => x],
      ['v6', goldenState(false), (x: object) => x],
    ] as const) {
      const writer = loadSchema(join(SCHEMAS_DIR, 'history', `source-state-${version}.avsc`));
      const reader = createAvroCodec<Record<string, unknown>>('SourceState', { writers: [writer] });
      const back = reader.decode(writer.toBuffer(old), { [SCHEMA_HEADER]: fingerprintOf(writer) });
      expect(back).toEqual(read(old));
    }
  });

  it('encodes values of any size exactly as avsc writes them, each into bytes of its own', () => {
    const codec = createAvroCodec<ImageFrame>('ImageFrame');
    const frame = (size: number, fill: number): ImageFrame => ({
      source: `img-${size}`,
      time: 1_700_000_000_000,
      width: 1,
      height: 1,
      channels: 1,
      encoding: 'RAW_U8',
      data: Buffer.alloc(size, fill),
    });
    // From under avsc's 1 KiB buffer to past the codec's own 64 KiB (which then grows).
    const sizes = [10, 3_000, 70_000, 200_000, 10];
    const encoded = sizes.map((n, i) => codec.encode(frame(n, i)));
    sizes.forEach((n, i) => {
      expect(encoded[i]!.equals(codec.type.toBuffer(frame(n, i)))).toBe(true);
      expect(codec.decode(encoded[i]!)).toEqual(frame(n, i));
    });
  });

  it('an older writer round-trips through the current reader', () => {
    const v0 = loadSchema(join(FIXTURES, 'sensor-frame-v0.avsc'));
    const reader = createAvroCodec<SensorFrame>('SensorFrame', { writers: [v0] });
    const headers = { [SCHEMA_HEADER]: fingerprintOf(v0) };
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        timeArb,
        fc.array(fc.float({ noNaN: true }), { maxLength: 16 }),
        (source, time, values) => {
          const back = reader.decode(v0.toBuffer({ source, time, values }), headers);
          expect(back).toEqual({
            source,
            time,
            values: values.map((v) => Math.fround(v)),
            seq: null,
            attributes: {},
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
