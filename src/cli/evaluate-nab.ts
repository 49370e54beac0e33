import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AeError, ErrorCodes } from '../core/errors';
import {
  defaultAutoencoderDetectorArgs,
  runAutoencoderOnCorpus,
} from '../eval/autoencoder-nab-detector';
import { defaultLikelihoodArgs, LikelihoodScorer } from '../eval/likelihood-scorer';
import { initBackend } from '../training/backend';
import { loadNabCorpus } from '../eval/nab-corpus';
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
import { integer } from './options';

interface NabOpts {
  model: 'autoencoder' | 'zscore';
  epochs: number;
  data: string;
  results?: string;
  detector?: string;
  threshold?: NabThresholds;
  out: string;
  window: number;
  history: number;
  short: number;
  suppress: number;
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

/**
 * `aestream evaluate nab --data <dir> [--results <dir>]`: the Numenta Anomaly Benchmark on
 * any folder with NAB's layout. Without --results it runs aestream's streaming detector over
 * every file (row by row, each score from the past only) and writes NAB result CSVs, plots
 * and a report under --out; with --results it scores existing NAB result CSVs. Prints the
 * normalized score of the three profiles and a per-file table.
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
    .addOption(
      new Option(
        '--model <kind>',
        'detector: the dense autoencoder, or the windowed z-score baseline (no model)',
      )
        .choices(['autoencoder', 'zscore'])
        .default('autoencoder'),
    )
    .option(
      '--epochs <n>',
      'autoencoder: epochs of the first training on the probationary rows',
      integer('--epochs', 1),
      defaultAutoencoderDetectorArgs.epochs,
    )
    .option(
      '--window <rows>',
      'z-score detector: past values that define the expected level',
      integer('--window', 1),
      defaultLikelihoodArgs.window,
    )
    .option(
      '--history <rows>',
      'both detectors: past raw scores (z or reconstruction error) that define their normal range',
      integer('--history', 1),
      defaultLikelihoodArgs.history,
    )
    .option(
      '--short <rows>',
      'both detectors: raw scores averaged for the short-term level',
      integer('--short', 1),
      defaultLikelihoodArgs.short,
    )
    .option(
      '--suppress <rows>',
      'both detectors: rows after a peak during which lower scores are halved (0 = off)',
      integer('--suppress', 0),
      defaultLikelihoodArgs.suppress,
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  aestream evaluate nab --data ../shared/datasets/nab-dev\n' +
        '  aestream evaluate nab --data ../shared/datasets/nab-dev --results ../shared/datasets/nab-dev/results/numenta \\\n' +
        '      --threshold standard=0.542187690735,reward_low_FN_rate=0.542187690735,reward_low_FP_rate=0.575195503235',
    )
    .action(async (opts: NabOpts) => {
      const dataDir = resolve(opts.data);
      if (!existsSync(dataDir))
        throw new AeError(ErrorCodes.CLI_USAGE, `--data: no such folder: ${opts.data}`);
      const files = loadNabCorpus(dataDir);
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
        const likelihood = { history: opts.history, short: opts.short, suppress: opts.suppress };
        if (opts.model === 'zscore') {
          const args = { window: opts.window, ...likelihood };
          output = runNabDetector(files, () => new LikelihoodScorer(args));
        } else {
          const backend = await initBackend('auto');
          console.error(`autoencoder detector on the ${backend} backend, ${files.length} files`);
          output = await runAutoencoderOnCorpus(
            files,
            { ...defaultAutoencoderDetectorArgs, epochs: opts.epochs, likelihood },
            (name, seconds) => console.error(`  ${name}: ${seconds.toFixed(1)} s`),
          );
        }
      }
      const detectSeconds = (Date.now() - started) / 1000;
      const results = scoreNabOutput(files, output, opts.threshold);
      if (opts.results) {
        process.stdout.write(formatNabReport(detector, files, results));
      } else {
        const report = writeNabReport(resolve(opts.out), detector, files, output, results);
        process.stdout.write(formatNabReport(detector, files, results));
        console.log(`\ndetector run ${detectSeconds.toFixed(1)} s; report ${report}`);
      }
    });
}
