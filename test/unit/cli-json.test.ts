/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { REPO_ROOT as root } from '../helpers/detector-process';
import { runMain as run } from '../helpers/cli-process';
import { tempDir } from '../helpers/temp-dir';

jest.setTimeout(60_000);

/** stdout is exactly one JSON document. */
function onlyJson(out: string): Record<string, unknown> {
  expect(out.trim().split('\n')).toHaveLength(1);
  return JSON.parse(out) as Record<string, unknown>;
}

describe('--json for scripts', () => {
  const dir = tempDir('aestream-json-');

  it('train --json prints the new model as one JSON object and nothing else', async () => {
    const pipeline = join(dir, 'tiny.yaml');
    writeFileSync(
      pipeline,
      `
name: tiny
input: { kafka: { brokers: 'localhost:9092', topic: tiny.frames, group: tiny }, schema: schemas/sensor-frame.avsc }
frame: { kind: sensor, features: 1, window: 8, stride: 1 }
model: { kind: dense-ae, hidden: [8, 3], store: ${join(dir, 'models')}, train: { epochs: 3, seed: 1 } }
threshold: { kind: ksigma, k: 4, calibration: 40 }
output: {}
`,
    );
    const data = join(dir, 'train.csv');
    const rows = ['value', ...Array.from({ length: 400 }, (_, i) => Math.sin(i / 5).toFixed(4))];
    writeFileSync(data, rows.join('\n') + '\n');

    const r = await run('train', '-p', pipeline, '--data', data, '--json');
    expect(r.code).toBe(0);
    const result = onlyJson(r.out);
    expect(result).toMatchObject({
      version: 1,
      kind: 'dense-ae',
      samples: expect.any(Number) as unknown,
      epochs: expect.any(Number) as unknown,
      bestEpoch: expect.any(Number) as unknown,
      loss: expect.any(Number) as unknown,
      valLoss: expect.any(Number) as unknown,
    });
    expect(existsSync(String(result.path))).toBe(true);
    expect(r.err).not.toMatch(/training dense-ae|epoch \d/);
  });

  it('lint --json lists every file with its errors and warnings, and still exits 1 on an invalid one', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      readFileSync(join(root, 'pipelines', 'sensors.yaml'), 'utf8').replace(
        'window: 64',
        'window: -64',
      ),
    );
    const r = await run('lint', 'pipelines/sensors.yaml', bad, '--json');
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    const result = onlyJson(r.out) as {
      failed: number;
      files: Array<{ file: string; ok: boolean; errors: Array<{ path: string }> }>;
    };
    expect(result.failed).toBe(1);
    expect(result.files.map((f) => [f.file, f.ok])).toEqual([
      ['pipelines/sensors.yaml', true],
      [bad, false],
    ]);
    expect(result.files[1]!.errors.map((e) => e.path)).toContain('frame.window');
  });
});
