import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const SCRIPT = resolve(__dirname, '..', '..', 'deploy', 'local', 'secure-stack.sh');
const run = promisify(execFile);

/**
 * A second Kafka node (SCRAM/PLAIN, TLS and mutual-TLS listeners) and an InfluxDB with authentication,
 * started by deploy/local/secure-stack.sh for one test file: fresh passwords and a fresh
 * self-signed CA each time. Ports come from AESTREAM_SECURE_* (defaults 19094-19097 for
 * Kafka, 18096/18098 for InfluxDB), so parallel stacks can be kept apart.
 */
export interface SecureStack {
  saslBrokers: string;
  sslBrokers: string;
  /** An SSL listener that requires a client certificate signed by the CA. */
  mtlsBrokers: string;
  influxUrl: string;
  kafkaUser: string;
  kafkaPassword: string;
  influxUser: string;
  influxPassword: string;
  /** PEM CA certificate file that signed the broker's certificate. */
  caFile: string;
  /** A client certificate and key signed by the same CA. */
  clientCertFile: string;
  clientKeyFile: string;
  down(): Promise<void>;
}

export async function startSecureStack(): Promise<SecureStack> {
  const e = process.env;
  const dir = join(mkdtempSync(join(tmpdir(), 'aestream-secure-')), 'stack');
  const env = {
    ...e,
    AESTREAM_SECURE_DIR: dir,
    AESTREAM_SECURE_SASL_PORT: e.AESTREAM_SECURE_SASL_PORT ?? '19094',
    AESTREAM_SECURE_SSL_PORT: e.AESTREAM_SECURE_SSL_PORT ?? '19095',
    AESTREAM_SECURE_CONTROLLER_PORT: e.AESTREAM_SECURE_CONTROLLER_PORT ?? '19096',
    AESTREAM_SECURE_MTLS_PORT: e.AESTREAM_SECURE_MTLS_PORT ?? '19097',
    AESTREAM_SECURE_INFLUX_PORT: e.AESTREAM_SECURE_INFLUX_PORT ?? '18096',
    AESTREAM_SECURE_INFLUX_RPC_PORT: e.AESTREAM_SECURE_INFLUX_RPC_PORT ?? '18098',
    AESTREAM_SECURE_KAFKA_USER: 'aestream',
    AESTREAM_SECURE_KAFKA_PASSWORD: `k${randomBytes(12).toString('hex')}`,
    AESTREAM_SECURE_INFLUX_USER: 'admin',
    AESTREAM_SECURE_INFLUX_PASSWORD: `i${randomBytes(12).toString('hex')}`,
  };
  const down = async () => {
    await run('bash', [SCRIPT, 'down'], { env }).catch(() => undefined);
    rmSync(dirname(dir), { recursive: true, force: true });
  };
  try {
    await run('bash', [SCRIPT, 'up'], { env, timeout: 150_000 });
  } catch (err) {
    await down();
    const out = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`secure-stack.sh up failed: ${out.stderr || out.stdout || out.message}`);
  }
  return {
    saslBrokers: `127.0.0.1:${env.AESTREAM_SECURE_SASL_PORT}`,
    sslBrokers: `127.0.0.1:${env.AESTREAM_SECURE_SSL_PORT}`,
    mtlsBrokers: `127.0.0.1:${env.AESTREAM_SECURE_MTLS_PORT}`,
    influxUrl: `http://127.0.0.1:${env.AESTREAM_SECURE_INFLUX_PORT}`,
    kafkaUser: env.AESTREAM_SECURE_KAFKA_USER,
    kafkaPassword: env.AESTREAM_SECURE_KAFKA_PASSWORD,
    influxUser: env.AESTREAM_SECURE_INFLUX_USER,
    influxPassword: env.AESTREAM_SECURE_INFLUX_PASSWORD,
    caFile: join(dir, 'tls', 'ca.pem'),
    clientCertFile: join(dir, 'tls', 'client.pem'),
    clientKeyFile: join(dir, 'tls', 'client-key.pem'),
    down,
  };
}
