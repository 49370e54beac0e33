import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { loadPipeline } from '../config/load-pipeline';
import type { FileOutputOptions, FileOutputSummary, encodeFile } from '../inference/file-outputs';
import { integer } from './options';

interface Opts {
  pipeline: string;
  data: string;
  out: string;
  version?: number;
  store?: string;
  labels?: string;
  maxSamples: number;
  batch: number;
  progress: boolean;
}

/**
 * The shape `aestream encode` and `aestream denoise` share: a pipeline, a data file, an
 * output file, the model version, a progress bar on stderr and a one-line summary.
 */
export function fileOutputCommand(
  name: string,
  description: string,
  what: string,
  example: string,
  run: (fn: typeof import('../inference/file-outputs')) => typeof encodeFile,
  extra: (cmd: Command) => Command = (cmd) => cmd,
): Command {
  return extra(
    new Command(name)
      .description(description)
      .requiredOption('-p, --pipeline <file>', 'pipeline YAML file')
      .requiredOption(
        '--data <file>',
        'CSV / NAB CSV (sensor pipelines) or IDX images, .gz ok (image pipelines)',
      )
      .requiredOption('--out <file>', 'output file')
      .option('--version <n>', 'model version (default: the newest)', integer('--version', 1))
      .option('--store <dir>', 'override model.store')
      .option(
        '--max-samples <n>',
        'use at most this many images or readings (0 = all)',
        integer('--max-samples', 0),
        0,
      )
      .option('--batch <n>', 'frames per inference batch', integer('--batch', 1), 256)
      .option('--no-progress', 'no progress bar'),
  )
    .addHelpText('after', `\nExample:\n  ${example}`)
    .action(async (opts: Opts) => {
      const config = loadPipeline(opts.pipeline);
      // Loaded here, not at the top: tfjs takes a while to import and other commands do not need it.
      const apply = run(await import('../inference/file-outputs'));
      let bar: SingleBar | undefined;
      const options: FileOutputOptions = {
        data: opts.data,
        out: opts.out,
        maxSamples: opts.maxSamples,
        batch: opts.batch,
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.store !== undefined ? { store: opts.store } : {}),
        ...(opts.labels !== undefined ? { labels: opts.labels } : {}),
        onStart: (s) => {
          if (opts.progress && process.stderr.isTTY) {
            bar = new SingleBar({
              format: `${name} |{bar}| {value}/{total} inputs`,
              stream: process.stderr,
            });
            bar.start(s.samples, 0);
          }
        },
        onProgress: (done) => bar?.update(done),
      };
      let summary: FileOutputSummary;
      try {
        summary = await apply(config, options);
      } finally {
        bar?.stop();
      }
      console.error(
        `${what}: ${summary.rows} rows to ${summary.out} (model ${summary.model} on ${summary.engine})`,
      );
    });
}
