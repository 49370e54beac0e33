import { readFileSync } from 'node:fs';
import { AeError, ErrorCodes } from '../core/errors';
import { readIdxFile } from '../connectors/files/idx-file';
import type { Architecture, SensorArchitecture } from './architecture';

/** Raw (not yet normalized) training samples for an architecture, read from a file. */
export interface TrainingData {
  raw: Float32Array;
  count: number;
  source: string;
  range?: { from: string | number; to: string | number };
}

const isIdx = (bytes: Buffer): boolean =>
  (bytes[0] === 0x1f && bytes[1] === 0x8b) || (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 8);

/**
 * Reads training data for `aestream train`:
 * - IDX images (MNIST layout, .gz or plain) for a conv autoencoder: one sample per image;
 * - CSV for a dense autoencoder: a header row, an optional first `timestamp` column (NAB
 *   CSVs are `timestamp,value`), then D numeric columns; readings are cut into sliding
 *   windows of W with the pipeline's stride.
 * `maxSamples` > 0 keeps the first that many samples.
 *
 * @example
 * const data = readTrainingData('nab.csv', { kind: 'dense-ae', window: 64, features: 1, hidden: [32, 8] }, 1);
 */
export function readTrainingData(
  file: string,
  arch: Architecture,
  stride = 1,
  maxSamples = 0,
): TrainingData {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new AeError(ErrorCodes.DATA_INVALID, `cannot read training data ${file}`, { cause: err });
  }
  if (arch.kind === 'conv-ae') {
    if (!isIdx(bytes)) {
      throw new AeError(ErrorCodes.DATA_INVALID, `${file}: a conv-ae trains on IDX image files`);
    }
    const idx = readIdxFile(file);
    const [n, h, w] = idx.shape as [number, number, number];
    const c = idx.shape[3] ?? 1;
    if (h !== arch.height || w !== arch.width || c !== arch.channels) {
      throw new AeError(
        ErrorCodes.DATA_INVALID,
        `${file}: images are ${w}x${h}x${c}, the pipeline's frames are ${arch.width}x${arch.height}x${arch.channels}`,
      );
    }
    const count = maxSamples > 0 ? Math.min(n, maxSamples) : n;
    const size = h * w * c;
    return {
      raw: Float32Array.from(idx.data.subarray(0, count * size)),
      count,
      source: file,
      range: { from: 0, to: count - 1 },
    };
  }
  return windowsFromCsv(file, bytes.toString('utf8'), arch, stride, maxSamples);
}

/** The readings of a sensor CSV: a header, an optional time column, D numeric columns. */
export interface CsvReadings {
  /** The header cells as written (case kept). */
  header: string[];
  /** Whether the first column is a time (`timestamp`, `time` or `date`). */
  hasTime: boolean;
  /** The time cells as written, one per row (empty without a time column). */
  times: string[];
  /** rows x D values, row-major. */
  readings: Float32Array;
  rows: number;
}

/**
 * Parses a sensor CSV (what `aestream train`, `encode` and `denoise` read): a header row,
 * an optional first `timestamp`/`time`/`date` column, then exactly `features` numeric
 * columns. Errors name the file, line and cell.
 *
 * @example readCsvReadings('nab.csv', text, 1).readings // Float32Array of the values
 */
export function readCsvReadings(file: string, text: string, features: number): CsvReadings {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new AeError(ErrorCodes.DATA_INVALID, `${file}: no data rows`);
  const rawHeader = (lines[0] as string).split(',').map((h) => h.trim());
  const header = rawHeader.map((h) => h.toLowerCase());
  const hasTime = header[0] === 'timestamp' || header[0] === 'time' || header[0] === 'date';
  const first = hasTime ? 1 : 0;
  const columns = header.length - first;
  if (columns !== features) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${file}: ${columns} value column(s) (${header.slice(first).join(', ')}), the pipeline has frame.features ${features}`,
    );
  }
  const readings = new Float32Array((lines.length - 1) * columns);
  const times: string[] = [];
  for (let r = 1; r < lines.length; r++) {
    const cells = (lines[r] as string).split(',');
    if (hasTime) times.push((cells[0] ?? '').trim());
    for (let c = 0; c < columns; c++) {
      const v = Number(cells[first + c]);
      if (!Number.isFinite(v)) {
        throw new AeError(
          ErrorCodes.DATA_INVALID,
          `${file}:${r + 1}: '${cells[first + c] ?? ''}' is not a number`,
        );
      }
      readings[(r - 1) * columns + c] = v;
    }
  }
  return { header: rawHeader, hasTime, times, readings, rows: lines.length - 1 };
}

function windowsFromCsv(
  file: string,
  text: string,
  arch: SensorArchitecture,
  stride: number,
  maxSamples: number,
): TrainingData {
  const { hasTime, times, readings, rows } = readCsvReadings(file, text, arch.features);
  const { window: w, features: d } = arch;
  if (rows < w)
    throw new AeError(ErrorCodes.DATA_INVALID, `${file}: ${rows} readings, a window needs ${w}`);
  let count = Math.floor((rows - w) / stride) + 1;
  if (maxSamples > 0) count = Math.min(count, maxSamples);
  const raw = new Float32Array(count * w * d);
  for (let i = 0; i < count; i++) {
    raw.set(readings.subarray(i * stride * d, (i * stride + w) * d), i * w * d);
  }
  const lastRow = (count - 1) * stride + w - 1;
  return {
    raw,
    count,
    source: file,
    range: hasTime
      ? { from: times[0] as string, to: times[lastRow] as string }
      : { from: 0, to: lastRow },
  };
}
