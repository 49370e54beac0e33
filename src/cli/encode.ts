import type { Command } from 'commander';
import { fileOutputCommand } from './file-output-command';

/**
 * `aestream encode -p pipeline.yaml --data FILE --out latent.csv`: the latent vector of
 * every window (sensors) or image of a file, one CSV row each (dimensionality reduction).
 */
export function encodeCommand(): Command {
  return fileOutputCommand(
    'encode',
    "write the model's latent vector of every window or image of a file to a CSV",
    'latent vectors',
    'aestream encode -p pipelines/images.yaml --data ../shared/datasets/mnist/t10k-images-idx3-ubyte.gz --labels ../shared/datasets/mnist/t10k-labels-idx1-ubyte.gz --out latent.csv',
    (m) => m.encodeFile,
    (cmd) => cmd.option('--labels <file>', 'IDX labels of the images: adds a label column'),
  );
}
