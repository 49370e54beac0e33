import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parsePipeline } from '../../src/config/load-pipeline';
import type { PipelineConfig } from '../../src/config/pipeline-schema';
import { AeError, ErrorCodes } from '../../src/core/errors';
import {
  influxSinkFrom,
  kafkaSinkFrom,
  kafkaSourceFrom,
} from '../../src/connectors/connector-factory';
import type { KafkaInputConfig } from '../../src/connectors/connector-config';
import { createKafka } from '../../src/connectors/kafka/kafka-client';
import type { KafkaRecord } from '../../src/core/kafka-record';
import { builtCli } from '../helpers/detector-process';
import { uniqueDatabase, uniqueName } from '../helpers/names';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { startSecureStack, type SecureStack } from '../helpers/secure-stack';
import { waitFor } from '../helpers/wait-for';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'aestream.js');
const sensorsText = readFileSync(join(ROOT, 'pipelines', 'sensors.yaml'), 'utf8');
const WRONG = 'Wr0ngPassw0rdNotTheRealOne';

/**
 * Credentials and transport security against real services: a second Kafka node with a
 * SASL_PLAINTEXT listener (SCRAM-SHA-256/512, PLAIN), an SSL listener (a self-signed CA
 * made for this run) and a mutual-TLS listener, and an InfluxDB with authentication on. Secrets reach the pipeline
 * from the environment or from files, and never show up in logs or error messages.
 */
describe('credentials and TLS (real secure broker and InfluxDB)', () => {
  let stack: SecureStack;
  // The secure services are the test's own (gone with the stack); the fixture gives the
  // temp folder for the secret files and pipeline files.
  let f: PipelineFixture;
  let dir: string;

  beforeAll(async () => {
    f = await pipelineFixture('security', { createTopics: false });
    dir = f.dir;
    stack = await startSecureStack();
    writeFileSync(join(dir, 'kafka-password'), `${stack.kafkaPassword}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'influx-password'), `${stack.influxPassword}\n`, { mode: 0o600 });
  }, 180_000);
  afterAll(async () => {
    await stack?.down();
    await f?.teardown();
  }, 60_000);

  /** sensors.yaml pointed at `brokers`, with `kafkaExtra` under input.kafka and `influx` as output.influx. */
  function pipeline(
    brokers: string,
    kafkaExtra: string[],
    env: NodeJS.ProcessEnv = {},
    influx?: string,
  ): PipelineConfig {
    return parsePipeline(pipelineText(brokers, kafkaExtra, influx), 'secure.yaml', {
      env,
      baseDir: ROOT,
    }) as PipelineConfig;
  }

  function pipelineText(brokers: string, kafkaExtra: string[], influx?: string): string {
    let text = sensorsText
      .replace("'${KAFKA_BROKERS:127.0.0.1:9092}'", brokers)
      .replace(
        '    group: aestream-sensors\n',
        `    group: aestream-sensors\n${kafkaExtra.map((l) => `    ${l}\n`).join('')}`,
      );
    if (influx) text = text.replace(/^ {2}influx: .*$/m, `  influx: ${influx}`);
    return text;
  }

  /** Produces `count` messages through KafkaSink and reads them back through KafkaSource. */
  async function roundTrip(kafkaConfig: KafkaInputConfig, count: number): Promise<string[]> {
    const topic = uniqueName('secure');
    const admin = createKafka(kafkaConfig).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const sink = kafkaSinkFrom(kafkaConfig, { topic });
    await sink.connect();
    const sent = Array.from({ length: count }, (_, i) => `frame-${i}`);
    await Promise.all(sent.map((v, i) => sink.send({ key: `k${i % 5}`, value: Buffer.from(v) })));
    await sink.disconnect();

    const source = kafkaSourceFrom({
      ...kafkaConfig,
      topic,
      group: uniqueName('secure-group'),
      fromBeginning: true,
    });
    const received: string[] = [];
    const failures: unknown[] = [];
    const sub = source.records().subscribe({
      next: (r: KafkaRecord) => {
        received.push(r.value.toString());
        r.ack();
      },
      error: (err: unknown) => failures.push(err),
    });
    try {
      await waitFor(() => received.length >= count || failures.length > 0, {
        what: `${count} records back`,
        timeoutMs: 60_000,
        state: () => ({ received: received.length }),
      });
    } finally {
      await source.stop();
      sub.unsubscribe();
    }
    expect(failures).toEqual([]);
    return received.sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
  }

  it.each([
    [
      'SCRAM-SHA-256, password from the environment',
      'scram-sha-256',
      'password: ${KAFKA_PASSWORD}',
    ],
    ['SCRAM-SHA-512, password from a file', 'scram-sha-512', 'passwordFile: FILE'],
    ['PLAIN, password from the environment', 'plain', 'password: ${KAFKA_PASSWORD}'],
  ])('%s: frames go out through KafkaSink and back through KafkaSource', async (_n, mech, pw) => {
    const config = pipeline(
      stack.saslBrokers,
      [
        'sasl:',
        `  mechanism: ${mech}`,
        `  username: ${stack.kafkaUser}`,
        `  ${pw.replace('FILE', join(dir, 'kafka-password'))}`,
      ],
      { KAFKA_PASSWORD: stack.kafkaPassword },
    );
    const received = await roundTrip(config.input.kafka, 200);
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => `frame-${i}`));
  });

  it('TLS with the CA from a file: frames go through, the broker certificate verified', async () => {
    const config = pipeline(stack.sslBrokers, ['tls:', `  caFile: ${stack.caFile}`]);
    expect(config.input.kafka.tls?.rejectUnauthorized).toBe(true);
    const received = await roundTrip(config.input.kafka, 100);
    expect(received).toEqual(Array.from({ length: 100 }, (_, i) => `frame-${i}`));
  });

  it('mutual TLS (CA from the environment, client certificate and key from files): frames go through', async () => {
    const config = pipeline(
      stack.mtlsBrokers,
      [
        'tls:',
        '  ca: ${KAFKA_CA}',
        `  certFile: ${stack.clientCertFile}`,
        `  keyFile: ${stack.clientKeyFile}`,
      ],
      { KAFKA_CA: readFileSync(stack.caFile, 'utf8') },
    );
    const received = await roundTrip(config.input.kafka, 100);
    expect(received).toEqual(Array.from({ length: 100 }, (_, i) => `frame-${i}`));
  });

  it('the mutual-TLS listener refuses a client without a certificate: AE_ERR_KAFKA', async () => {
    const config = pipeline(stack.mtlsBrokers, ['tls:', `  caFile: ${stack.caFile}`]);
    const sink = kafkaSinkFrom(config.input.kafka, { topic: uniqueName('no-cert') });
    const err = await sink.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AeError);
    expect((err as AeError).code).toBe(ErrorCodes.KAFKA);
  });

  it('TLS without the CA refuses the self-signed broker: AE_ERR_KAFKA about the certificate', async () => {
    const config = pipeline(stack.sslBrokers, ['tls: {}']);
    const sink = kafkaSinkFrom(config.input.kafka, { topic: uniqueName('untrusted') });
    const err = await sink.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AeError);
    expect((err as AeError).code).toBe(ErrorCodes.KAFKA);
    expect((err as AeError).message).toMatch(/certificate/i);
  });

  it('a wrong password: AE_ERR_KAFKA saying authentication failed, with neither password in it', async () => {
    const config = pipeline(
      stack.saslBrokers,
      [
        'sasl:',
        '  mechanism: scram-sha-256',
        `  username: ${stack.kafkaUser}`,
        '  password: ${KAFKA_PASSWORD}',
      ],
      { KAFKA_PASSWORD: WRONG },
    );
    const sink = kafkaSinkFrom(config.input.kafka, { topic: uniqueName('denied') });
    const sinkErr = (await sink.connect().then(
      () => null,
      (e: unknown) => e,
    )) as AeError;
    const source = kafkaSourceFrom({ ...config.input.kafka, topic: uniqueName('denied') });
    const sourceErr = await new Promise<unknown>((res) => {
      const sub = source.records().subscribe({ error: res, complete: () => res(null) });
      void sub;
    });
    for (const err of [sinkErr, sourceErr] as AeError[]) {
      expect(err).toBeInstanceOf(AeError);
      expect(err.code).toBe(ErrorCodes.KAFKA);
      expect(err.message).toMatch(/authentication failed/i);
      const everything = `${err.message} ${err.stack} ${String((err.cause as Error)?.stack)}`;
      expect(everything).not.toContain(WRONG);
      expect(everything).not.toContain(stack.kafkaPassword);
    }
  });

  it('the CLI with a wrong, then the right password: no secret in its output or its debug log', async () => {
    builtCli();
    const file = join(dir, 'cli.yaml');
    writeFileSync(
      file,
      pipelineText(stack.saslBrokers, [
        'sasl:',
        '  mechanism: scram-sha-256',
        `  username: ${stack.kafkaUser}`,
        '  password: ${KAFKA_PASSWORD}',
      ]),
    );
    const cli = (password: string) =>
      promisify(execFile)(process.execPath, [BIN, 'threshold', 'reset', '-p', file], {
        cwd: ROOT,
        env: { ...process.env, KAFKA_PASSWORD: password, AESTREAM_LOG_LEVEL: 'debug' },
      }).then(
        (r) => ({ code: 0, out: `${r.stdout}${r.stderr}` }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          out: `${e.stdout}${e.stderr}`,
        }),
      );
    const denied = await cli(WRONG);
    expect(denied.code).toBe(1);
    expect(denied.out).toContain('error AE_ERR_KAFKA');
    expect(denied.out).toMatch(/authentication failed/i);
    expect(denied.out).not.toContain(WRONG);
    expect(denied.out).not.toContain(stack.kafkaPassword);

    const allowed = await cli(stack.kafkaPassword);
    expect(allowed.out).toContain('sent to');
    expect(allowed.code).toBe(0);
    expect(allowed.out).not.toContain(stack.kafkaPassword);
  });

  describe('InfluxDB with authentication', () => {
    const query = async (db: string, q: string) => {
      const url = `${stack.influxUrl}/query?db=${db}&q=${encodeURIComponent(q)}`;
      const auth = Buffer.from(`${stack.influxUser}:${stack.influxPassword}`).toString('base64');
      const res = await fetch(url, { headers: { authorization: `Basic ${auth}` } });
      return (await res.json()) as {
        results: Array<{ series?: Array<{ values: Array<[string, number]> }> }>;
      };
    };
    const points = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        measurement: 'score',
        tags: { source: `s${i % 3}` },
        fields: { error: i / n },
        timestamp: new Date(1_700_000_000_000 + i),
      }));

    it('writes through the sink with user and passwordFile', async () => {
      const database = uniqueDatabase('secure');
      const config = pipeline(
        '127.0.0.1:9',
        [],
        {},
        `{ url: '${stack.influxUrl}', database: ${database}, username: ${stack.influxUser}, passwordFile: '${join(dir, 'influx-password')}', flushMs: 50 }`,
      );
      const sink = influxSinkFrom(config.output.influx!);
      await sink.writePoints(points(500));
      await sink.close();
      const res = await query(database, 'SELECT count(error) FROM score');
      expect(res.results[0].series?.[0].values[0][1]).toBe(500);
    });

    it.each([
      ['a wrong password', `username: admin, password: '\${INFLUX_PASSWORD}'`],
      ['no credentials', ''],
    ])('%s: AE_ERR_INFLUX_AUTH, no password in the message, nothing written', async (_n, creds) => {
      const database = uniqueDatabase('denied');
      const config = pipeline(
        '127.0.0.1:9',
        [],
        { INFLUX_PASSWORD: WRONG },
        `{ url: '${stack.influxUrl}', database: ${database}, flushMs: 50${creds ? `, ${creds}` : ''} }`,
      );
      const sink = influxSinkFrom(config.output.influx!);
      const err = (await sink.writePoints(points(10)).then(
        () => null,
        (e: unknown) => e,
      )) as AeError;
      expect(err).toBeInstanceOf(AeError);
      expect(err.code).toBe(ErrorCodes.INFLUX_AUTH);
      expect(err.message).toContain('InfluxDB refused the credentials (401)');
      expect(`${err.message} ${err.stack}`).not.toContain(WRONG);
      const res = await query(database, 'SELECT count(error) FROM score');
      expect(res.results[0].series).toBeUndefined();
    });
  });
});
