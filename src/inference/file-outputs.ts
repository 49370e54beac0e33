import type { SensorFrameConfig } from '../core/frame-config';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { ModelSection } from '../training/model-config';
import { AeError, ErrorCodes } from '../core/errors';
import { readIdxFile } from '../connectors/files/idx-file';
import { openModel } from './active-model';
import { architectureOf, inputSizeOf } from '../training/architecture';
import { readCsvReadings } from '../training/training-data';

/** What `aestream encode` / `aestream denoise` take besides the pipeline. */
export interface FileOutputOptions {
  /** Sensor CSV (time column optional) or IDX images (.gz ok), as for `aestream train`. */
  data: string;
  /** Output file: CSV; `denoise` of images also writes IDX when it ends in .idx or .gz. */
  out: string;
  /** Model version (default: the newest in the store). */
  version?: number;
  store?: string;
  /** IDX labels of the images (encode): adds a `label` column. */
  labels?: string;
  /** Use at most this many samples (images) or readings (sensors); 0 = all. */
  maxSamples?: number;
  /** Frames per inference batch (default 256). */
  batch?: number;
  onStart?: (info: { samples: number; model: string; engine: string }) => void;
  onProgress?: (done: number) => void;
}

export interface FileOutputSummary {
  /** Rows written: latent vectors (encode), readings or images (denoise). */
  rows: number;
  model: string;
  engine: string;
  out: string;
}

/** Model inputs of a data file, ready for batched inference. */
interface Inputs {
  raw: Float32Array;
  count: number;
  size: number;
  /** The first column of each output row (time or index). */
  ids: string[];
  labels?: Uint8Array;
  csv?: ReturnType<typeof readCsvReadings>;
  images?: { shape: number[] };
}

const num = (v: number): string => String(Number(v.toPrecision(7)));

function readInputs(config: ModelSection, opts: FileOutputOptions, stride: number): Inputs {
  const arch = architectureOf(config.frame, config.model);
  const size = inputSizeOf(arch);
  const max = opts.maxSamples ?? 0;
  if (arch.kind === 'conv-ae') {
    const idx = readIdxFile(opts.data);
    const [n, h, w] = idx.shape as [number, number, number];
    const c = idx.shape[3] ?? 1;
    if (idx.shape.length < 3 || h !== arch.height || w !== arch.width || c !== arch.channels) {
      throw new AeError(
        ErrorCodes.DATA_INVALID,
        `${opts.data}: images of shape [${idx.shape.join(', ')}], the pipeline's frames are ${arch.width}x${arch.height}x${arch.channels}`,
      );
    }
    const count = max > 0 ? Math.min(n, max) : n;
    let labels: Uint8Array | undefined;
    if (opts.labels !== undefined) {
      const l = readIdxFile(opts.labels);
      if (l.shape.length !== 1 || (l.shape[0] as number) < count) {
        throw new AeError(
          ErrorCodes.DATA_INVALID,
          `${opts.labels}: expected at least ${count} labels, shape [${l.shape.join(', ')}]`,
        );
      }
      labels = l.data.subarray(0, count);
    }
    return {
      raw: Float32Array.from(idx.data.subarray(0, count * size)),
      count,
      size,
      ids: Array.from({ length: count }, (_, i) => String(i)),
      ...(labels ? { labels } : {}),
      images: { shape: [count, ...idx.shape.slice(1)] },
    };
  }
  let text: string;
  try {
    text = readFileSync(opts.data, 'utf8');
  } catch (err) {
    throw new AeError(ErrorCodes.DATA_INVALID, `cannot read ${opts.data}`, { cause: err });
  }
  const csv = readCsvReadings(opts.data, text, arch.features);
  const rows = max > 0 ? Math.min(csv.rows, max) : csv.rows;
  const { window: w, features: d } = arch;
  if (rows < w) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${opts.data}: ${rows} readings, a window needs ${w}`,
    );
  }
  const count = Math.floor((rows - w) / stride) + 1;
  const raw = new Float32Array(count * size);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    raw.set(csv.readings.subarray(i * stride * d, (i * stride + w) * d), i * size);
    const last = i * stride + w - 1;
    ids.push(csv.hasTime ? (csv.times[last] as string) : String(last));
  }
  return { raw, count, size, ids, csv: { ...csv, rows } };
}

async function runModel(
  config: ModelSection,
  opts: FileOutputOptions,
  inputs: Inputs,
  each: (
    from: number,
    out: { reconstruction: Float32Array; latent: Float32Array; k: number },
  ) => void,
): Promise<{ model: string; engine: string }> {
  const model = await openModel(config.frame, config.model, {
    ...(opts.version !== undefined ? { version: opts.version } : {}),
    ...(opts.store !== undefined ? { store: opts.store } : {}),
  });
  try {
    opts.onStart?.({ samples: inputs.count, model: model.version, engine: model.engine });
    const batch = opts.batch ?? 256;
    for (let from = 0; from < inputs.count; from += batch) {
      const to = Math.min(inputs.count, from + batch);
      const out = await model.scorer.scoreWithOutputs(
        inputs.raw.subarray(from * inputs.size, to * inputs.size),
        to - from,
      );
      each(from, { reconstruction: out.reconstruction, latent: out.latent, k: out.latentSize });
      opts.onProgress?.(to);
    }
    return { model: model.version, engine: model.engine };
  } finally {
    await model.dispose();
  }
}

function write(file: string, data: string | Buffer): void {
  try {
    writeFileSync(file, data);
  } catch (err) {
    throw new AeError(ErrorCodes.DATA_INVALID, `cannot write ${file}`, { cause: err });
  }
}

/**
 * `aestream encode`: the latent vector of every model input of a file (every window of a
 * sensor CSV, cut with the pipeline's window and stride; every IDX image) to a CSV:
 * `time` (of the window's last reading) or `index`, optional `label`, then z0..z(k-1).
 *
 * @example await encodeFile(loadPipeline('pipelines/images.yaml'), { data: 't10k-images-idx3-ubyte.gz', out: 'latent.csv' })
 */
export async function encodeFile(
  config: ModelSection,
  opts: FileOutputOptions,
): Promise<FileOutputSummary> {
  const stride = config.frame.kind === 'sensor' ? config.frame.stride : 1;
  const inputs = readInputs(config, opts, stride);
  const lines: string[] = [];
  let k = 0;
  const ran = await runModel(config, opts, inputs, (from, out) => {
    k = out.k;
    for (let i = 0; i < out.latent.length / k; i++) {
      const row = [inputs.ids[from + i] as string];
      if (inputs.labels) row.push(String(inputs.labels[from + i]));
      for (let j = 0; j < k; j++) row.push(num(out.latent[i * k + j] as number));
      lines.push(row.join(','));
    }
  });
  const first = inputs.csv?.hasTime ? 'time' : 'index';
  const header = [
    first,
    ...(inputs.labels ? ['label'] : []),
    ...Array.from({ length: k }, (_, j) => `z${j}`),
  ];
  write(opts.out, `${header.join(',')}\n${lines.join('\n')}\n`);
  return { rows: lines.length, ...ran, out: opts.out };
}

/**
 * `aestream denoise`: the file rebuilt by the model. Sensor CSVs keep their header and
 * time column; each reading becomes the mean of its reconstructions in every window
 * (stride 1) that contains it, which averages the noise left in single windows. Images
 * become their reconstructions: a CSV of `index,p0..` intensities, or an IDX file (0-255
 * bytes, same shape as the input) when `out` ends in .idx or .gz.
 *
 * @example await denoiseFile(loadPipeline('pipelines/sensors.yaml'), { data: 'noisy.csv', out: 'clean.csv' })
 */
export async function denoiseFile(
  config: ModelSection,
  opts: FileOutputOptions,
): Promise<FileOutputSummary> {
  const inputs = readInputs(config, opts, 1);
  if (inputs.csv) {
    const csv = inputs.csv;
    const { features, window } = config.frame as SensorFrameConfig;
    const sums = new Float64Array(csv.rows * features);
    const counts = new Uint32Array(csv.rows);
    const ran = await runModel(config, opts, inputs, (from, out) => {
      const n = out.reconstruction.length / inputs.size;
      for (let i = 0; i < n; i++) {
        const start = from + i; // window i covers readings start..start+W-1
        for (let r = 0; r < window; r++) {
          counts[start + r]!++;
          for (let f = 0; f < features; f++) {
            sums[(start + r) * features + f]! +=
              out.reconstruction[i * inputs.size + r * features + f]!;
          }
        }
      }
    });
    const lines = [csv.header.join(',')];
    for (let r = 0; r < csv.rows; r++) {
      const row = csv.hasTime ? [csv.times[r] as string] : [];
      for (let f = 0; f < features; f++) row.push(num(sums[r * features + f]! / counts[r]!));
      lines.push(row.join(','));
    }
    write(opts.out, `${lines.join('\n')}\n`);
    return { rows: csv.rows, ...ran, out: opts.out };
  }
  const pixels = new Uint8Array(inputs.count * inputs.size);
  const ran = await runModel(config, opts, inputs, (from, out) => {
    const y = out.reconstruction;
    for (let i = 0; i < y.length; i++) {
      pixels[from * inputs.size + i] = Math.min(255, Math.max(0, Math.round(y[i]!)));
    }
  });
  if (/\.(idx|gz)$/i.test(opts.out)) {
    const shape = inputs.images!.shape;
    const header = Buffer.alloc(4 + 4 * shape.length);
    header.writeUInt32BE(0x00000800 + shape.length, 0);
    shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
    const bytes = Buffer.concat([header, Buffer.from(pixels)]);
    write(opts.out, /\.gz$/i.test(opts.out) ? gzipSync(bytes) : bytes);
  } else {
    const lines = [['index', ...Array.from({ length: inputs.size }, (_, j) => `p${j}`)].join(',')];
    for (let i = 0; i < inputs.count; i++) {
      lines.push([i, ...pixels.subarray(i * inputs.size, (i + 1) * inputs.size)].join(','));
    }
    write(opts.out, `${lines.join('\n')}\n`);
  }
  return { rows: inputs.count, ...ran, out: opts.out };
}
