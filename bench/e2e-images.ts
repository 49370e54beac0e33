/**
 * The image part of bench:e2e on its own (see bench/e2e/images.ts): MNIST ImageFrames through
 * `aestream detect` with a conv autoencoder against the kafkajs passthrough of the same bytes,
 * then latency at half the measured rate.
 *
 *   npm run bench:e2e:images -- [--frames 150000] [--sources 120] [--data DIR (MNIST)]
 *                               [--train-images 2000] [--epochs 8] [--engine onnx|tfjs|auto (default onnx)]
 *                               [--batch 256] [--latency-seconds 40] [--warmup-seconds 10]
 *                               [--latency-rate N]
 *                               [--anomaly-every 50] [--skip-passthrough] [--skip-latency]
 *                               [--profile DIR] [--keep] [--skip-influx (diagnostic)]
 *
 * Writes bench/results/e2e-images.json and prints the tables. Needs the local stack
 * (KAFKA_BROKERS, INFLUX_URL) and a built CLI (`npm run build`).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka } from '../src/connectors/kafka/kafka-client';
import { brokers, dropBenchDatabases, flag, influxUrl, log, root } from './e2e/harness';
import { imageBench, imageBenchOptionsFromArgs, printImageTable } from './e2e/images';

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js')))
    throw new Error('run `npm run build` first');
  const opts = imageBenchOptionsFromArgs();
  log(`broker ${brokers}, influx ${influxUrl}`);
  const kafka = createKafka({ brokers, clientId: 'aestream-bench-e2e-images' });
  const admin = kafka.admin();
  await admin.connect();
  const dir = mkdtempSync(join(tmpdir(), 'aestream-e2e-images-'));
  try {
    const result = await imageBench(kafka, admin, dir, opts);
    printImageTable(result);
    const outDir = join(root, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, 'e2e-images.json');
    writeFileSync(
      out,
      JSON.stringify(
        {
          benchmark: 'e2e-images',
          date: new Date().toISOString(),
          node: process.version,
          broker: brokers,
          influxUrl,
          ...result,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`\nwrote ${out} (${result.totalSeconds.toFixed(0)} s)`);
  } finally {
    await admin.disconnect();
    // Left behind, the run's databases compact during the next run and take its CPU.
    if (!flag('keep')) await dropBenchDatabases();
    if (!flag('keep')) rmSync(dir, { recursive: true, force: true });
  }
}

// Exit when done: a client's reconnect timer must not keep the finished bench alive.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
