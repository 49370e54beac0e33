import type { Command } from 'commander';
import { fileOutputCommand } from './file-output-command';

/**
 * `aestream denoise -p pipeline.yaml --data FILE --out clean.csv`: the file rebuilt by the
 * model (train it with model.denoise for a denoising autoencoder).
 */
export function denoiseCommand(): Command {
  return fileOutputCommand(
    'denoise',
    'write the file as the model rebuilds it: sensor CSV with the same columns, or images (CSV or IDX)',
    'denoised',
    'aestream denoise -p pipelines/sensors.yaml --data noisy.csv --out clean.csv',
    (m) => m.denoiseFile,
  );
}
