import { Kafka, logLevel } from 'kafkajs';
import { INFLUX_URL, KAFKA_BROKERS } from '../helpers/stack';

/**
 * Runs once before the integration tests: both services must answer, and their versions
 * are printed so every test log shows what it talked to.
 */
export default async function globalSetup(): Promise<void> {
  const hint =
    'start the local stack first: npm run stack:up (or run everything: npm run test:all)';
  let influxVersion: string | null;
  try {
    const res = await fetch(`${INFLUX_URL}/ping`);
    influxVersion = res.headers.get('x-influxdb-version');
  } catch (err) {
    throw new Error(
      `InfluxDB does not answer at ${INFLUX_URL} (${(err as Error).message}): ${hint}`,
    );
  }
  const kafka = new Kafka({
    clientId: 'aestream-test-setup',
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const apis = await brokerVersion(kafka);
    console.log(
      `\n[integration] Apache Kafka ${apis} at ${KAFKA_BROKERS.join(',')} (cluster ${cluster.clusterId}, ${cluster.brokers.length} broker)` +
        `\n[integration] InfluxDB ${influxVersion ?? 'unknown version'} at ${INFLUX_URL}\n`,
    );
  } catch (err) {
    throw new Error(
      `Kafka does not answer at ${KAFKA_BROKERS.join(',')} (${(err as Error).message}): ${hint}`,
    );
  } finally {
    await admin.disconnect();
  }
}

/** The broker's release line, from its own config (kafkajs exposes no version call). */
async function brokerVersion(kafka: Kafka): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { brokers } = await admin.describeCluster();
    const res = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        {
          type: 4,
          name: String(brokers[0].nodeId),
          configNames: ['inter.broker.protocol.version'],
        },
      ],
    });
    const entry = res.resources[0]?.configEntries.find(
      (e) => e.configName === 'inter.broker.protocol.version',
    );
    // KRaft brokers report their metadata version, e.g. 3.9-IV0 for a 3.9.x release.
    const release = entry?.configValue?.match(/^\d+\.\d+/)?.[0];
    return release
      ? `${release}.x (metadata version ${entry!.configValue})`
      : '(version not reported)';
  } finally {
    await admin.disconnect();
  }
}
