import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { SensorFrame } from '../../../src/core/records';
import { loadSchema } from '../../../src/codecs/schema-loader';
import { ErrorCodes } from '../../../src/core/errors';
import { readAvroFile, writeAvroFile } from '../../../src/connectors/files/avro-file-source';
import {
  parseTime,
  readCsvFrames,
  readNabCsv,
  splitCsvLine,
} from '../../../src/connectors/files/csv-source';
import { readIdxImages } from '../../../src/connectors/files/idx-source';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'aestream-files-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('CSV sources', () => {
  it('reads NAB files: UTC timestamps, one value, the file name as source', async () => {
    const path = file(
      'Twitter_volume_X.csv',
      'timestamp,value\n2015-02-26 21:42:53,104\n2015-02-26 21:47:53,100.5\n',
    );
    expect(await all(readNabCsv(path))).toEqual([
      {
        source: 'Twitter_volume_X',
        time: Date.UTC(2015, 1, 26, 21, 42, 53),
        values: [104],
        seq: 0,
        attributes: {},
      },
      {
        source: 'Twitter_volume_X',
        time: Date.UTC(2015, 1, 26, 21, 47, 53),
        values: [100.5],
        seq: 1,
        attributes: {},
      },
    ]);
  });

  it('reads generic multi-column CSV with a source column, quoted cells and a limit', async () => {
    const path = file(
      'plant.csv',
      'time,machine,temp,"rpm, avg"\n1700000000000,"m-1",20.5,1500\n2026-01-01T00:00:00Z,m-2,21,-3e2\n2026-01-01T00:01:00Z,m-1,22,1\n',
    );
    const frames = await all(readCsvFrames(path, { sourceColumn: 'machine', limit: 2 }));
    expect(frames.map((f) => [f.source, f.time, f.values])).toEqual([
      ['m-1', 1_700_000_000_000, [20.5, 1500]],
      ['m-2', Date.UTC(2026, 0, 1), [21, -300]],
    ]);
  });

  it('fails with AE_ERR_FILE_FORMAT and the line number on a bad row', async () => {
    const path = file(
      'bad.csv',
      'timestamp,value\n2015-02-26 21:42:53,1\n2015-02-26 21:47:53,abc\n',
    );
    await expect(all(readNabCsv(path))).rejects.toMatchObject({
      code: ErrorCodes.FILE_FORMAT,
      message: expect.stringContaining('bad.csv:3'),
    });
    const noTime = file('notime.csv', 'a,b\n1,2\n');
    await expect(all(readCsvFrames(noTime))).rejects.toMatchObject({
      code: ErrorCodes.FILE_FORMAT,
    });
  });

  it('keeps explicit NaN cells (the validate step dead-letters them later)', async () => {
    const path = file('nan.csv', 'timestamp,value\n2015-02-26 21:42:53,NaN\n');
    const [f] = await all(readNabCsv(path));
    expect(f.values[0]).toBeNaN();
  });

  it('splits and parses cells', () => {
    expect(splitCsvLine('a,"b,c","say ""hi"""')).toEqual(['a', 'b,c', 'say "hi"']);
    expect(parseTime('2015-02-26 21:42:53')).toBe(Date.UTC(2015, 1, 26, 21, 42, 53));
    expect(parseTime('yesterday')).toBeUndefined();
  });
});

describe('IDX source', () => {
  function idx(shape: number[], data: number[]): Buffer {
    const header = Buffer.alloc(4 + 4 * shape.length);
    header[2] = 0x08;
    header[3] = shape.length;
    shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
    return Buffer.concat([header, Buffer.from(data)]);
  }

  it('reads images (gzipped or not) as RAW_U8 frames with their labels', () => {
    const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 10);
    const images = file('imgs-idx3-ubyte.gz', gzipSync(idx([3, 2, 2], pixels)));
    const labels = file('labels-idx1-ubyte', idx([3], [7, 1, 9]));
    const items = [
      ...readIdxImages(images, { labels, source: 'mnist', startTime: 1000, intervalMs: 10 }),
    ];
    expect(items.map((x) => x.label)).toEqual([7, 1, 9]);
    expect(items[1].frame).toEqual({
      source: 'mnist',
      time: 1010,
      width: 2,
      height: 2,
      channels: 1,
      encoding: 'RAW_U8',
      data: Buffer.from([40, 50, 60, 70]),
    });
  });

  it('refuses label files that do not match', () => {
    const images = file('i2', idx([2, 1, 1], [1, 2]));
    const labels = file('l2', idx([3], [1, 2, 3]));
    expect(() => [...readIdxImages(images, { labels })]).toThrow(
      expect.objectContaining({ code: ErrorCodes.FILE_FORMAT }),
    );
  });
});

describe('Avro container files', () => {
  const frames: SensorFrame[] = Array.from({ length: 2_500 }, (_, i) => ({
    source: `s${i % 3}`,
    time: 1_700_000_000_000 + i,
    values: [i, -i],
    seq: i,
    attributes: i % 2 ? { odd: 'yes' } : ({} as Record<string, string>),
  }));

  it('round-trips frames through a file written with the SensorFrame schema', async () => {
    const path = join(dir, 'frames.avro');
    expect(await writeAvroFile(path, loadSchema('SensorFrame'), frames)).toBe(2_500);
    expect(await all(readAvroFile<SensorFrame>(path))).toEqual(frames);
  });

  it('resolves an older writer file into the current reader schema', async () => {
    const v0 = loadSchema(
      join(__dirname, '..', '..', 'fixtures', 'codecs', 'sensor-frame-v0.avsc'),
    );
    const path = join(dir, 'old.avro');
    await writeAvroFile(path, v0, [{ source: 'old', time: 5, values: [0.5] }]);
    expect(await all(readAvroFile<SensorFrame>(path, loadSchema('SensorFrame')))).toEqual([
      { source: 'old', time: 5, values: [0.5], seq: null, attributes: {} },
    ]);
  });

  it('refuses a file whose schema cannot be resolved, and a file that is not Avro', async () => {
    const bad = loadSchema(
      join(__dirname, '..', '..', 'fixtures', 'codecs', 'sensor-frame-incompatible.avsc'),
    );
    const path = join(dir, 'bad.avro');
    await writeAvroFile(path, bad, [{ source: 'x', time: 1, values: ['1'] }]);
    await expect(all(readAvroFile(path, loadSchema('SensorFrame')))).rejects.toMatchObject({
      code: ErrorCodes.SCHEMA_INCOMPATIBLE,
    });
    const junk = file('junk.avro', 'not an avro file at all');
    await expect(all(readAvroFile(junk))).rejects.toMatchObject({ code: ErrorCodes.FILE_FORMAT });
  });
});
