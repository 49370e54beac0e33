import { Command } from 'commander';
import { loadPipeline } from '../config/load-pipeline';
import { AeError, ErrorCodes } from '../core/errors';
import { metricsPort, positiveNumber } from './options';

interface DetectOpts {
  pipeline: string;
  metricsPort: string;
  modelVersion?: string;
  printEvents?: boolean;
  readyGrace: number;
}

/**
 * `aestream detect -p pipeline.yaml`: runs the detector as a member of the pipeline's
 * consumer group until SIGTERM/SIGINT, which drain in-flight frames and commit.
 */
export function detectCommand(): Command {
  return new Command('detect')
    .description(
      "run the pipeline's detector: a Kafka consumer-group member scoring frames with the newest model",
    )
    .requiredOption('-p, --pipeline <file>', 'pipeline YAML file')
    .option(
      '--metrics-port <port>',
      'port of /metrics, /healthz and /readyz ("off" to disable)',
      '9464',
    )
    .option('--model-version <n>', 'start with this model version instead of the newest')
    .option('--print-events', 'also print each anomaly event as a JSON line on stdout')
    .option(
      '--ready-grace <seconds>',
      'how long a sink (anomaly or dead-letter topic, InfluxDB) may fail before /readyz says not ready',
      positiveNumber('--ready-grace'),
      30,
    )
    .addHelpText(
      'after',
      '\nReads input.kafka.topic with group input.kafka.group; writes AnomalyEvents to output.kafka.topic,\n' +
        'score points to output.influx, undecodable or invalid frames to output.dlq.topic with a reason code.\n' +
        'Offsets are committed only after the anomaly topic and InfluxDB acknowledged (at-least-once).\n' +
        'Start more instances with the same pipeline file to share the partitions.\n' +
        '\nNeeds a model: aestream train -p <pipeline.yaml> --data <file>\n' +
        '\nExample:\n  KAFKA_BROKERS=127.0.0.1:9092 aestream detect -p pipelines/sensors.yaml',
    )
    .action(async (opts: DetectOpts) => {
      const config = loadPipeline(opts.pipeline);
      let modelVersion: number | undefined;
      if (opts.modelVersion !== undefined) {
        modelVersion = Number(opts.modelVersion.replace(/^v/, ''));
        if (!Number.isInteger(modelVersion) || modelVersion < 1) {
          throw new AeError(
            ErrorCodes.CLI_USAGE,
            `--model-version must be a version number, got '${opts.modelVersion}'`,
          );
        }
      }
      // Loaded here: tfjs and kafkajs take a while to import and other commands do not need them.
      const { startDetector } = await import('../app/detect');
      const detector = await startDetector(config, {
        metricsPort: metricsPort(opts.metricsPort),
        readyGraceMs: opts.readyGrace * 1000,
        ...(modelVersion !== undefined ? { modelVersion } : {}),
        ...(opts.printEvents ? { onEvent: (e) => console.log(JSON.stringify(e)) } : {}),
      });
      await detector.done;
    });
}
