import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { loadPipeline } from '../config/load-pipeline';
import { integer } from './options';

interface TrainOpts {
  pipeline: string;
  data: string;
  epochs?: number;
  seed?: number;
  maxSamples: number;
  store?: string;
  progress: boolean;
  json?: boolean;
}

/**
 * `aestream train -p pipeline.yaml --data FILE`: offline bootstrap training. Prints the
 * new model version's folder on stdout; progress goes to stderr.
 */
export function trainCommand(): Command {
  return new Command('train')
    .description("train the pipeline's autoencoder on a file and store it as a new model version")
    .requiredOption('-p, --pipeline <file>', 'pipeline YAML file')
    .requiredOption(
      '--data <file>',
      'CSV / NAB CSV (sensor pipelines) or IDX images, .gz ok (image pipelines)',
    )
    .option('--epochs <n>', 'override model.train.epochs', integer('--epochs', 0))
    .option('--seed <n>', 'override model.train.seed', integer('--seed', 0))
    .option(
      '--max-samples <n>',
      'use at most this many samples (0 = all)',
      integer('--max-samples', 0),
      0,
    )
    .option('--store <dir>', 'override model.store')
    .option('--no-progress', 'one line per epoch instead of a progress bar')
    .option('--json', 'print the result as one JSON object on stdout, no progress on stderr')
    .addHelpText(
      'after',
      '\nTraining stops early when the validation loss has not improved for model.train.patience epochs;\n' +
        'the same seed, data and backend give the same model.\n' +
        '\nExample:\n  aestream train -p pipelines/images.yaml --data ../shared/datasets/mnist/train-images-idx3-ubyte.gz --epochs 5',
    )
    .action(async (opts: TrainOpts) => {
      const config = loadPipeline(opts.pipeline);
      // Loaded here, not at the top: tfjs takes a while to import and other commands do not need it.
      const { trainFromFile } = await import('../registry/train-and-store');
      const { scoreHeldBack } = await import('../inference/held-back-scores');
      let bar: SingleBar | undefined;
      let start: { kind: string; samples: number; backend: string } | undefined;
      const say = (line: string) => (opts.json ? undefined : console.error(line));
      const saved = await trainFromFile(config, {
        data: opts.data,
        maxSamples: opts.maxSamples,
        scoreHeldBack: scoreHeldBack(config.model),
        ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.store !== undefined ? { store: opts.store } : {}),
        onStart: (s) => {
          start = s;
          say(
            `training ${s.kind} on ${s.samples} samples from ${opts.data} (backend ${s.backend}, up to ${s.epochs} epochs)`,
          );
          if (opts.progress && !opts.json && process.stderr.isTTY) {
            bar = new SingleBar({
              format: 'epoch {value}/{total} |{bar}| loss {loss}  val_loss {val}  {sps} samples/s',
              stream: process.stderr,
            });
            bar.start(s.epochs, 0, { loss: '-', val: '-', sps: '-' });
          }
        },
        onEpoch: (r) => {
          const p = {
            loss: r.loss.toFixed(5),
            val: r.valLoss.toFixed(5),
            sps: r.samplesPerSecond.toFixed(0),
          };
          if (bar) bar.update(r.epoch, p);
          else
            say(`epoch ${r.epoch}/${r.epochs} loss ${p.loss} val_loss ${p.val} ${p.sps} samples/s`);
        },
      });
      bar?.stop();
      const r = saved.result;
      if (opts.json) {
        console.log(
          JSON.stringify({
            version: saved.version,
            path: saved.path,
            kind: start?.kind,
            backend: start?.backend,
            samples: start?.samples,
            epochs: r.epochs,
            bestEpoch: r.bestEpoch,
            stoppedEarly: r.stoppedEarly,
            loss: r.loss,
            valLoss: r.valLoss,
          }),
        );
        return;
      }
      console.error(
        `best epoch ${r.bestEpoch} of ${r.epochs}${r.stoppedEarly ? ' (stopped early)' : ''}: ` +
          `loss ${r.loss.toFixed(5)}, val_loss ${r.valLoss.toFixed(5)}; model version ${saved.version}`,
      );
      console.log(saved.path);
    });
}
