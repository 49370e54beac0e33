import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { AeError } from '../core/errors';
import { lintCommand } from './lint';
import { produceCommand } from './produce';
import { consumeCommand } from './consume';
import { trainCommand } from './train';
import { evaluateCommand } from './evaluate';
import { demoCommand } from './demo';
import { detectCommand } from './detect';
import { encodeCommand } from './encode';
import { denoiseCommand } from './denoise';
import { replayCommand } from './replay';
import { retrainCommand } from './retrain';
import { thresholdCommand } from './threshold';

/** Every command of the binary, one file each under src/cli/. */
const commands: Array<() => Command> = [
  demoCommand,
  detectCommand,
  replayCommand,
  retrainCommand,
  thresholdCommand,
  trainCommand,
  encodeCommand,
  denoiseCommand,
  evaluateCommand,
  produceCommand,
  consumeCommand,
  lintCommand,
];

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('aestream')
    .description(
      'Streaming anomaly detection with autoencoders: frames from Kafka, the reconstruction error as ' +
        'score, adaptive per-source thresholds, events to Kafka and scores to InfluxDB.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const make of commands) program.addCommand(make().exitOverride());
  return program;
}

/**
 * Runs the CLI and sets the exit code. Known failures print their message, never a
 * stack trace (AESTREAM_DEBUG=1 shows it): exit 1 for errors and bad usage.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeOf(err);
  }
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version end through here with code 0; commander already printed the message.
    return err.exitCode === 0 ? 0 : 1;
  }
  if (err instanceof AeError) {
    console.error(`error ${err.code}: ${err.message}`);
  } else {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (process.env.AESTREAM_DEBUG && err instanceof Error) console.error(err.stack);
  return 1;
}
