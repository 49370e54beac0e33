import type { ImageFrame } from '../../core/records';
import { AeError, ErrorCodes } from '../../core/errors';
import { readIdxFile } from './idx-file';

export interface IdxSourceOptions {
  /** Source id of every frame (default `idx`). */
  source?: string;
  /** Event time of the first image (default 0), then `intervalMs` apart (default 1000). */
  startTime?: number;
  intervalMs?: number;
  /** Stop after this many images. */
  limit?: number;
  /** IDX label file (idx1) of the same images: its label goes into each item. */
  labels?: string;
}

/** One image of an IDX file, with its label when a label file was given. */
export interface LabelledImage {
  frame: ImageFrame;
  label?: number;
  index: number;
}

/**
 * Image frames of an IDX image file (MNIST layout: [n, rows, cols] of unsigned bytes,
 * gzipped or not), as RAW_U8 grey frames.
 *
 * @example
 * for (const { frame, label } of readIdxImages('../shared/datasets/mnist/t10k-images-idx3-ubyte.gz', { labels: '.../t10k-labels-idx1-ubyte.gz' })) { ... }
 */
export function* readIdxImages(
  file: string,
  options: IdxSourceOptions = {},
): Generator<LabelledImage> {
  const { shape, data } = readIdxFile(file);
  if (shape.length !== 3 && shape.length !== 4) {
    throw new AeError(
      ErrorCodes.FILE_FORMAT,
      `${file}: expected images [n, rows, cols(, channels)], got shape [${shape.join(', ')}]`,
    );
  }
  const [n, height, width] = shape;
  const channels = shape[3] ?? 1;
  let labels: Uint8Array | undefined;
  if (options.labels) {
    const l = readIdxFile(options.labels);
    if (l.shape.length !== 1 || l.shape[0] !== n) {
      throw new AeError(
        ErrorCodes.FILE_FORMAT,
        `${options.labels}: ${l.shape[0]} labels for ${n} images`,
      );
    }
    labels = l.data;
  }
  const size = width * height * channels;
  const count = Math.min(n, options.limit ?? n);
  const start = options.startTime ?? 0;
  const interval = options.intervalMs ?? 1000;
  for (let i = 0; i < count; i++) {
    yield {
      index: i,
      label: labels?.[i],
      frame: {
        source: options.source ?? 'idx',
        time: start + i * interval,
        width,
        height,
        channels,
        encoding: 'RAW_U8',
        data: Buffer.from(data.buffer, data.byteOffset + i * size, size),
      },
    };
  }
}
