/**
 * Leave-one-out selection among pipeline variants already evaluated on the same data:
 *
 *   npm run bench:loo -- series NAME=smd-a/results.json NAME=smd-b/results.json
 *   npm run bench:loo -- nab ../shared/datasets/nab-dev NAME=nab-a NAME=nab-b
 *
 * (`nab-a` is an `evaluate nab --out` folder.) Each machine (SMD) or category (NAB) is held
 * out in turn; the variant best on the others is chosen and scored on the held-out one.
 * Prints each fold and the held-out figures together.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nabLeaveOneOut, seriesLeaveOneOut } from '../src/eval/leave-one-out';
import { loadNabCorpus } from '../src/eval/nab-corpus';
import { nabResultPath, readNabResultScores } from '../src/eval/nab-results';
import type { SeriesReport } from '../src/eval/series-report';
import type { SeriesCounts } from '../src/eval/series-metrics';

function variantsOf(args: string[]): Array<[string, string]> {
  return args.map((a) => {
    const at = a.indexOf('=');
    if (at < 1) throw new Error(`expected NAME=PATH, got '${a}'`);
    return [a.slice(0, at), resolve(a.slice(at + 1))];
  });
}

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined ? 'n/a' : x.toFixed(3);
const [mode, ...rest] = process.argv.slice(2);
if (mode === 'series') {
  const variants = new Map<string, Map<string, SeriesCounts>>();
  for (const [name, path] of variantsOf(rest)) {
    const report = JSON.parse(readFileSync(path, 'utf8')) as SeriesReport;
    variants.set(name, new Map(report.files.map((f) => [f.name, f.counts])));
  }
  for (const [name, files] of variants) {
    const all = seriesLeaveOneOut(new Map([[name, files]])).pooled;
    console.log(
      `${name}: pooled point F1 ${fmt(all.pointF1)}, composite F1 ${fmt(all.compositeF1)}`,
    );
  }
  const { folds, pooled } = seriesLeaveOneOut(variants);
  console.log('\n| held out | chosen | point F1 of the others |\n|---|---|---:|');
  for (const f of folds) console.log(`| ${f.group} | ${f.chosen} | ${fmt(f.trainScore)} |`);
  console.log(
    `\nleave-one-out, held-out files pooled: point F1 ${fmt(pooled.pointF1)}, composite F1 ${fmt(pooled.compositeF1)}, ` +
      `event recall ${fmt(pooled.eventRecall)}, false alarms ${fmt(pooled.falseAlarmRate)}`,
  );
} else if (mode === 'nab') {
  const [data, ...dirs] = rest;
  const files = loadNabCorpus(resolve(data!));
  const variants = new Map<string, Map<string, Float64Array>>();
  for (const [name, dir] of variantsOf(dirs)) {
    const results = join(dir, 'results', 'aestream');
    variants.set(
      name,
      new Map(
        files.map((f) => [
          f.name,
          readNabResultScores(nabResultPath(results, 'aestream', f.name), f),
        ]),
      ),
    );
  }
  for (const [name, scores] of variants) {
    const r = nabLeaveOneOut(files, new Map([[name, scores]]));
    console.log(
      `${name}: leave-one-category-out standard ${r.score.toFixed(2)} (threshold from the other categories)`,
    );
  }
  const { folds, score } = nabLeaveOneOut(files, variants);
  console.log(
    '\n| held out | chosen | standard on the others | threshold | standard held out |\n|---|---|---:|---:|---:|',
  );
  for (const f of folds)
    console.log(
      `| ${f.group} | ${f.chosen} | ${f.trainScore.toFixed(2)} | ${f.threshold.toFixed(4)} | ${f.heldOut.toFixed(2)} |`,
    );
  console.log(
    `\nleave-one-category-out, held-out categories together: standard ${score.toFixed(2)}`,
  );
} else {
  console.error('usage: loo series NAME=results.json ... | loo nab NAB_DIR NAME=out-dir ...');
  process.exitCode = 1;
}
