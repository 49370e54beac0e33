import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { AeError, ErrorCodes } from '../core/errors';
import type { ImageEvalReport, ImageScore } from '../eval/images-eval';

// Duplicated from images-eval (not imported) so that loading the CLI does not load tfjs.
const SCORES: readonly ImageScore[] = ['recon', 'blur', 'latent', 'recon+latent', 'blur+latent'];
import { nabCommand } from './evaluate-nab';
import { seriesCommand } from './evaluate-series';

const ints =
  (name: string) =>
  (v: string): number[] => {
    const list = v.split(',').map((s) => Number(s.trim()));
    if (list.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new AeError(
        ErrorCodes.CLI_USAGE,
        `${name} takes comma-separated non-negative integers, got '${v}'`,
      );
    }
    return list;
  };
const num =
  (name: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new AeError(ErrorCodes.CLI_USAGE, `${name} must be a non-negative number, got '${v}'`);
    return n;
  };

/** Markdown table of an image evaluation (the short report). */
export function formatImageReport(r: ImageEvalReport): string {
  const rows = r.classes.map(
    (c) =>
      `| ${c.cls} | ${c.auroc.toFixed(4)} | ${SCORES.map((k) => c.aurocByScore[k].toFixed(4)).join(' | ')} | ${c.aurocWorstRegion.toFixed(4)} | ${c.trainImages} | ${c.epochs} | ` +
      `${c.trainSeconds.toFixed(1)} | ${Math.round(c.trainSamplesPerSecond)} |`,
  );
  return [
    `# One-class AUROC: ${r.dataset}`,
    '',
    `conv-ae filters [${r.architecture.filters.join(', ')}], latent ${r.architecture.latent}, kernel ${r.architecture.kernel}; ` +
      `backend ${r.backend}, scoring engine ${r.scoringEngine}`,
    `budget: ${Object.entries(r.budget)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `AUROC = the headline score (${String(r.budget.score)}); then the AUROC of every score; worst region = error of the worst 7x7 region.`,
    '',
    `| class | AUROC | ${SCORES.join(' | ')} | worst region | train images | epochs | train s | train samples/s |`,
    `|---:|---:|${SCORES.map(() => '---:|').join('')}---:|---:|---:|---:|---:|`,
    ...rows,
    `| **mean** | **${r.meanAuroc.toFixed(4)}** | ${SCORES.map((k) => r.meanAurocByScore[k].toFixed(4)).join(' | ')} | ${r.meanAurocWorstRegion.toFixed(4)} | | | ${r.totalSeconds.toFixed(0)} (total) | |`,
    '',
  ].join('\n');
}

/**
 * `aestream evaluate <benchmark>`: offline quality benchmarks. `images` is here; other
 * benchmarks (e.g. `nab`) add a subcommand with `.addCommand(...)` from their own file.
 */
export function evaluateCommand(): Command {
  const evaluate = new Command('evaluate').description('offline quality benchmarks with reports');
  evaluate.addCommand(imagesCommand().exitOverride());
  evaluate.addCommand(nabCommand().exitOverride());
  evaluate.addCommand(seriesCommand().exitOverride());
  return evaluate;
}

function imagesCommand(): Command {
  return new Command('images')
    .description(
      'one-class AUROC on an MNIST-layout image dataset (train on one class, score the test set)',
    )
    .option('--data <dir>', 'folder with the four IDX files', '../shared/datasets/mnist')
    .option(
      '--classes <list>',
      'classes to evaluate, e.g. 0,1,2 (default all 10)',
      ints('--classes'),
    )
    .option('--epochs <n>', 'training epochs per class (budget)', num('--epochs'), 15)
    .option('--max-train <n>', 'training images per class, 0 = all (budget)', num('--max-train'), 0)
    .option('--filters <list>', 'conv encoder filters', ints('--filters'), [16, 32])
    .option('--latent <n>', 'bottleneck size', num('--latent'), 32)
    .option('--batch-size <n>', 'training batch size', num('--batch-size'), 64)
    .option('--learning-rate <x>', 'Adam learning rate', num('--learning-rate'), 0.001)
    .option('--patience <n>', 'early-stopping patience (epochs)', num('--patience'), 4)
    .option(
      '--denoise <std>',
      'train as a denoising autoencoder with this noise std',
      num('--denoise'),
      0,
    )
    .option('--error <kind>', 'mse or mae', 'mse')
    .option(
      '--score <kind>',
      `headline score: ${SCORES.join(', ')} (all are reported)`,
      'blur+latent',
    )
    .option(
      '--shrinkage <x>',
      'latent Gaussian covariance shrinkage in [0,1]',
      num('--shrinkage'),
      0.1,
    )
    .option('--blur <radius>', 'box-blur radius of the blur scores (1 = 3x3)', num('--blur'), 1)
    .option(
      '--latent-weight <w>',
      'weight of the latent distance in the combined scores',
      num('--latent-weight'),
      0.5,
    )
    .option('--seeds <n>', 'models per class (seeds) averaged as an ensemble', num('--seeds'), 2)
    .option('--seed <n>', 'seed', num('--seed'), 1)
    .option(
      '--out <file>',
      'JSON results (a .md report is written next to it)',
      'reports/images-eval.json',
    )
    .option('--json', 'print the results as one JSON object on stdout instead of the report')
    .addHelpText(
      'after',
      '\nExample:\n  aestream evaluate images --data ../shared/datasets/fashion-mnist --classes 0,1 --epochs 10',
    )
    .action(
      async (o: {
        data: string;
        classes?: number[];
        epochs: number;
        maxTrain: number;
        filters: number[];
        latent: number;
        batchSize: number;
        learningRate: number;
        patience: number;
        denoise: number;
        error: string;
        score: string;
        shrinkage: number;
        blur: number;
        seeds: number;
        latentWeight: number;
        seed: number;
        out: string;
        json?: boolean;
      }) => {
        if (o.error !== 'mse' && o.error !== 'mae')
          throw new AeError(ErrorCodes.CLI_USAGE, `--error must be mse or mae, got '${o.error}'`);
        if (!SCORES.includes(o.score as ImageScore))
          throw new AeError(
            ErrorCodes.CLI_USAGE,
            `--score must be one of ${SCORES.join(', ')}, got '${o.score}'`,
          );
        if (o.shrinkage > 1)
          throw new AeError(
            ErrorCodes.CLI_USAGE,
            `--shrinkage must be in [0,1], got ${o.shrinkage}`,
          );
        // Loaded on use: tfjs takes a while to import and other commands do not need it.
        const { evaluateImages } = await import('../eval/images-eval');
        const report = await evaluateImages({
          dataDir: resolve(o.data),
          classes: o.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
          filters: o.filters,
          latent: o.latent,
          kernel: 3,
          epochs: o.epochs,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          patience: o.patience,
          maxTrain: o.maxTrain,
          denoise: o.denoise,
          error: o.error,
          score: o.score as ImageScore,
          shrinkage: o.shrinkage,
          blurRadius: o.blur,
          seeds: Math.max(1, Math.round(o.seeds)),
          latentWeight: o.latentWeight,
          seed: o.seed,
          onClass: (c) =>
            console.error(
              `class ${c.cls}: AUROC ${c.auroc.toFixed(4)} [${SCORES.map((k) => `${k} ${c.aurocByScore[k].toFixed(4)}`).join(', ')}] (${c.trainImages} images, ${c.epochs} epochs, ${c.trainSeconds.toFixed(0)} s)`,
            ),
        });
        const out = resolve(o.out);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
        const md = formatImageReport(report);
        writeFileSync(out.replace(/\.json$/, '') + '.md', md);
        if (o.json) {
          console.log(JSON.stringify(report));
          return;
        }
        console.log(md);
        console.log(`results: ${out}`);
      },
    );
}
