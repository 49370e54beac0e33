import { Command } from 'commander';
import { integer } from './options';

interface DemoOpts {
  seed: string;
  sources: string;
  length: string;
  out: string;
  quiet?: boolean;
  kafka?: string | boolean;
}

/**
 * `aestream demo`: the whole loop in one process, no services: synthetic sensors with
 * injected anomalies, a first model trained on their opening stretch, the detector, a
 * summary and an HTML report.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run the embedded demo: synthetic sensors -> train -> detect -> summary and HTML report (no services)',
    )
    .option('--seed <n>', 'seed of the synthetic data', '7')
    .option('--sources <n>', 'number of sensors', '6')
    .option('--length <n>', 'readings per sensor', '5000')
    .option(
      '--out <dir>',
      'folder for report.html, summary.json and the trained model',
      'demo-report',
    )
    .option('--quiet', 'no progress and no per-event lines, only the summary')
    .option(
      '--kafka [brokers]',
      'run through a real Kafka broker instead of in-process (default: $KAFKA_BROKERS or 127.0.0.1:9092); scores also go to InfluxDB when $INFLUX_URL is set',
    )
    .addHelpText(
      'after',
      '\nThe demo pipeline is pipelines/demo.yaml (2 features, windows of 32, dense autoencoder, SPOT\n' +
        'thresholds per sensor). The first 25 % of each sensor trains the model, the next 15 % calibrates\n' +
        'the thresholds, anomalies (spikes, level shifts, drifts, noise bursts) come after that.\n' +
        '\nWith --kafka the frames go through a real broker (npm run stack:up starts one): produced to a\n' +
        'topic of their own, scored by the same code as `aestream detect` until every offset is committed.\n' +
        '\nExamples:\n  aestream demo --sources 8 --length 6000 --out /tmp/demo\n' +
        '  INFLUX_URL=http://127.0.0.1:8086 aestream demo --kafka 127.0.0.1:9092',
    )
    .action(async (opts: DemoOpts) => {
      const seed = integer('--seed', 0)(opts.seed);
      const sources = integer('--sources', 1)(opts.sources);
      const length = integer('--length', 1000)(opts.length);
      const { runDemo, summaryRows } = await import('../app/demo');
      // The demo talks to a person: state changes are logged only when asked for.
      const { logger, logLevelChosen } = await import('../observability/logger');
      if (!logLevelChosen()) {
        logger.level = 'warn';
      }
      const err = process.stderr;
      const live = !opts.quiet && err.isTTY;
      let lastDraw = 0;
      const summary = await runDemo({
        seed,
        sources,
        length,
        out: opts.out,
        ...(opts.kafka
          ? {
              kafka: {
                brokers:
                  typeof opts.kafka === 'string'
                    ? opts.kafka
                    : (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'),
                ...(process.env.INFLUX_URL ? { influxUrl: process.env.INFLUX_URL } : {}),
              },
            }
          : {}),
        onTrainStart: ({ windows, epochs }) => {
          if (!opts.quiet)
            err.write(`training the first model on ${windows} windows (up to ${epochs} epochs)\n`);
        },
        onEpoch: (r) => {
          if (opts.quiet) return;
          const line = `  epoch ${r.epoch}/${r.epochs}  loss ${r.loss.toFixed(4)}  val ${r.valLoss.toFixed(4)}  ${Math.round(r.samplesPerSecond)} samples/s`;
          err.write(live ? `\r${line}\x1b[K` : `${line}\n`);
        },
        onProgress: (done, total, anomalies) => {
          if (!live) return;
          const now = Date.now();
          if (now - lastDraw < 100 && done < total) return;
          lastDraw = now;
          err.write(
            `\r  detecting: ${done}/${total} frames (${Math.floor((100 * done) / total)} %), ${anomalies} anomaly events\x1b[K`,
          );
        },
        onEvent: (e, incident) => {
          // One line per incident: the events that follow it within a window are the same anomaly.
          if (opts.quiet || !incident) return;
          const line = `ANOMALY ${e.source} from ${new Date(e.eventTime).toISOString()}: score ${e.score.toFixed(3)} > threshold ${e.threshold.toFixed(3)} (${e.severity})`;
          if (live) err.write('\r\x1b[K');
          console.log(line);
        },
      });
      if (live) err.write('\n');
      console.log('\naestream demo summary');
      for (const [k, v] of summaryRows(summary)) console.log(`  ${k.padEnd(34)} ${v}`);
      console.log(`  ${'report'.padEnd(34)} ${summary.reportPath}`);
    });
}
