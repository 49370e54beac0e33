import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { loadPipeline } from '../config/load-pipeline';
import { formatImagesTable, writeImagesReport } from '../eval/images-eval';
import { dataFolder, integer, integerList } from './options';
import { StepProgress } from './step-progress';

interface ImagesOpts {
  data: string;
  pipeline: string;
  out: string;
  classes?: number[];
  maxTrain: number;
  json?: boolean;
  progress: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** `aestream evaluate images`: the deployed image detector under the one-class protocol. */
export function imagesCommand(): Command {
  return new Command('images')
    .description(
      "one-class AUROC of a pipeline's image detector on an MNIST-layout dataset (per class: train on it, stream the whole test set through the detector)",
    )
    .option(
      '--data <dir>',
      'folder with the four IDX files (train-/t10k- images and labels)',
      '../shared/datasets/mnist',
    )
    .option(
      '-p, --pipeline <file>',
      'image pipeline (model.store is set per class)',
      'pipelines/images.yaml',
    )
    .option('--out <dir>', 'report.md, results.json and the trained models', 'images-eval')
    .option(
      '--classes <list>',
      'only these classes, e.g. 0,1,2 (default all)',
      integerList('--classes', '0,1,2', 0),
    )
    .option(
      '--max-train <n>',
      'at most this many training images per class, the first in file order (budget; 0 = all)',
      integer('--max-train', 0),
      0,
    )
    .option('--json', 'print results.json instead of the table')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      '\nAUROC: anomalous = a test image of another class. Flagged: the share of anomalous and of normal\n' +
        'test images the detector judged anomalies (its threshold, as deployed).\n' +
        'Example:\n  aestream evaluate images -p pipelines/images.yaml --data ../shared/datasets/fashion-mnist --classes 0,1',
    )
    .action(async (opts: ImagesOpts) => {
      const dataDir = dataFolder(opts.data);
      const pipeline = loadPipeline(opts.pipeline);
      const out = resolve(opts.out);
      mkdirSync(out, { recursive: true });
      // Loaded on use: training pulls in tfjs, which other commands do not need.
      const { evaluateImages } = await import('../app/evaluate-images');
      const progress = new StepProgress(opts.progress);
      const report = await evaluateImages({
        dataDir,
        pipeline,
        out,
        maxTrain: opts.maxTrain,
        ...(opts.classes ? { classes: opts.classes } : {}),
        onClassStart: (cls, i, n) => progress.start(`class ${cls} (${i + 1}/${n})`),
        onEpoch: (epoch, epochs) => progress.show('epochs', epoch, epochs),
        onImages: (done, total) => progress.show('images', done, total),
        onClass: (r) =>
          progress.log(
            `class ${r.cls}: AUROC ${r.auroc.toFixed(4)}, flagged ${pct(r.flaggedAnomalous)} of anomalous and ` +
              `${pct(r.flaggedNormal)} of normal test images (${r.trainImages} training images, ${r.epochs} epochs; ` +
              `train ${r.trainSeconds.toFixed(0)} s, stream ${r.streamSeconds.toFixed(0)} s)`,
          ),
      });
      progress.stop();
      const path = writeImagesReport(out, report);
      if (opts.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log(formatImagesTable(report));
      console.log(
        `\n${report.classes.length} classes in ${report.seconds.toFixed(0)} s; report ${path}`,
      );
    });
}
