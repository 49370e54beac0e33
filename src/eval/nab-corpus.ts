import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AeError, ErrorCodes } from '../core/errors';

/** A labelled window as row indices, both ends inclusive. */
export type RowWindow = readonly [start: number, end: number];

export interface NabFile {
  /** `<category>/<file>.csv`, the key NAB's labels and score files use. */
  readonly name: string;
  readonly timestamps: readonly string[];
  readonly values: Float64Array;
  readonly windows: readonly RowWindow[];
}

/**
 * Parses NAB timestamps (`YYYY-MM-DD HH:MM:SS`, optionally with fractional seconds) into
 * milliseconds, as UTC. Data and labels carry no zone, so any fixed zone matches them.
 */
export function parseNabTime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return NaN;
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms);
}

/** Rows of a small CSV (NAB files have no quoting); the header row first. */
export function readCsvRows(file: string): string[][] {
  const text = readFileSync(file, 'utf8');
  return text
    .split(/\r?\n/)
    .filter((line) => line.length > 0)
    .map((line) => line.split(','));
}

/**
 * The files of a folder with NAB's layout (`data/<category>/*.csv` and
 * `labels/combined_windows.json`), any categories, sorted by name, windows as row indices.
 *
 * @example
 * const files = loadNabCorpus('../shared/datasets/nab-dev');
 */
export function loadNabCorpus(dir: string): NabFile[] {
  const dataDir = join(dir, 'data');
  const labelsFile = join(dir, 'labels', 'combined_windows.json');
  if (!existsSync(dataDir) || !existsSync(labelsFile)) {
    throw new AeError(
      ErrorCodes.NAB_FORMAT,
      `${dir}: not a NAB folder (needs data/<category>/*.csv and labels/combined_windows.json)`,
    );
  }
  let labels: Record<string, Array<[string, string]>>;
  try {
    labels = JSON.parse(readFileSync(labelsFile, 'utf8')) as typeof labels;
  } catch (err) {
    throw new AeError(ErrorCodes.NAB_FORMAT, `${labelsFile}: not JSON`, { cause: err });
  }
  const files: NabFile[] = [];
  for (const category of readdirSync(dataDir).sort()) {
    const catDir = join(dataDir, category);
    if (!statSync(catDir).isDirectory()) continue;
    for (const base of readdirSync(catDir).sort()) {
      if (!base.endsWith('.csv')) continue;
      const name = `${category}/${base}`;
      const windows = labels[name];
      if (!windows) throw new AeError(ErrorCodes.NAB_FORMAT, `${labelsFile}: no entry for ${name}`);
      files.push(readNabFile(join(catDir, base), name, windows));
    }
  }
  if (files.length === 0) throw new AeError(ErrorCodes.NAB_FORMAT, `${dataDir}: no CSV files`);
  return files;
}

function readNabFile(path: string, name: string, labelWindows: Array<[string, string]>): NabFile {
  const rows = readCsvRows(path);
  const header = rows[0] ?? [];
  if (header[0] !== 'timestamp' || header[1] !== 'value') {
    throw new AeError(ErrorCodes.NAB_FORMAT, `${path}: header must be "timestamp,value"`);
  }
  const timestamps: string[] = [];
  const values = new Float64Array(rows.length - 1);
  const index = new Map<number, number>();
  for (let i = 1; i < rows.length; i++) {
    const [ts, v] = rows[i]!;
    const t = parseNabTime(ts ?? '');
    const value = Number(v);
    if (!Number.isFinite(t) || v === undefined || !Number.isFinite(value)) {
      throw new AeError(ErrorCodes.NAB_FORMAT, `${path}:${i + 1}: bad row "${rows[i]!.join(',')}"`);
    }
    timestamps.push(ts!);
    values[i - 1] = value;
    index.set(t, i - 1);
  }
  const windows = labelWindows.map(([a, b]): RowWindow => {
    const start = index.get(parseNabTime(a));
    const end = index.get(parseNabTime(b));
    if (start === undefined || end === undefined || end < start) {
      throw new AeError(
        ErrorCodes.NAB_FORMAT,
        `${name}: window [${a}, ${b}] does not match its rows`,
      );
    }
    return [start, end];
  });
  return { name, timestamps, values, windows };
}
