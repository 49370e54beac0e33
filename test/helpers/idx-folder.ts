import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** An IDX file of unsigned bytes (MNIST's format): magic 0x0000 08 NN, NN sizes, the data. */
export function idxBytes(shape: readonly number[], data: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(Uint8Array.from(data))]);
}

/** Labelled square grey images of one split: `side` x `side` bytes each, row-major. */
export interface IdxSplit {
  side: number;
  images: Uint8Array[];
  labels: number[];
}

/**
 * Writes a folder in MNIST's layout (gzipped `train-` and `t10k-` images and labels, as
 * MNIST and Fashion-MNIST are published); returns `dir`.
 */
export function writeIdxFolder(dir: string, splits: { train: IdxSplit; t10k: IdxSplit }): string {
  mkdirSync(dir, { recursive: true });
  for (const [prefix, s] of Object.entries(splits)) {
    const pixels = new Uint8Array(s.images.length * s.side * s.side);
    s.images.forEach((img, i) => pixels.set(img, i * s.side * s.side));
    writeFileSync(
      join(dir, `${prefix}-images-idx3-ubyte.gz`),
      gzipSync(idxBytes([s.images.length, s.side, s.side], pixels)),
    );
    writeFileSync(
      join(dir, `${prefix}-labels-idx1-ubyte.gz`),
      gzipSync(idxBytes([s.labels.length], s.labels)),
    );
  }
  return dir;
}
