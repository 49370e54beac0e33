import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { loadPipeline } from '../config/load-pipeline';
import { AeError, ErrorCodes } from '../core/errors';
import { readSeriesLayout, type SeriesLayout } from '../eval/series-data';
import { formatSeriesTable, writeSeriesReport } from '../eval/series-report';
import { dataFolder } from './options';
import { StepProgress } from './step-progress';

/** The package's folder: the layout specs of known datasets ship in bench/specs/. */
const PACKAGE_DIR = resolve(__dirname, '..', '..');
const SPEC_NAMES = ['aestream-layout.yaml', 'aestream-layout.yml', 'aestream-layout.json'];

interface SeriesOpts {
  data: string;
  pipeline: string;
  spec?: string;
  out: string;
  json?: boolean;
  retrain?: boolean;
  files?: string;
  progress: boolean;
}

/**
 * The layout of a data folder: `--spec`, else a spec file inside the folder, else the
 * shipped spec whose `match` paths all exist in it (e.g. SMD's train/, test/, test_label/).
 */
export function resolveLayout(
  dataDir: string,
  spec?: string,
): { layout: SeriesLayout; name: string } {
  if (spec) return { layout: readSeriesLayout(resolve(spec)), name: spec };
  for (const name of SPEC_NAMES) {
    const file = join(dataDir, name);
    if (existsSync(file)) return { layout: readSeriesLayout(file), name: file };
  }
  const shipped = join(PACKAGE_DIR, 'bench', 'specs');
  const candidates = existsSync(shipped) ? readdirSync(shipped).sort() : [];
  for (const file of candidates) {
    const layout = readSeriesLayout(join(shipped, file));
    if (layout.match?.length && layout.match.every((p) => existsSync(join(dataDir, p)))) {
      return { layout, name: `bench/specs/${file}` };
    }
  }
  throw new AeError(
    ErrorCodes.CLI_USAGE,
    `${dataDir}: no layout spec: pass --spec FILE, or put ${SPEC_NAMES[0]} in the folder (see bench/specs/smd.yaml)`,
  );
}

/** `aestream evaluate series`: the deployed detector on labelled multivariate series. */
export function seriesCommand(): Command {
  return new Command('series')
    .description(
      'train and run a pipeline on labelled multivariate series (one model and source per file) and score its verdicts',
    )
    .requiredOption('--data <dir>', 'folder of labelled series (its layout: --spec)')
    .requiredOption(
      '-p, --pipeline <file>',
      'sensor pipeline YAML (features and store are set per file)',
    )
    .option(
      '--spec <file>',
      'layout spec (YAML or JSON); default: aestream-layout.yaml in --data, or a shipped one that matches',
    )
    .option('--out <dir>', 'report.md, results.json, plots/ and the trained models', 'series-eval')
    .option('--files <list>', 'only these test files (comma-separated name prefixes)')
    .option('--json', 'print results.json instead of the table')
    .option(
      '--retrain',
      "run the pipeline's retrainer beside the detector (releases reach it in memory)",
    )
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      '\nA row is flagged when the window that ends at it is judged an anomaly (see report.md).\n' +
        'Example:\n  aestream evaluate series --data ../shared/datasets/smd-dev -p pipelines/multivariate.yaml',
    )
    .action(async (opts: SeriesOpts) => {
      const dataDir = dataFolder(opts.data);
      const { layout, name } = resolveLayout(dataDir, opts.spec);
      const pipeline = loadPipeline(opts.pipeline);
      const out = resolve(opts.out);
      mkdirSync(out, { recursive: true });
      // Loaded on use: training pulls in tfjs, which other commands do not need.
      const { evaluateSeries } = await import('../app/evaluate-series');
      const progress = new StepProgress(opts.progress);
      const { report, traces } = await evaluateSeries({
        dataDir,
        layout,
        layoutName: name,
        pipeline,
        out,
        ...(opts.retrain ? { retrain: true } : {}),
        ...(opts.files ? { only: opts.files.split(',').map((s) => s.trim()) } : {}),
        onFileStart: (f, i, n) => progress.start(`${f} (${i + 1}/${n})`),
        onEpoch: (epoch, epochs) => progress.show('epochs', epoch, epochs),
        onRows: (done, total) => progress.show('rows', done, total),
        onFile: (r) => {
          const f1 = r.pointF1 === null ? 'n/a' : r.pointF1.toFixed(3);
          const fc = r.compositeF1 === null ? 'n/a' : r.compositeF1.toFixed(3);
          progress.log(
            `${r.name}: point F1 ${f1}, composite F1 ${fc} (train ${r.trainSeconds.toFixed(0)} s, stream ${r.streamSeconds.toFixed(0)} s)`,
          );
        },
      });
      progress.stop();
      const path = writeSeriesReport(out, report, traces);
      if (opts.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log(formatSeriesTable(report));
      console.log(
        `\n${report.files.length} files in ${report.seconds.toFixed(0)} s; report ${path}`,
      );
    });
}
