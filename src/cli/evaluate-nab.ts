import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AeError, ErrorCodes } from '../core/errors';
import { defaultLikelihoodArgs, LikelihoodScorer } from '../eval/likelihood-scorer';
import { loadPipeline } from '../config/load-pipeline';
import { loadNabCorpus, type NabFile } from '../eval/nab-corpus';
import { sampleMoments } from '../core/sample-moments';
import {
  formatNabReport,
  runNabDetector,
  scoreNabOutput,
  writeNabReport,
  type NabDetectorOutput,
  type NabThresholds,
} from '../eval/nab-evaluation';
import { NAB_PROFILES, type NabProfileName } from '../eval/nab-profiles';
import { nabResultPath, readNabResultScores } from '../eval/nab-results';
import { dataFolder, integer, integerList } from './options';

interface NabOpts {
  model: 'pipeline' | 'zscore';
  retrain?: boolean;
  pipeline: string;
  data: string;
  results?: string;
  detector?: string;
  threshold?: NabThresholds;
  out: string;
  window: number;
  history: number;
  short: number;
  suppress: number;
  json?: boolean;
  trainSeeds?: number[];
}

/** `0.54` (every profile) or `standard=0.54,reward_low_FP_rate=0.57,...`. */
function parseThresholds(v: string): NabThresholds {
  const names = NAB_PROFILES.map((p) => p.name) as string[];
  const out: NabThresholds = {};
  if (!v.includes('=')) {
    const t = Number(v);
    if (!Number.isFinite(t))
      throw new AeError(ErrorCodes.CLI_USAGE, `--threshold: not a number: '${v}'`);
    for (const name of names) out[name as NabProfileName] = t;
    return out;
  }
  for (const part of v.split(',')) {
    const [name, value] = part.split('=').map((s) => s.trim());
    const t = Number(value);
    if (!name || !names.includes(name) || !Number.isFinite(t)) {
      throw new AeError(
        ErrorCodes.CLI_USAGE,
        `--threshold: expected profile=value with a profile of ${names.join(', ')}, got '${part}'`,
      );
    }
    out[name as NabProfileName] = t;
  }
  return out;
}

/** The detector's own verdicts: 0.5 is its threshold under nabScoreOf. */
const OWN_VERDICTS: NabThresholds = {
  standard: 0.5,
  reward_low_FP_rate: 0.5,
  reward_low_FN_rate: 0.5,
};

type NabResults = ReturnType<typeof scoreNabOutput>;
const byProfile = (list: NabResults): Record<string, number> =>
  Object.fromEntries(list.map((r) => [r.profile.name, r.normalized]));

/**
 * `aestream evaluate nab --data <dir> -p <pipeline> [--results <dir>]`: the Numenta Anomaly
 * Benchmark on any folder with NAB's layout. Without --results it runs the pipeline's
 * detector (detectFlow, one model and source per file) over every file and writes NAB
 * result CSVs, plots and a report under --out; `--model zscore` runs the z-score baseline
 * instead; with --results it scores existing NAB result CSVs. Prints the normalized score
 * of the three profiles and a per-file table.
 */
export function nabCommand(): Command {
  return new Command('nab')
    .description(
      'score a streaming detector on the Numenta Anomaly Benchmark (NAB layout: data/, labels/)',
    )
    .option(
      '--data <dir>',
      'NAB folder: data/<category>/*.csv and labels/combined_windows.json',
      '../shared/datasets/nab-dev',
    )
    .option(
      '--results <dir>',
      'score existing NAB result CSVs (<dir>/<category>/<detector>_<file>.csv) instead of running the detector',
    )
    .option(
      '--detector <name>',
      'detector name in result file names (default: the --results folder name, or "aestream")',
    )
    .option(
      '--threshold <t>',
      'fixed threshold: "0.54" for all profiles or "standard=0.54,reward_low_FP_rate=0.57"; default: optimized over the corpus',
      parseThresholds,
    )
    .option('--out <dir>', 'where detector mode writes results/, plots/ and report.md', 'nab-eval')
    .option('--json', 'print the scores per profile (and per file) as one JSON object on stdout')
    .option(
      '-p, --pipeline <file>',
      'sensor pipeline of the detector (frame.features and model.store are set per file)',
      'pipelines/univariate.yaml',
    )
    .addOption(
      new Option(
        '--model <kind>',
        "the pipeline's detector, or the windowed z-score baseline (no model)",
      )
        .choices(['pipeline', 'zscore'])
        .default('pipeline'),
    )
    .option(
      '--retrain',
      "run the pipeline's retrainer beside the detector (releases reach it in memory)",
    )
    .option(
      '--window <rows>',
      'z-score baseline: past values that define the expected level',
      integer('--window', 1),
      defaultLikelihoodArgs.window,
    )
    .option(
      '--history <rows>',
      'z-score baseline: past z values that define their normal range',
      integer('--history', 1),
      defaultLikelihoodArgs.history,
    )
    .option(
      '--short <rows>',
      'z-score baseline: z values averaged for the short-term level',
      integer('--short', 1),
      defaultLikelihoodArgs.short,
    )
    .option(
      '--suppress <rows>',
      'z-score baseline: rows after a peak during which lower scores are halved (0 = off)',
      integer('--suppress', 0),
      defaultLikelihoodArgs.suppress,
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  aestream evaluate nab --data ../shared/datasets/nab-dev -p pipelines/univariate.yaml\n' +
        '  aestream evaluate nab --data ../shared/datasets/nab-dev --results ../shared/datasets/nab-dev/results/numenta \\\n' +
        '      --threshold standard=0.542187690735,reward_low_FN_rate=0.542187690735,reward_low_FP_rate=0.575195503235',
    )
    .option(
      '--train-seeds <list>',
      "run the pipeline's detector once per training seed (model.train.seed, e.g. 42,1,2,3), each into <out>/seed-<n>, and print every run's scores with their mean and sd: how much of a figure is the seed's",
      integerList('--train-seeds', '42,1,2'),
    )
    .action(async (opts: NabOpts) => {
      const dataDir = dataFolder(opts.data);
      const files = loadNabCorpus(dataDir);
      if (opts.trainSeeds) return seedSweep(files, opts, opts.trainSeeds);
      const started = Date.now();
      let output: NabDetectorOutput;
      let detector: string;
      if (opts.results) {
        const resultsDir = resolve(opts.results);
        detector = opts.detector ?? basename(resultsDir);
        output = new Map(
          files.map((f) => [
            f.name,
            readNabResultScores(nabResultPath(resultsDir, detector, f.name), f),
          ]),
        );
      } else {
        detector = opts.detector ?? 'aestream';
        if (opts.model === 'zscore') {
          const args = {
            window: opts.window,
            history: opts.history,
            short: opts.short,
            suppress: opts.suppress,
          };
          output = runNabDetector(files, () => new LikelihoodScorer(args));
        } else {
          const pipeline = loadPipeline(opts.pipeline);
          // Loaded on use: training pulls in tfjs, which scoring result files does not need.
          const { runPipelineOnNab } = await import('../app/evaluate-nab');
          console.error(`pipeline ${pipeline.name} (${opts.pipeline}) on ${files.length} files`);
          output = await runPipelineOnNab(files, {
            pipeline,
            out: resolve(opts.out),
            ...(opts.retrain ? { retrain: true } : {}),
            onFile: logFile,
          });
        }
      }
      const detectSeconds = (Date.now() - started) / 1000;
      const results = scoreNabOutput(files, output, opts.threshold);
      const report = opts.results
        ? null
        : writeNabReport(resolve(opts.out), detector, files, output, results);
      const own =
        !opts.results && opts.model === 'pipeline' && !opts.threshold
          ? scoreNabOutput(files, output, OWN_VERDICTS)
          : null;
      if (opts.json) {
        console.log(
          JSON.stringify({
            detector,
            files: files.length,
            detectSeconds,
            report,
            normalized: byProfile(results),
            ownVerdicts: own ? byProfile(own) : null,
            profiles: results.map((r) => ({
              profile: r.profile.name,
              threshold: r.threshold,
              raw: r.raw,
              normalized: r.normalized,
              files: r.files,
            })),
          }),
        );
        return;
      }
      process.stdout.write(formatNabReport(detector, files, results));
      if (own) {
        console.log(
          `\nat the detector's own verdicts (result threshold 0.5): ${own.map((r) => `${r.profile.name} ${r.normalized.toFixed(2)}`).join(', ')}`,
        );
      }
      if (report) console.log(`\ndetector run ${detectSeconds.toFixed(1)} s; report ${report}`);
    });
}

const logFile = (name: string, seconds: number) =>
  console.error(`  ${name}: ${seconds.toFixed(1)} s`);

/**
 * `--train-seeds`: the pipeline's detector once per training seed, each run scored as a
 * run without the option is (its own optimized thresholds, its own verdicts), then the
 * mean and sample sd of each figure over the runs.
 */
async function seedSweep(files: NabFile[], opts: NabOpts, seeds: number[]): Promise<void> {
  if (opts.results || opts.model !== 'pipeline') {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      "--train-seeds trains the pipeline's model: it cannot be used with --results or --model zscore",
    );
  }
  const base = loadPipeline(opts.pipeline);
  const { runPipelineOnNab } = await import('../app/evaluate-nab');
  const detector = opts.detector ?? 'aestream';
  const runs: Array<{
    seed: number;
    normalized: Record<string, number>;
    ownVerdicts: Record<string, number> | null;
    report: string;
  }> = [];
  for (const seed of seeds) {
    const pipeline = { ...base, model: { ...base.model, train: { ...base.model.train, seed } } };
    const out = resolve(opts.out, `seed-${seed}`);
    console.error(
      `pipeline ${base.name} (${opts.pipeline}), training seed ${seed}, on ${files.length} files`,
    );
    const output = await runPipelineOnNab(files, {
      pipeline,
      out,
      ...(opts.retrain ? { retrain: true } : {}),
      onFile: logFile,
    });
    const results = scoreNabOutput(files, output, opts.threshold);
    const own = opts.threshold ? null : scoreNabOutput(files, output, OWN_VERDICTS);
    const report = writeNabReport(out, detector, files, output, results);
    runs.push({
      seed,
      normalized: byProfile(results),
      ownVerdicts: own ? byProfile(own) : null,
      report,
    });
  }
  const columns = [
    ...NAB_PROFILES.map((p) => ({
      head: p.name,
      of: (r: (typeof runs)[0]) => r.normalized[p.name],
    })),
    ...(opts.threshold
      ? []
      : [
          {
            head: 'standard at own verdicts',
            of: (r: (typeof runs)[0]) => r.ownVerdicts?.standard,
          },
        ]),
  ];
  const stats = columns.map((c) => {
    const { mean, variance } = sampleMoments(runs.map((r) => c.of(r) as number));
    return { head: c.head, mean, sd: Math.sqrt(variance) };
  });
  if (opts.json) {
    console.log(
      JSON.stringify({
        detector,
        files: files.length,
        runs,
        mean: Object.fromEntries(stats.map((s) => [s.head, s.mean])),
        sd: Object.fromEntries(stats.map((s) => [s.head, s.sd])),
      }),
    );
    return;
  }
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    row(['training seed', ...columns.map((c) => c.head)]),
    row(['---', ...columns.map(() => '---:')]),
    ...runs.map((r) =>
      row([String(r.seed), ...columns.map((c) => (c.of(r) as number).toFixed(2))]),
    ),
    row(['**mean**', ...stats.map((s) => `**${s.mean.toFixed(2)}**`)]),
    row(['sd', ...stats.map((s) => s.sd.toFixed(2))]),
  ];
  console.log(lines.join('\n'));
  console.log(`\nreports: ${runs.map((r) => r.report).join(', ')}`);
}
