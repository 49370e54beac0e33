/**
 * Short labelled series cut from SMD's test halves, to check a multivariate preset at the low
 * end of training data (a few hundred rows per series, the SKAB protocol's shape):
 *
 *   npm run bench:smd-episodes -- ../shared/datasets/smd-dev /tmp/smd-short
 *   aestream evaluate series --data /tmp/smd-short -p pipelines/multivariate.yaml
 *
 * Per machine, up to three episodes that do not overlap: the 400 rows ending 150 rows before
 * a labelled segment starts (anomaly-free) to train on, then 750 test rows in which that
 * segment starts at row 150. Written in SMD's own layout (train/, test/, test_label/, gzip).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const TRAIN = 400;
const TEST = 750;
const LEAD = 150;
const PER_MACHINE = 3;

const [data, out] = process.argv.slice(2);
if (!data || !out) {
  console.error('usage: npm run bench:smd-episodes -- <smd folder> <output folder>');
  process.exit(2);
}
const lines = (file: string) => gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n');
for (const dir of ['train', 'test', 'test_label']) mkdirSync(join(out, dir), { recursive: true });
const write = (dir: string, name: string, rows: string[]) =>
  writeFileSync(join(out, dir, name), gzipSync(rows.join('\n') + '\n'));

let episodes = 0;
for (const file of readdirSync(join(data, 'test'))
  .filter((f) => f.endsWith('.txt.gz'))
  .sort()) {
  const rows = lines(join(data, 'test', file));
  const labels = lines(join(data, 'test_label', file)).map(Number);
  let free = 0; // first row a new episode may use
  let cut = 0;
  for (let a = 0; a < labels.length && cut < PER_MACHINE; a++) {
    if (labels[a] !== 1 || (a > 0 && labels[a - 1] === 1)) continue; // a segment's first row
    const s = a - LEAD - TRAIN;
    if (s < free || s + TRAIN + TEST > rows.length) continue;
    if (labels.slice(s, s + TRAIN).some((l) => l === 1)) continue;
    const name = file.replace(/\.txt\.gz$/, `-e${cut}.txt.gz`);
    write('train', name, rows.slice(s, s + TRAIN));
    write('test', name, rows.slice(s + TRAIN, s + TRAIN + TEST));
    write('test_label', name, labels.slice(s + TRAIN, s + TRAIN + TEST).map(String));
    free = s + TRAIN + TEST;
    cut++;
    episodes++;
  }
}
console.log(`${episodes} episodes of ${TRAIN} training and ${TEST} test rows in ${out}`);
