import { Command } from 'commander';
import { imagesCommand } from './evaluate-images';
import { nabCommand } from './evaluate-nab';
import { seriesCommand } from './evaluate-series';

/**
 * `aestream evaluate <benchmark>`: offline quality benchmarks of a pipeline's detector, one
 * subcommand per benchmark, each from its own file.
 */
export function evaluateCommand(): Command {
  const evaluate = new Command('evaluate').description('offline quality benchmarks with reports');
  evaluate.addCommand(imagesCommand().exitOverride());
  evaluate.addCommand(nabCommand().exitOverride());
  evaluate.addCommand(seriesCommand().exitOverride());
  return evaluate;
}
