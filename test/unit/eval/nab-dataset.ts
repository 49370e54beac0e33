import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The shared NAB dev subset, read in place (never copied into the repository):
 * $AESTREAM_DATASETS/nab-dev, by default ../shared/datasets/nab-dev beside the repository.
 */
export const nabDevDir = resolve(
  process.env.AESTREAM_DATASETS ?? resolve(__dirname, '..', '..', '..', '..', 'shared', 'datasets'),
  'nab-dev',
);

export const haveNabDev = existsSync(resolve(nabDevDir, 'labels', 'combined_windows.json'));
