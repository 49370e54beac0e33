import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AeError, ErrorCodes } from '../core/errors';
import { readCsvRows, type NabFile } from './nab-corpus';
import { windowIndex } from './nab-scorer';

/**
 * Reads the anomaly_score column of a NAB result file
 * (`results/<detector>/<category>/<detector>_<file>.csv`) for a data file; it must have one
 * row per data row.
 */
export function readNabResultScores(path: string, file: NabFile): Float64Array {
  let rows: string[][];
  try {
    rows = readCsvRows(path);
  } catch (err) {
    throw new AeError(ErrorCodes.NAB_FORMAT, `${path}: cannot read result file`, { cause: err });
  }
  const col = rows[0]?.indexOf('anomaly_score') ?? -1;
  if (col < 0) throw new AeError(ErrorCodes.NAB_FORMAT, `${path}: no anomaly_score column`);
  if (rows.length - 1 !== file.values.length) {
    throw new AeError(
      ErrorCodes.NAB_FORMAT,
      `${path}: ${rows.length - 1} rows, but ${file.name} has ${file.values.length}`,
    );
  }
  const scores = new Float64Array(rows.length - 1);
  for (let i = 1; i < rows.length; i++) {
    const s = Number(rows[i]![col]);
    if (!(s >= 0 && s <= 1)) {
      throw new AeError(
        ErrorCodes.NAB_FORMAT,
        `${path}:${i + 1}: anomaly_score must be in [0,1], got ${rows[i]![col]}`,
      );
    }
    scores[i - 1] = s;
  }
  return scores;
}

/** Where NAB keeps a detector's output for a data file. */
export function nabResultPath(resultsDir: string, detector: string, fileName: string): string {
  const [category, base] = fileName.split('/') as [string, string];
  return join(resultsDir, category, `${detector}_${base}`);
}

/** Writes a result file in NAB's format: timestamp,value,anomaly_score,[extra],label. */
export function writeNabResult(
  path: string,
  file: NabFile,
  scores: ArrayLike<number>,
  extra: Readonly<Record<string, ArrayLike<number>>> = {},
): void {
  const win = windowIndex(file.values.length, file.windows);
  const extraNames = Object.keys(extra);
  const lines = [['timestamp', 'value', 'anomaly_score', ...extraNames, 'label'].join(',')];
  for (let i = 0; i < file.values.length; i++) {
    const cells = [file.timestamps[i]!, String(file.values[i]), String(scores[i])];
    for (const name of extraNames) cells.push(String(extra[name]![i]));
    cells.push(win[i]! >= 0 ? '1' : '0');
    lines.push(cells.join(','));
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lines.join('\n') + '\n');
}
