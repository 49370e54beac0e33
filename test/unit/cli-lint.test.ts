import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runMain as run } from '../helpers/cli-process';

const root = resolve(__dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'aestream-cli-lint-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of pipelines/<example>, edited, as `name` in this file's temp folder. */
function exampleCopy(example: string, name: string, edit: (text: string) => string): string {
  const file = join(tmp, name);
  writeFileSync(file, edit(readFileSync(join(root, 'pipelines', example), 'utf8')));
  return file;
}

describe('aestream lint', () => {
  it('exits 0 for the example pipelines', async () => {
    const r = await run('lint', 'pipelines/sensors.yaml', 'pipelines/images.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toContain('ok   pipelines/sensors.yaml');
    expect(r.out).toContain('ok   pipelines/images.yaml');
  });

  it('exits 1 for a copy with a misspelt key and a negative window, naming both paths', async () => {
    const bad = exampleCopy('sensors.yaml', 'sensors-bad.yaml', (t) =>
      t.replace('maxWaitMs: 20', 'maxWaitMS: 20').replace('window: 64', 'window: -64'),
    );
    const r = await run('lint', 'pipelines/sensors.yaml', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`FAIL ${bad} (AE_ERR_CONFIG_INVALID)`);
    expect(r.err).toMatch(/batch\.maxWaitMS: unknown key/);
    expect(r.err).toMatch(/frame\.window: .*>=1/);
    expect(r.err).toContain('1 of 2 files invalid');
  });

  it('exits 1 with a clear message for a file that does not exist', async () => {
    const r = await run('lint', 'pipelines/nope.yaml');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/FAIL pipelines\/nope\.yaml \(AE_ERR_CONFIG_FILE_NOT_FOUND\)/);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('--data warns about a stepped channel and a constant one in a training file, and still exits 0', async () => {
    const pipeline = exampleCopy('sensors.yaml', 'three.yaml', (t) =>
      t.replace('features: 1, window: 64', 'features: 3, window: 16'),
    );
    const rows = ['timestamp,temp,flow,spare'];
    for (let i = 0; i < 400; i++) {
      const temp = 20 + Math.sin(i / 5) * 3;
      // At 3.0 (jitter of a thousandth) but for a step every tenth row.
      const flow = i % 10 === 0 ? 4 : 3 + ((i * 7) % 3) * 0.001;
      rows.push(`${i},${temp.toFixed(4)},${flow},0`);
    }
    const data = join(tmp, 'train.csv');
    writeFileSync(data, rows.join('\n') + '\n');
    const r = await run('lint', pipeline, '--data', data);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`ok   ${pipeline}`);
    expect(r.out).toMatch(/warn .*model\.normalization: channel 2 \(flow\) has IQR .* floored at/);
    expect(r.out).toMatch(/warn .*model\.normalization: channel 3 \(spare\) is constant/);
    expect(r.out).not.toMatch(/channel 1 \(temp\)/);
  });

  it('warns about a deprecated field and still exits 0', async () => {
    const old = exampleCopy('sensors.yaml', 'sensors-old.yaml', (t) =>
      t.replace('database: aestream }', 'database: aestream, flushMs: 1000 }'),
    );
    const r = await run('lint', old);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`ok   ${old}`);
    expect(r.out).toContain(`warn ${old}: output.influx.flushMs: deprecated: No longer used`);
    const clean = await run('lint', 'pipelines/sensors.yaml');
    expect(clean.out).not.toContain('warn');
  });

  it('--docs prints the field reference rendered from the schema', async () => {
    const r = await run('lint', '--docs');
    expect(r.code).toBe(0);
    expect(r.out).toContain('| `input.kafka.brokers` | string | required |');
    expect(r.out).toMatch(/\| `output\.influx\.flushMs` \|.*\*\*Deprecated\.\*\*/);
  });

  it('without a file or --docs, exits 1 saying what to give', async () => {
    const r = await run('lint');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/give at least one pipeline file/);
  });

  it('refuses a standardized score for image frames', async () => {
    const file = exampleCopy('images.yaml', 'images-score.yaml', (t) =>
      t.replace(/model:\s*\{/, 'model: { score: standardized,'),
    );
    const r = await run('lint', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/model\.score: standardized standardizes per sensor channel/);
  });

  it('--print shows the resolved file with its defaults', async () => {
    const r = await run('lint', '--print', 'pipelines/images.yaml');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out.slice(r.out.indexOf('{'))) as {
      output: { dlq: { topic: string } };
    };
    expect(json.output.dlq.topic).toBe('images.dlq');
  });
});

describe('aestream', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const r = await run('--version');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(pkg.version);
  });

  it('--help lists the commands', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/lint \[options\] \[file\.\.\.\]/);
  });

  it('an unknown command exits 1', async () => {
    const r = await run('frobnicate');
    expect(r.code).toBe(1);
    expect(r.err).toContain("unknown command 'frobnicate'");
  });
});

describe('aestream detect', () => {
  it('refuses to start without a model, pointing to aestream train', async () => {
    const file = exampleCopy('sensors.yaml', 'no-model.yaml', (t) =>
      t.replace('store: ./models/sensors', `store: ${join(tmp, 'no-models')}`),
    );
    const r = await run('detect', '-p', file, '--metrics-port', 'off');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /error AE_ERR_MODEL_NOT_FOUND: model not found: no model in .*models; train one with: aestream train -p <pipeline.yaml> --data <file>/,
    );
  }, 60_000);

  it('names a bad --metrics-port', async () => {
    const r = await run('detect', '-p', 'pipelines/sensors.yaml', '--metrics-port', 'http');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--metrics-port must be a port (0-65535) or "off", got 'http'`);
  });
});
