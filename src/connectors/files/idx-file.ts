import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { AeError, ErrorCodes } from '../../core/errors';

/**
 * IDX files (the MNIST / Fashion-MNIST format), plain or gzip: a big-endian header
 * (magic 0x0000TTNN: type TT, NN dimensions, then NN sizes) followed by the data.
 * Only unsigned bytes (type 0x08) are supported, which is what those datasets use.
 */
export interface IdxData {
  /** Sizes of each dimension, e.g. [60000, 28, 28] or [60000]. */
  shape: number[];
  data: Uint8Array;
}

/**
 * Reads an IDX file (gunzipped if it ends in .gz or starts with the gzip magic).
 *
 * @example
 * const { shape, data } = readIdxFile('../shared/datasets/mnist/t10k-images-idx3-ubyte.gz'); // [10000, 28, 28]
 */
export function readIdxFile(path: string): IdxData {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new AeError(ErrorCodes.DATA_INVALID, `cannot read IDX file ${path}`, { cause: err });
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new AeError(ErrorCodes.DATA_INVALID, `${path} is not an IDX file (bad magic)`);
  }
  const type = bytes[2];
  const dims = bytes[3] as number;
  if (type !== 0x08) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${path}: IDX type 0x${(type ?? 0).toString(16)} unsupported (only unsigned bytes)`,
    );
  }
  const header = 4 + 4 * dims;
  if (bytes.length < header)
    throw new AeError(ErrorCodes.DATA_INVALID, `${path}: truncated IDX header`);
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(bytes.readUInt32BE(4 + 4 * i));
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== size) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${path}: header promises ${size} values of shape [${shape.join(', ')}], file has ${bytes.length - header}`,
    );
  }
  return { shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, size) };
}
