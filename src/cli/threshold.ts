import { hostname, userInfo } from 'node:os';
import { Command } from 'commander';
import { Partitioners } from 'kafkajs';
import { createAvroCodec } from '../codecs/avro-codec';
import type { ThresholdCommand as ThresholdCommandRecord } from '../core/records';
import { loadPipeline } from '../config/load-pipeline';
import type { PipelineConfig } from '../config/pipeline-schema';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import { createKafka } from '../connectors/kafka/kafka-client';
import { kafkaError } from '../connectors/kafka/kafka-errors';
import { ensureSharedTopic } from '../connectors/kafka/pipeline-topic-source';
import { createThresholdRegistry } from '../thresholds/threshold-registry';
import { thresholdCommandFromRecord } from '../thresholds/threshold-command';

interface SendOpts {
  pipeline: string;
  key?: string;
  brokers?: string;
}

interface ShowOpts {
  url: string[];
  json?: boolean;
}

/** `name=value` arguments as the command record's string parameters. */
function parameters(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw new AeError(
        ErrorCodes.CLI_USAGE,
        `parameters are name=value, e.g. risk=1e-4 or kind=static value=0.4; got '${pair}'`,
      );
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * The command as a ThresholdCommand record, checked first against the pipeline file's
 * thresholds so a command no detector could apply fails here, naming the problem.
 */
function commandRecord(
  config: Readonly<PipelineConfig>,
  action: ThresholdCommandRecord['action'],
  key: string | undefined,
  params: Record<string, string>,
): ThresholdCommandRecord {
  const record: ThresholdCommandRecord = {
    pipeline: config.name,
    key: key === undefined || key === '*' ? null : key,
    action,
    parameters: params,
    issuedAt: Date.now(),
    issuedBy: `${userInfo().username}@${hostname()}`,
  };
  createThresholdRegistry(config.threshold).command(thresholdCommandFromRecord(record));
  return record;
}

async function send(
  action: ThresholdCommandRecord['action'],
  pairs: readonly string[],
  opts: SendOpts,
): Promise<void> {
  const config = loadPipeline(opts.pipeline);
  const record = commandRecord(config, action, opts.key, parameters(pairs));
  const topic = config.threshold.control.topic;
  const brokers = opts.brokers ?? config.input.kafka.brokers;
  const kafka = createKafka({ ...config.input.kafka, brokers, clientId: 'aestream-threshold' });
  const codec = createAvroCodec<ThresholdCommandRecord>('ThresholdCommand');
  // kafkajs's default partitioner, named so kafkajs does not warn that its default changed.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await ensureSharedTopic(kafka, topic, { compact: false });
    await producer.connect();
    const [written] = await producer.send({
      topic,
      messages: [{ key: config.name, value: codec.encode(record), headers: codec.headers }],
    });
    const who = record.key === null ? 'every source' : `source ${record.key}`;
    console.log(
      `${action.toLowerCase()} for ${who} of pipeline ${config.name} sent to ${topic} ` +
        `(partition ${written?.partition ?? 0}, offset ${written?.baseOffset ?? '?'}); ` +
        'running detectors apply it within a second and log "threshold command applied"',
    );
  } catch (err) {
    if (err instanceof AeError) throw err;
    throw kafkaError(`cannot send to ${topic} at ${String(brokers)}`, err);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

interface ThresholdsView {
  pipeline: string;
  model: string | null;
  thresholds: Array<{ key: string; kind: string; threshold: number | null; calibrated: boolean }>;
}

async function show(opts: ShowOpts): Promise<void> {
  const views: Array<ThresholdsView & { url: string }> = [];
  for (const url of opts.url) {
    const endpoint = `${url.replace(/\/+$/, '')}/thresholds`;
    let response: Response;
    try {
      response = await fetch(endpoint, { signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      throw new AeError(
        ErrorCodes.CLI_USAGE,
        `cannot reach a detector at ${endpoint} (${messageOf(err)}); is \`aestream detect\` running with that --metrics-port?`,
      );
    }
    if (!response.ok) {
      throw new AeError(
        ErrorCodes.CLI_USAGE,
        `${endpoint} answered ${response.status}: not an aestream detector of this version?`,
      );
    }
    views.push({ url, ...((await response.json()) as ThresholdsView) });
  }
  if (opts.json) {
    console.log(JSON.stringify(views, null, 2));
    return;
  }
  for (const view of views) {
    console.log(`${view.url}: pipeline ${view.pipeline}, model ${view.model ?? '(none)'}`);
    if (view.thresholds.length === 0) {
      console.log('  no source scored yet');
      continue;
    }
    const width = Math.max(6, ...view.thresholds.map((t) => t.key.length));
    console.log(`  ${'source'.padEnd(width)}  ${'kind'.padEnd(8)}  threshold`);
    for (const t of view.thresholds) {
      const value =
        t.calibrated && t.threshold !== null ? t.threshold.toPrecision(6) : 'calibrating';
      console.log(`  ${t.key.padEnd(width)}  ${t.kind.padEnd(8)}  ${value}`);
    }
  }
}

function sendCommand(
  name: string,
  action: ThresholdCommandRecord['action'],
  description: string,
  params: string | null,
): Command {
  const command = new Command(name)
    .description(description)
    .requiredOption(
      '-p, --pipeline <file>',
      'pipeline YAML file (its name, brokers and threshold.control.topic)',
    )
    .option('-k, --key <source>', 'one source; default every source of the pipeline')
    .option('-b, --brokers <list>', "bootstrap brokers (default: the pipeline's input brokers)");
  if (params !== null) command.argument('<name=value...>', params);
  return command.action(async (...args: unknown[]) => {
    const pairs = params !== null ? (args[0] as string[]) : [];
    const opts = (params !== null ? args[1] : args[0]) as SendOpts;
    await send(action, pairs, opts);
  });
}

/**
 * `aestream threshold set|override|reset|show`: runtime threshold control. The first three
 * put a ThresholdCommand for the pipeline on its control topic (aestream.control), which
 * every running detector of the pipeline applies (and replays when it restarts); `show`
 * prints the per-source thresholds running detectors use, from their /thresholds endpoint.
 */
export function thresholdCommand(): Command {
  return new Command('threshold')
    .description('change the thresholds of running detectors, or show them')
    .addCommand(
      sendCommand(
        'set',
        'SET',
        'change parameters of the current threshold, e.g. `set -p p.yaml risk=1e-5`',
        'numeric parameters of the current kind, e.g. risk=1e-5 or k=4',
      ),
    )
    .addCommand(
      sendCommand(
        'override',
        'OVERRIDE',
        'replace the threshold with another kind, e.g. `override -p p.yaml -k pump-7 kind=static value=0.4`',
        'kind=<static|ksigma|quantile|spot|dspot> and its parameters',
      ),
    )
    .addCommand(
      sendCommand('reset', 'RESET', 'forget what the threshold learned and calibrate again', null),
    )
    .addCommand(
      new Command('show')
        .description('print the per-source thresholds of running detectors')
        .option('-u, --url <url...>', "detectors' metrics endpoints (their --metrics-port)", [
          'http://127.0.0.1:9464',
        ])
        .option('--json', 'print JSON instead of a table')
        .action(async (opts: ShowOpts) => show(opts)),
    );
}
