import { createReadStream } from 'node:fs';
import { basename, extname } from 'node:path';
import { createInterface } from 'node:readline';
import type { SensorFrame } from '../../core/records';
import { AeError, ErrorCodes } from '../../core/errors';

export interface CsvOptions {
  /** Source id of every frame; default the file name without extension (or `sourceColumn`). */
  source?: string;
  /** Column holding the source id (generic CSV); overrides `source` per row. */
  sourceColumn?: string;
  /** Column holding the event time (ISO-8601, `YYYY-MM-DD hh:mm:ss` as UTC, or epoch ms); default `timestamp` or `time`. */
  timeColumn?: string;
  /** Value columns in order; default every column except the time and source columns. */
  valueColumns?: string[];
  /** Stop after this many rows. */
  limit?: number;
}

/**
 * Frames of a CSV file with a header row: one frame per row, the value columns as the
 * reading's D features. NAB files (`timestamp,value`) are the D = 1 case. A row that cannot
 * be read fails with AE_ERR_FILE_FORMAT and its line number: data files are inputs a
 * user prepared, so a silent skip would hide a problem.
 *
 * @example
 * for await (const frame of readCsvFrames('../shared/datasets/nab-dev/data/realTweets/Twitter_volume_AAPL.csv')) { ... }
 * readCsvFrames('plant.csv', { sourceColumn: 'machine', valueColumns: ['temp', 'rpm'] })
 */
export async function* readCsvFrames(
  file: string,
  options: CsvOptions = {},
): AsyncGenerator<SensorFrame> {
  const lines = createInterface({ input: openStream(file), crlfDelay: Infinity });
  const defaultSource = options.source ?? basename(file, extname(file));
  let header: string[] | undefined;
  let timeIdx = -1;
  let sourceIdx = -1;
  let valueIdx: number[] = [];
  let lineNo = 0;
  let rows = 0;
  for await (const raw of lines) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    const cells = splitCsvLine(line);
    if (!header) {
      header = cells;
      ({ timeIdx, sourceIdx, valueIdx } = columnsOf(file, header, options));
      continue;
    }
    if (options.limit !== undefined && rows >= options.limit) break;
    const fail = (what: string) =>
      new AeError(ErrorCodes.FILE_FORMAT, `${file}:${lineNo}: ${what}`);
    if (cells.length !== header.length)
      throw fail(`expected ${header.length} columns, got ${cells.length}`);
    const time = parseTime(cells[timeIdx]);
    if (time === undefined) throw fail(`cannot read time "${cells[timeIdx]}"`);
    const values = valueIdx.map((i) => (cells[i] === '' ? NaN : Number(cells[i])));
    const bad = values.findIndex(
      (v, k) => Number.isNaN(v) && cells[valueIdx[k]].toLowerCase() !== 'nan',
    );
    if (bad >= 0)
      throw fail(`column ${header[valueIdx[bad]]}: "${cells[valueIdx[bad]]}" is not a number`);
    rows++;
    yield {
      source: sourceIdx >= 0 ? cells[sourceIdx] : defaultSource,
      time,
      values,
      seq: rows - 1,
      attributes: {},
    };
  }
  if (!header) throw new AeError(ErrorCodes.FILE_FORMAT, `${file}: empty file (no header row)`);
}

/** NAB data files: `timestamp,value`, timestamps in UTC. Same as readCsvFrames with D = 1. */
export function readNabCsv(
  file: string,
  options: Pick<CsvOptions, 'source' | 'limit'> = {},
): AsyncGenerator<SensorFrame> {
  return readCsvFrames(file, { ...options, timeColumn: 'timestamp', valueColumns: ['value'] });
}

function openStream(file: string) {
  const stream = createReadStream(file, 'utf8');
  stream.on('error', () => undefined); // surfaced through the readline iterator
  return stream;
}

function columnsOf(file: string, header: string[], options: CsvOptions) {
  const find = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0)
      throw new AeError(
        ErrorCodes.FILE_FORMAT,
        `${file}: no column "${name}" (columns: ${header.join(', ')})`,
      );
    return i;
  };
  const timeIdx = options.timeColumn
    ? find(options.timeColumn)
    : header.includes('timestamp')
      ? find('timestamp')
      : header.includes('time')
        ? find('time')
        : (() => {
            throw new AeError(
              ErrorCodes.FILE_FORMAT,
              `${file}: no time column (name it "timestamp" or "time", or pass timeColumn)`,
            );
          })();
  const sourceIdx = options.sourceColumn ? find(options.sourceColumn) : -1;
  const valueIdx = options.valueColumns
    ? options.valueColumns.map(find)
    : header.map((_, i) => i).filter((i) => i !== timeIdx && i !== sourceIdx);
  if (valueIdx.length === 0) throw new AeError(ErrorCodes.FILE_FORMAT, `${file}: no value columns`);
  return { timeIdx, sourceIdx, valueIdx };
}

/** Splits one CSV line; double-quoted cells may hold commas and "" escapes. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((c) => c.trim());
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

/** Epoch ms of a CSV time cell: epoch ms digits, ISO-8601, or `YYYY-MM-DD hh:mm:ss` (UTC, as NAB). */
export function parseTime(cell: string | undefined): number | undefined {
  if (cell === undefined || cell === '') return undefined;
  if (/^-?\d{10,}$/.test(cell)) return Number(cell);
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(cell)
    ? `${cell.replace(' ', 'T')}Z`
    : cell;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}
