import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AeError, ErrorCodes } from '../core/errors';

/**
 * Labelled multivariate series on disk, described by a small layout spec (YAML or JSON):
 * where the test files are, where each one's training rows come from, where its labels
 * are, how rows are timed, the separator and whether there is a header. Files ending in
 * `.gz` (or starting with gzip's magic bytes) are decompressed. Columns are numbered from 1,
 * as in the error messages; with a header they may also be named.
 */
const column = z.union([z.string().min(1), z.number().int().min(1)]);

export const seriesLayoutSchema = z
  .object({
    description: z.string().optional().describe('what the layout is, for the report'),
    match: z
      .array(z.string())
      .optional()
      .describe('paths under the data folder that identify this layout when no spec is given'),
    test: z
      .object({
        dir: z.string().default('.').describe('folder of the test files, under the data folder'),
        pattern: z.string().default('*').describe('file names to evaluate (* and ? wildcards)'),
      })
      .strict()
      .describe('one series per test file'),
    train: z
      .union([
        z
          .object({ dir: z.string().describe('folder of training files named as the test files') })
          .strict(),
        z
          .object({
            rows: z.number().int().min(1).describe('the first N rows of each test file train'),
          })
          .strict(),
      ])
      .describe('where the rows the model trains on come from'),
    labels: z
      .union([
        z
          .object({
            dir: z
              .string()
              .describe('folder of label files named as the test files, one 0/1 a line'),
          })
          .strict(),
        z.object({ column: column.describe('the test file column holding 0/1') }).strict(),
      ])
      .describe('where the row labels come from'),
    timestamp: z
      .union([
        z
          .object({
            column: column.describe('column of times: epoch milliseconds or an ISO date'),
          })
          .strict(),
        z
          .object({
            intervalMs: z.number().positive().describe('no time column: row i is at i x interval'),
          })
          .strict(),
      ])
      .default({ intervalMs: 60_000 })
      .describe('event time of each row'),
    separator: z.string().min(1).default(','),
    header: z.boolean().default(false).describe('whether the first line names the columns'),
  })
  .strict();

export type SeriesLayout = z.infer<typeof seriesLayoutSchema>;

/** One labelled series: training rows, then test rows with labels, all in file order. */
export interface LabelledSeries {
  name: string;
  /** The channel names (from the header, or `c1`, `c2`, ...). */
  channels: string[];
  train: SeriesRows;
  test: SeriesRows;
  /** One 0/1 per test row. */
  labels: Uint8Array;
}

export interface SeriesRows {
  /** Where the rows came from, for messages. */
  file: string;
  /** rows x channels, row-major. */
  values: Float64Array;
  /** Event time of each row (ms). */
  times: Float64Array;
  rows: number;
}

const fail = (message: string): never => {
  throw new AeError(ErrorCodes.DATA_INVALID, message);
};

/**
 * Reads and checks a layout spec file.
 *
 * @example readSeriesLayout('bench/specs/smd.yaml').train // { dir: 'train' }
 */
export function readSeriesLayout(file: string): SeriesLayout {
  let doc: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${file}: cannot read the layout spec (${(err as Error).message})`,
      { cause: err },
    );
  }
  const parsed = seriesLayoutSchema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    fail(`${file}: not a valid layout spec: ${issues.join('; ')}`);
  }
  return parsed.data!;
}

/** The test files a layout selects under `dataDir`, sorted by name. */
export function seriesFiles(dataDir: string, layout: SeriesLayout): string[] {
  const dir = join(dataDir, layout.test.dir);
  if (!existsSync(dir)) fail(`${dir}: no such folder (test.dir of the layout)`);
  const re = new RegExp(
    '^' +
      layout.test.pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
  const files = readdirSync(dir)
    .filter((f) => re.test(f))
    .sort();
  if (files.length === 0) fail(`${dir}: no file matches '${layout.test.pattern}'`);
  return files;
}

/** A file's text, gunzipped when it is gzip. */
function readText(file: string, what: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${file}: missing ${what} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      { cause: err },
    );
  }
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
}

interface Table {
  file: string;
  header: string[] | null;
  /** Split cells of every data line, with their 1-based line numbers. */
  lines: Array<{ line: number; cells: string[] }>;
}

function readTable(file: string, layout: SeriesLayout, what: string): Table {
  const text = readText(file, what);
  const all = text.split(/\r?\n/);
  const lines: Table['lines'] = [];
  let header: string[] | null = null;
  for (let i = 0; i < all.length; i++) {
    const raw = all[i]!;
    if (raw.trim() === '') continue;
    const cells = raw.split(layout.separator).map((c) => c.trim());
    if (layout.header && header === null) header = cells;
    else lines.push({ line: i + 1, cells });
  }
  if (lines.length === 0) fail(`${file}: no data rows`);
  return { file, header, lines };
}

/** A column reference as a 0-based index into a table's cells. */
function columnIndex(table: Table, ref: string | number, role: string): number {
  if (typeof ref === 'number') {
    const width = table.header?.length ?? table.lines[0]!.cells.length;
    if (ref > width)
      fail(`${table.file}: the ${role} column ${ref} is beyond its ${width} columns`);
    return ref - 1;
  }
  const i = table.header?.indexOf(ref) ?? -1;
  if (i < 0) {
    fail(
      table.header
        ? `${table.file}:1: no ${role} column '${ref}' (columns: ${table.header.join(', ')})`
        : `${table.file}: the ${role} column '${ref}' is named, but the layout has no header`,
    );
  }
  return i;
}

/** Parses a time cell: epoch milliseconds, or a date Date.parse reads (UTC when no zone). */
function parseTime(cell: string): number {
  const n = Number(cell);
  if (cell !== '' && Number.isFinite(n)) return n;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(cell) ? cell : `${cell.replace(' ', 'T')}Z`;
  return Date.parse(iso);
}

interface Parsed {
  rows: SeriesRows;
  channels: string[];
  labels: Uint8Array | null;
}

/** The numeric channels of a table (every column but the label and time columns). */
function parseRows(table: Table, layout: SeriesLayout, withLabels: boolean, t0: number): Parsed {
  const width = table.header?.length ?? table.lines[0]!.cells.length;
  const labelAt =
    withLabels && 'column' in layout.labels
      ? columnIndex(table, layout.labels.column, 'label')
      : -1;
  const timeAt =
    'column' in layout.timestamp ? columnIndex(table, layout.timestamp.column, 'timestamp') : -1;
  const channelAt: number[] = [];
  for (let c = 0; c < width; c++) if (c !== labelAt && c !== timeAt) channelAt.push(c);
  const channels = channelAt.map((c) => table.header?.[c] ?? `c${c + 1}`);
  const n = table.lines.length;
  const d = channelAt.length;
  const values = new Float64Array(n * d);
  const times = new Float64Array(n);
  const labels = labelAt >= 0 ? new Uint8Array(n) : null;
  const interval = 'intervalMs' in layout.timestamp ? layout.timestamp.intervalMs : 0;
  for (let r = 0; r < n; r++) {
    const { line, cells } = table.lines[r]!;
    if (cells.length !== width) {
      fail(`${table.file}:${line}: ${cells.length} columns, expected ${width} (as the first row)`);
    }
    for (let k = 0; k < d; k++) {
      const cell = cells[channelAt[k]!]!;
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) {
        fail(`${table.file}:${line}:${channelAt[k]! + 1}: '${cell}' is not a number`);
      }
      values[r * d + k] = v;
    }
    if (labels) labels[r] = parseLabel(table.file, line, labelAt + 1, cells[labelAt]!);
    if (timeAt >= 0) {
      const t = parseTime(cells[timeAt]!);
      if (!Number.isFinite(t)) {
        fail(`${table.file}:${line}:${timeAt + 1}: '${cells[timeAt]}' is not a time`);
      }
      times[r] = t;
    } else times[r] = (t0 + r) * interval;
  }
  return { rows: { file: table.file, values, times, rows: n }, channels, labels };
}

function parseLabel(file: string, line: number, col: number, cell: string): number {
  const v = Number(cell);
  if (cell === '' || (v !== 0 && v !== 1))
    fail(`${file}:${line}:${col}: label '${cell}' is not 0 or 1`);
  return v;
}

/** A rows' slice [from, to). */
function sliceRows(rows: SeriesRows, from: number, to: number, d: number): SeriesRows {
  return {
    file: rows.file,
    values: rows.values.slice(from * d, to * d),
    times: rows.times.slice(from, to),
    rows: to - from,
  };
}

/**
 * Reads one series of a layout: its test file, its training rows and its labels. Errors
 * name the file, line and column: a wrong column count, a value that is not a number, a
 * missing label or training file, labels that do not match the rows, training and test
 * files with different channels.
 *
 * @example readLabelledSeries('/data/smd-dev', layout, 'machine-1-2.txt.gz').labels.length // 23694
 */
export function readLabelledSeries(
  dataDir: string,
  layout: SeriesLayout,
  name: string,
): LabelledSeries {
  const testFile = join(dataDir, layout.test.dir, name);
  const testTable = readTable(testFile, layout, 'test file');
  let train: Parsed;
  let test: Parsed;
  if ('rows' in layout.train) {
    const all = parseRows(testTable, layout, true, 0);
    const n = layout.train.rows;
    if (n >= all.rows.rows) {
      fail(`${testFile}: ${all.rows.rows} rows, but the layout trains on the first ${n}`);
    }
    const d = all.channels.length;
    train = { rows: sliceRows(all.rows, 0, n, d), channels: all.channels, labels: null };
    test = {
      rows: sliceRows(all.rows, n, all.rows.rows, d),
      channels: all.channels,
      labels: all.labels?.slice(n) ?? null,
    };
  } else {
    const trainFile = join(dataDir, layout.train.dir, name);
    const trainTable = readTable(trainFile, layout, 'training file');
    // Only the test file carries labels; the training file has the same channels and time column.
    const trainLayout: SeriesLayout =
      'column' in layout.labels ? { ...layout, labels: { dir: '' } } : layout;
    train = parseRows(withoutLabelColumn(trainTable, layout), trainLayout, false, 0);
    test = parseRows(testTable, layout, true, train.rows.rows);
    if (train.channels.length !== test.channels.length) {
      fail(
        `${trainFile}:${trainTable.lines[0]!.line}: ${train.channels.length} channels, but the test file ${testFile} has ${test.channels.length}`,
      );
    }
    const differ = train.channels.findIndex((c, i) => c !== test.channels[i]);
    if (differ >= 0) {
      fail(
        `${trainFile}:1:${differ + 1}: channel '${train.channels[differ]}', but the test file ${testFile} has '${test.channels[differ]}' there`,
      );
    }
  }
  let labels = test.labels;
  if (labels === null && 'dir' in layout.labels) {
    const labelFile = join(dataDir, layout.labels.dir, name);
    const text = readText(labelFile, 'label file');
    const lines = text.split(/\r?\n/);
    const values: number[] = [];
    lines.forEach((l, i) => {
      if (l.trim() !== '') values.push(parseLabel(labelFile, i + 1, 1, l.trim()));
    });
    if (values.length !== test.rows.rows) {
      fail(`${labelFile}: ${values.length} labels, but ${testFile} has ${test.rows.rows} rows`);
    }
    labels = Uint8Array.from(values);
  }
  return {
    name: basename(name).replace(/\.gz$/, ''),
    channels: test.channels,
    train: train.rows,
    test: test.rows,
    labels: labels!,
  };
}

/** A training table has no label column when labels are a column of the test files. */
function withoutLabelColumn(table: Table, layout: SeriesLayout): Table {
  if (!('column' in layout.labels)) return table;
  const at = columnIndexOrNone(table, layout.labels.column);
  if (at < 0) return table;
  return {
    ...table,
    header: table.header?.filter((_, i) => i !== at) ?? null,
    lines: table.lines.map((l) => ({ ...l, cells: l.cells.filter((_, i) => i !== at) })),
  };
}

function columnIndexOrNone(table: Table, ref: string | number): number {
  if (typeof ref === 'number') return ref - 1 < (table.lines[0]?.cells.length ?? 0) ? ref - 1 : -1;
  return table.header?.indexOf(ref) ?? -1;
}
