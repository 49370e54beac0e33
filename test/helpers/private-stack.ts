import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './detector-process';

const run = promisify(execFile);

/** A TCP port nobody listens on now (the OS picks it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateStack {
  brokers: string[];
  influxUrl: string;
  /** Starts whatever is not running (the same stack-up.sh as `npm run stack:up`). */
  up(): Promise<void>;
  /** Stops one service the way an operator or a crash would: SIGTERM (clean) or SIGKILL. */
  stop(service: 'kafka' | 'influxdb', signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stops everything and deletes the data and the work folder. */
  down(): Promise<void>;
}

/**
 * A Kafka broker and an InfluxDB of a test's own, on free ports, for tests that stop and
 * start the services (faults): the shared stack stays untouched for every other test.
 * Started by deploy/local/stack-up.sh with its own work folder, so it is the same broker
 * and InfluxDB as everywhere else.
 *
 * @example const stack = await privateStack(); ...; await stack.stop('influxdb'); await stack.up();
 */
export async function privateStack(): Promise<PrivateStack> {
  const dir = mkdtempSync(join(tmpdir(), 'aestream-private-stack-'));
  const ports = {
    kafka: await freePort(),
    controller: await freePort(),
    influx: await freePort(),
    rpc: await freePort(),
  };
  const env = {
    ...process.env,
    AESTREAM_STACK_DIR: dir,
    AESTREAM_KAFKA_PORT: String(ports.kafka),
    AESTREAM_KAFKA_CONTROLLER_PORT: String(ports.controller),
    AESTREAM_INFLUX_PORT: String(ports.influx),
    AESTREAM_INFLUX_RPC_PORT: String(ports.rpc),
    AESTREAM_KAFKA_HEAP: '-Xms256m -Xmx512m',
  };
  const script = (name: string, ...args: string[]) =>
    run('bash', [join(REPO_ROOT, 'deploy', 'local', name), ...args], { env, maxBuffer: 1 << 20 });
  const stack: PrivateStack = {
    brokers: [`127.0.0.1:${ports.kafka}`],
    influxUrl: `http://127.0.0.1:${ports.influx}`,
    async up() {
      await script('stack-up.sh');
    },
    async stop(service, signal = 'SIGTERM') {
      const pid = Number(readFileSync(join(dir, `${service}.pid`), 'utf8').trim());
      process.kill(pid, signal);
      // Until the process is gone (a clean Kafka shutdown takes a few seconds).
      for (;;) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async down() {
      await script('stack-down.sh', '--purge');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await stack.up();
  return stack;
}
