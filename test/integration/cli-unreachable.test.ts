import { closedPort, runCli, type CliRun } from '../helpers/cli-process';
import { builtCli } from '../helpers/detector-process';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { INFLUX_URL } from '../helpers/stack';

const lastLine = (run: CliRun) => run.stderr.trim().split('\n').at(-1) ?? '';

/**
 * `produce` and `detect` as their own processes, pointed at a port that is not Kafka
 * (InfluxDB's HTTP port: it accepts the connection and never answers as a broker) or at a
 * closed port: each exits by itself with code 1, and its last line names the brokers, where
 * they came from and what to try.
 */
describe('aestream commands against an address that is not Kafka (real broker, InfluxDB)', () => {
  const notKafka = new URL(INFLUX_URL).host;
  let closed: string;
  let f: PipelineFixture;

  beforeAll(async () => {
    builtCli();
    closed = await closedPort();
    f = await pipelineFixture('cli-unreachable', { createTopics: false, model: true });
  });
  afterAll(() => f?.teardown());

  it('produce --brokers at a non-Kafka port exits 1 naming the flag and the fix', async () => {
    const run = await runCli(
      ['produce', '-b', notKafka, '-t', `${f.name}.frames`, '--synthetic', '--length', '10'],
      { env: { AESTREAM_LOG_LEVEL: 'info' } },
    );
    expect(run.hung).toBe(false);
    expect(run.code).toBe(1);
    expect(lastLine(run)).toBe(
      `error AE_ERR_KAFKA: Kafka failed: cannot reach the brokers ${notKafka}: something accepts connections ` +
        'there but does not answer as a Kafka broker (brokers from --brokers). ' +
        'Check the address, or start the local stack: npm run stack:up',
    );
  });

  it('produce at a closed port exits 1 with the refusal, and only one line says so', async () => {
    const run = await runCli(
      ['produce', '-b', closed, '-t', `${f.name}.frames`, '--synthetic', '--length', '10'],
      { env: { AESTREAM_LOG_LEVEL: 'info' } },
    );
    expect(run.hung).toBe(false);
    expect(run.code).toBe(1);
    expect(lastLine(run)).toMatch(
      new RegExp(
        `^error AE_ERR_KAFKA: Kafka failed: cannot reach the brokers ${closed}: .*ECONNREFUSED.*--brokers`,
      ),
    );
    // kafkajs's tries are debug lines: the error above is the one thing the user reads
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('detect with KAFKA_BROKERS at a non-Kafka port exits 1 naming the variable and the file', async () => {
    const { file } = f.pipeline(
      { input: { kafka: { brokers: '${KAFKA_BROKERS:127.0.0.1:9092}' } } },
      'from-env.yaml',
    );
    const run = await runCli(['detect', '-p', file, '--metrics-port', '0'], {
      env: { KAFKA_BROKERS: notKafka, AESTREAM_LOG_LEVEL: 'info' },
    });
    expect(run.hung).toBe(false);
    expect(run.code).toBe(1);
    expect(lastLine(run)).toContain(
      `cannot reach the brokers ${notKafka}: something accepts connections there but does not ` +
        `answer as a Kafka broker (brokers from KAFKA_BROKERS, read by input.kafka.brokers of ${file})`,
    );
  });

  it('detect with a closed port in the pipeline file exits 1 naming the file', async () => {
    const { file } = f.pipeline({ input: { kafka: { brokers: closed } } }, 'closed.yaml');
    const run = await runCli(['detect', '-p', file, '--metrics-port', '0'], {
      env: { AESTREAM_LOG_LEVEL: 'info' },
    });
    expect(run.hung).toBe(false);
    expect(run.code).toBe(1);
    expect(lastLine(run)).toMatch(
      new RegExp(
        `^error AE_ERR_KAFKA: Kafka failed: cannot reach the brokers ${closed}: .*ECONNREFUSED.* ` +
          `\\(brokers from input\\.kafka\\.brokers of ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`,
      ),
    );
  });
});
