import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One machine of an SMD-like folder: CSV rows without a header, and a label per test row. */
export interface SeriesMachine {
  train: string[];
  test: string[];
  labels: number[];
}

/**
 * Writes machines into `dir` as SMD is published (gzipped `train/`, `test/`, `test_label/`,
 * one `<name>.gz` each) with the layout spec `aestream evaluate series` reads beside them.
 */
export function writeSeriesFolder(dir: string, machines: Record<string, SeriesMachine>): string {
  for (const d of ['train', 'test', 'test_label']) mkdirSync(join(dir, d), { recursive: true });
  const gz = (lines: ReadonlyArray<string | number>) => gzipSync(lines.join('\n') + '\n');
  for (const [name, m] of Object.entries(machines)) {
    writeFileSync(join(dir, 'train', `${name}.gz`), gz(m.train));
    writeFileSync(join(dir, 'test', `${name}.gz`), gz(m.test));
    writeFileSync(join(dir, 'test_label', `${name}.gz`), gz(m.labels));
  }
  writeFileSync(
    join(dir, 'aestream-layout.json'),
    JSON.stringify({
      test: { dir: 'test', pattern: '*.txt.gz' },
      train: { dir: 'train' },
      labels: { dir: 'test_label' },
    }),
  );
  return dir;
}
