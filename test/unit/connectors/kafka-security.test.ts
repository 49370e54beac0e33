import { readFileSync, writeFileSync } from 'node:fs';

import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { parsePipeline } from '../../../src/config/load-pipeline';
import { AeError, ConfigError, ErrorCodes } from '../../../src/core/errors';
import { classifyInfluxError } from '../../../src/connectors/influx/influx-sink';
import { kafkaSecurity } from '../../../src/connectors/kafka/kafka-security';
import { createLogger } from '../../../src/observability/logger';
import { main } from '../../../src/cli/main';
import { tempDir } from '../../helpers/temp-dir';

const root = resolve(__dirname, '..', '..', '..');
const sensorsText = readFileSync(join(root, 'pipelines', 'sensors.yaml'), 'utf8');
const SECRET = 'Tr0ub4dor-and-3-more';
const dir = tempDir('aestream-security-');

/** sensors.yaml with `extra` appended under input.kafka (4-space indented lines). */
function withKafka(extra: string): string {
  return sensorsText.replace(
    '    group: aestream-sensors\n',
    `    group: aestream-sensors\n${extra}`,
  );
}

function parse(text: string, env: NodeJS.ProcessEnv = {}) {
  return parsePipeline(text, 'secure.yaml', { env, baseDir: root });
}

/** The ConfigError a text is refused with. */
function refusal(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parse(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the pipeline to be refused');
}

describe('Kafka credentials in the pipeline file', () => {
  it('takes the SASL password from the environment, digits kept as text', () => {
    const config = parse(
      withKafka(
        '    sasl: { mechanism: scram-sha-256, username: ae, password: "${KAFKA_PASSWORD}" }\n',
      ),
      { KAFKA_PASSWORD: '007123' },
    );
    expect(config.input.kafka.sasl).toEqual({
      mechanism: 'scram-sha-256',
      username: 'ae',
      password: '007123',
    });
    expect(kafkaSecurity(config.input.kafka).sasl).toEqual({
      mechanism: 'scram-sha-256',
      username: 'ae',
      password: '007123',
    });
  });

  it('reads passwordFile and TLS files when the client is made, one trailing newline dropped', () => {
    writeFileSync(join(dir, 'pw'), `${SECRET}\n`);
    writeFileSync(
      join(dir, 'ca.pem'),
      '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
    );
    const config = parse(
      withKafka(
        [
          '    sasl:',
          '      mechanism: scram-sha-512',
          '      username: ae',
          `      passwordFile: ${join(dir, 'pw')}`,
          '    tls:',
          `      caFile: ${join(dir, 'ca.pem')}`,
          '',
        ].join('\n'),
      ),
    );
    const security = kafkaSecurity(config.input.kafka);
    expect(security.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'ae', password: SECRET });
    expect(security.ssl).toEqual({
      rejectUnauthorized: true,
      ca: ['-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n'],
    });
  });

  it('without sasl and tls the connection stays plaintext', () => {
    expect(kafkaSecurity(parse(sensorsText).input.kafka)).toEqual({});
  });

  it('refuses a SASL section without a password, or with both password and passwordFile', () => {
    const none = refusal(withKafka('    sasl: { mechanism: plain, username: ae }\n'));
    expect(none.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'input.kafka.sasl.password: give exactly one of password and passwordFile',
    ]);
    const both = refusal(
      withKafka(
        `    sasl: { mechanism: plain, username: ae, password: ${SECRET}, passwordFile: /x }\n`,
      ),
    );
    expect(both.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(both.message).not.toContain(SECRET);
  });

  it('refuses a client certificate without its key', () => {
    const err = refusal(withKafka('    tls: { certFile: /c.pem }\n'));
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'input.kafka.tls.key: a client certificate and its key come together',
    ]);
  });

  it.each([
    [
      'an unknown mechanism',
      `    sasl: { mechanism: gssapi, username: ae, password: ${SECRET} }\n`,
    ],
    ['a number as password', '    sasl: { mechanism: plain, username: ae, password: 8675309 }\n'],
    ['a misspelt key', `    sasl: { mechanism: plain, username: ae, pasword: ${SECRET} }\n`],
    ['an enum value', `    sasl: { mechanism: "${SECRET}", username: ae, password: x }\n`],
    ['a TLS flag', `    tls: { rejectUnauthorized: "${SECRET}", key: ${SECRET}, cert: c }\n`],
  ])('a config error about %s never repeats the secret', (_what, extra) => {
    const err = refusal(withKafka(extra));
    expect(err.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(`${err.message}\n${JSON.stringify(err.issues)}`).not.toMatch(/Tr0ub4dor|8675309/);
  });

  it('an unreadable passwordFile names the setting and the file, not a value', () => {
    const config = parse(
      withKafka(
        `    sasl: { mechanism: plain, username: ae, passwordFile: ${join(dir, 'missing')} }\n`,
      ),
    );
    expect(() => kafkaSecurity(config.input.kafka)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.CONFIG_FILE_NOT_FOUND,
        message: expect.stringContaining('input.kafka.sasl.passwordFile: cannot read'),
      }),
    );
  });
});

describe('InfluxDB credentials', () => {
  it('refuses credentials in output.influx.url, without repeating them', () => {
    const err = refusal(
      sensorsText.replace(
        "'${INFLUX_URL:http://127.0.0.1:8086}'",
        `'http://admin:${SECRET}@127.0.0.1:8086'`,
      ),
    );
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'output.influx.url: credentials do not belong in the URL: use username and password/passwordFile',
    ]);
    expect(err.message).not.toContain(SECRET);
  });

  it('a 401 is AE_ERR_INFLUX_AUTH, not retriable, and does not quote the request', () => {
    const err = classifyInfluxError(
      Object.assign(
        new Error(`A 401 Unauthorized error occurred: {"error":"authorization failed"}`),
        {
          res: { statusCode: 401 },
        },
      ),
    );
    expect(err).toBeInstanceOf(AeError);
    expect(err.code).toBe(ErrorCodes.INFLUX_AUTH);
    expect(err.retriable).toBe(false);
    expect(err.message).toContain('InfluxDB refused the credentials (401)');
  });
});

describe('the logger', () => {
  function capture(): { lines: string[]; stream: Writable } {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    return { lines, stream };
  }

  it('writes credential fields as [redacted], at any depth, and keeps record keys', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', stream);
    log.info({ password: SECRET, key: 'pump-7' }, 'top level');
    log.info({ sasl: { mechanism: 'plain', username: 'ae', password: SECRET } }, 'one deep');
    log.info(
      { config: { input: { kafka: { sasl: { password: SECRET }, tls: { key: SECRET } } } } },
      'deep',
    );
    log.warn({ influx: { token: SECRET, headers: { authorization: `Basic ${SECRET}` } } }, 'auth');
    const out = lines.join('');
    expect(lines).toHaveLength(4);
    expect(out).not.toContain(SECRET);
    expect(out.match(/\[redacted\]/g)).toHaveLength(6);
    expect(JSON.parse(lines[0])).toMatchObject({ key: 'pump-7', password: '[redacted]' });
    expect(JSON.parse(lines[1]).sasl).toEqual({
      mechanism: 'plain',
      username: 'ae',
      password: '[redacted]',
    });
  });
});

describe('aestream lint --print', () => {
  it('shows the resolved pipeline with its credentials as [redacted]', async () => {
    const file = join(dir, 'print.yaml');
    writeFileSync(
      file,
      withKafka("    sasl: { mechanism: plain, username: ae, password: '${KAFKA_PASSWORD}' }\n"),
    );
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    const before = process.env.KAFKA_PASSWORD;
    const cwd = process.cwd();
    process.env.KAFKA_PASSWORD = SECRET;
    process.chdir(root);
    try {
      await main(['node', 'aestream', 'lint', '--print', file]);
    } finally {
      process.chdir(cwd);
      log.mockRestore();
      if (before === undefined) delete process.env.KAFKA_PASSWORD;
      else process.env.KAFKA_PASSWORD = before;
    }
    const text = out.join('\n');
    expect(text).toContain(`ok   ${file}`);
    expect(text).toContain('"password": "[redacted]"');
    expect(text).toContain('"username": "ae"');
    expect(text).not.toContain(SECRET);
  });
});
