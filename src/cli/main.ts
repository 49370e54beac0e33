import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { AeError } from '../core/errors';
import { KafkaUnreachableError } from '../connectors/kafka/kafka-client';
import { KAFKA_BROKERS_SETTING, settingOrigin } from './options';
import { interruptedExitCode, watchInterrupts } from './interrupts';
import { configureLogging, flushLogs, LOG_LEVELS, type LogFormat } from '../observability/logger';
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
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines on stderr: pretty (default on a terminal) or json (default otherwise)',
      ).choices(['json', 'pretty']),
    )
    .addOption(
      new Option('--log-level <level>', 'least severe log level shown (default info)').choices(
        LOG_LEVELS,
      ),
    )
    .addHelpText('afterAll', ENVIRONMENT_HELP)
    .hook('preAction', (_program, action) => {
      running = action;
      const opts = action.optsWithGlobals<{ logFormat?: LogFormat; logLevel?: string }>();
      configureLogging({ format: opts.logFormat, level: opts.logLevel });
    })
    .exitOverride();
  for (const make of commands) program.addCommand(withGlobalHelp(make()));
  return program;
}

const ENVIRONMENT_HELP = `
Environment:
  AESTREAM_LOG_LEVEL   fatal|error|warn|info|debug|trace|silent, as --log-level (default info)
  AESTREAM_LOG_FORMAT  json|pretty, as --log-format (default pretty on a terminal, else json)
  AESTREAM_DEBUG=1     print the stack trace of a fatal error
  AESTREAM_BACKEND     TensorFlow.js backend (auto, wasm, cpu, ...), over model.backend
  AESTREAM_ONNX_CUDA=1 try ONNX Runtime's CUDA provider before its CPU one
  KAFKA_BROKERS        bootstrap brokers where a command or pipeline file names none
  INFLUX_URL           InfluxDB for the example pipelines and demo --kafka`;

/** Each command lists the global options in its help and ends with exit codes, not process.exit. */
function withGlobalHelp(command: Command): Command {
  command.configureHelp({ showGlobalOptions: true }).exitOverride();
  for (const sub of command.commands) withGlobalHelp(sub);
  return command;
}

/**
 * Runs the CLI and sets the exit code. Known failures print their message, never a
 * stack trace (AESTREAM_DEBUG=1 shows it): exit 1 for errors and bad usage; after SIGINT or
 * SIGTERM, 0 when everything in flight was committed, else 130 or 143.
 */
export async function main(argv: string[]): Promise<void> {
  running = undefined;
  watchInterrupts();
  let failed: number | undefined;
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    flushLogs();
    failed = exitCodeOf(err);
    process.exitCode = failed;
  }
  flushLogs();
  process.exitCode = interruptedExitCode(!!failed) ?? process.exitCode;
}

/** The command whose action runs, for messages that name where its settings came from. */
let running: Command | undefined;

/** The first error of class `type` along the causes of `err`. */
function causeOfType<T>(err: unknown, type: new (...args: never[]) => T): T | undefined {
  for (let e = err, depth = 0; e && depth < 6; depth++) {
    if (e instanceof type) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version end through here with code 0; commander already printed the message.
    return err.exitCode === 0 ? 0 : 1;
  }
  const unreachable = causeOfType(err, KafkaUnreachableError);
  if (unreachable) {
    const origin = settingOrigin(running?.opts() ?? {}, KAFKA_BROKERS_SETTING);
    console.error(
      `error ${unreachable.code}: ${unreachable.message} (brokers from ${origin}). ` +
        'Check the address, or start the local stack: npm run stack:up',
    );
  } else if (err instanceof AeError) {
    console.error(`error ${err.code}: ${err.message}`);
  } else {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (process.env.AESTREAM_DEBUG && err instanceof Error) console.error(err.stack);
  return 1;
}
