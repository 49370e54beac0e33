/**
 * A reconstruction error that looks at local structure rather than single pixels: the
 * difference between input and reconstruction is box-blurred before it is squared. A
 * reconstruction that is blurry or off by a pixel along an edge (normal for an
 * autoencoder) gives differences of both signs that cancel in the blur; a missing or extra
 * stroke (an anomaly) does not cancel. On the one-class image protocol this separates
 * classes better than the plain MSE.
 */

/**
 * Mean square of the box-blurred (side 2·radius+1, cut at the borders) difference x - y
 * of each of `n` single-channel frames of `height` x `width`, row-major.
 *
 * @example
 * const scores = blurredErrors(inputs, reconstructions, 32, 28, 28, 1);
 */
export function blurredErrors(
  x: Float32Array,
  y: Float32Array,
  n: number,
  height: number,
  width: number,
  radius = 1,
): Float32Array {
  const size = height * width;
  const out = new Float32Array(n);
  const d = new Float32Array(size);
  for (let f = 0; f < n; f++) {
    const base = f * size;
    for (let i = 0; i < size; i++) d[i] = x[base + i]! - y[base + i]!;
    let total = 0;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        let s = 0;
        let k = 0;
        for (let dr = -radius; dr <= radius; dr++) {
          const rr = r + dr;
          if (rr < 0 || rr >= height) continue;
          for (let dc = -radius; dc <= radius; dc++) {
            const cc = c + dc;
            if (cc < 0 || cc >= width) continue;
            s += d[rr * width + cc]!;
            k++;
          }
        }
        const b = s / k;
        total += b * b;
      }
    }
    out[f] = total / size;
  }
  return out;
}
