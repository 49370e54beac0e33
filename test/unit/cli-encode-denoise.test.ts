/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { readFileSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { main } from '../../src/cli/main';
import { loadPipeline } from '../../src/config/load-pipeline';
import { readIdxFile } from '../../src/connectors/files/idx-file';
import { trainFromFile } from '../../src/registry/train-and-store';
import { addGaussianNoise, rmse } from '../../src/eval/denoise-eval';
import { tempDir } from '../helpers/temp-dir';

jest.setTimeout(60_000);

async function run(...args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const error = jest
    .spyOn(console, 'error')
    .mockImplementation((...a) => void err.push(a.join(' ')));
  process.exitCode = undefined;
  try {
    await main(['node', 'aestream', ...args]);
    return { code: Number(process.exitCode ?? 0), err: err.join('\n') };
  } finally {
    process.exitCode = undefined;
    error.mockRestore();
  }
}

const csvRows = (file: string): string[][] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));

describe('aestream encode and denoise on files', () => {
  const dir = tempDir('aestream-encode-');

  it('sensors: denoise keeps the columns and moves a noisy signal towards the clean one; encode writes one latent row per window', async () => {
    const pipeline = join(dir, 'sensors.yaml');
    writeFileSync(
      pipeline,
      `name: enc
input:
  kafka: { brokers: "127.0.0.1:9092", topic: enc.frames, group: g }
  schema: ${join(process.cwd(), 'schemas/sensor-frame.avsc')}
frame: { kind: sensor, features: 1, window: 16, stride: 4 }
model:
  kind: dense-ae
  hidden: [16, 4]
  store: ${join(dir, 'store-sensors')}
  engine: tfjs
  train: { epochs: 30, seed: 2, batchSize: 32, learningRate: 0.005 }
  denoise: { noise: gaussian, level: 0.4 }
threshold: { kind: static, value: 1 }
output: {}
`,
    );
    const n = 2400;
    const clean = Float32Array.from(
      { length: n },
      (_, t) => Math.sin(t / 5) + 0.5 * Math.sin(t / 13),
    );
    const csv = (values: ArrayLike<number>) =>
      'timestamp,value\n' +
      Array.from(values, (v, t) => `2026-01-01 00:${String(t).padStart(4, '0')},${v}`).join('\n');
    writeFileSync(join(dir, 'clean.csv'), csv(clean));
    const noisy = addGaussianNoise(clean, 0.3, 9);
    writeFileSync(join(dir, 'noisy.csv'), csv(noisy));
    await trainFromFile(loadPipeline(pipeline), { data: join(dir, 'clean.csv') });

    const out = join(dir, 'denoised.csv');
    const r = await run(
      'denoise',
      '-p',
      pipeline,
      '--data',
      join(dir, 'noisy.csv'),
      '--out',
      out,
      '--no-progress',
    );
    expect(r.err).toContain(`denoised: ${n} rows to ${out} (model v000001 on tfjs)`);
    expect(r.code).toBe(0);
    const rows = csvRows(out);
    expect(rows[0]).toEqual(['timestamp', 'value']);
    expect(rows).toHaveLength(n + 1);
    expect(rows[5]![0]).toBe('2026-01-01 00:0004');
    const denoised = rows.slice(1).map((row) => Number(row[1]));
    expect(rmse(denoised, clean) / rmse(noisy, clean)).toBeLessThan(0.8);

    const latent = join(dir, 'latent.csv');
    expect(
      (
        await run(
          'encode',
          '-p',
          pipeline,
          '--data',
          join(dir, 'noisy.csv'),
          '--out',
          latent,
          '--no-progress',
        )
      ).code,
    ).toBe(0);
    const z = csvRows(latent);
    expect(z[0]).toEqual(['time', 'z0', 'z1', 'z2', 'z3']);
    // Windows of 16 with stride 4 over 2400 readings; each row names its window's last reading.
    expect(z).toHaveLength((n - 16) / 4 + 1 + 1);
    expect(z[1]![0]).toBe('2026-01-01 00:0015');
    expect(z.slice(1).every((row) => row.slice(1).every((v) => Number.isFinite(Number(v))))).toBe(
      true,
    );
  });

  it('images: encode adds labels from an IDX file; denoise writes IDX of the input shape', async () => {
    const pipeline = join(dir, 'images.yaml');
    writeFileSync(
      pipeline,
      `name: encimg
input:
  kafka: { brokers: "127.0.0.1:9092", topic: enci.frames, group: g }
  schema: ${join(process.cwd(), 'schemas/image-frame.avsc')}
frame: { kind: image, width: 8, height: 8, channels: 1 }
model: { kind: conv-ae, filters: [4], latent: 3, store: ${join(dir, 'store-images')}, engine: onnx, train: { epochs: 2, seed: 1 } }
threshold: { kind: static, value: 1 }
output: {}
`,
    );
    const count = 40;
    const idx = (shape: number[], data: Uint8Array) => {
      const header = Buffer.alloc(4 + 4 * shape.length);
      header.writeUInt32BE(0x800 + shape.length, 0);
      shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
      return gzipSync(Buffer.concat([header, Buffer.from(data)]));
    };
    const images = Uint8Array.from(
      { length: count * 64 },
      (_, i) => ((i % 64) * 4 + Math.floor(i / 64)) % 256,
    );
    writeFileSync(join(dir, 'images.gz'), idx([count, 8, 8], images));
    writeFileSync(
      join(dir, 'labels.gz'),
      idx(
        [count],
        Uint8Array.from({ length: count }, (_, i) => i % 2),
      ),
    );
    await trainFromFile(loadPipeline(pipeline), { data: join(dir, 'images.gz') });

    const latent = join(dir, 'img-latent.csv');
    const e = await run(
      'encode',
      '-p',
      pipeline,
      '--data',
      join(dir, 'images.gz'),
      '--labels',
      join(dir, 'labels.gz'),
      '--out',
      latent,
      '--no-progress',
    );
    expect(e.code).toBe(0);
    const z = csvRows(latent);
    expect(z[0]).toEqual(['index', 'label', 'z0', 'z1', 'z2']);
    expect(z.slice(1).map((row) => row[1])).toEqual(
      Array.from({ length: count }, (_, i) => String(i % 2)),
    );

    const out = join(dir, 'rebuilt.idx.gz');
    expect(
      (
        await run(
          'denoise',
          '-p',
          pipeline,
          '--data',
          join(dir, 'images.gz'),
          '--out',
          out,
          '--max-samples',
          '10',
          '--no-progress',
        )
      ).code,
    ).toBe(0);
    expect(readIdxFile(out).shape).toEqual([10, 8, 8]);

    const bad = await run(
      'encode',
      '-p',
      pipeline,
      '--data',
      join(dir, 'labels.gz'),
      '--out',
      latent,
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('AE_ERR_DATA_INVALID');
  });
});
