import { AeError, ErrorCodes } from '../core/errors';

/** Shape check shared by the engines: `n` frames of `size` values each. */
export function checkBatch(x: Float32Array, n: number, size: number): void {
  if (n <= 0 || x.length !== n * size) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `a batch of ${n} frames needs ${n * size} values, got ${x.length}`,
    );
  }
}
