/** Count, mean and sample variance (n − 1; 0 below two) of the finite numbers in `xs`. */
export function sampleMoments(xs: ArrayLike<number>): {
  count: number;
  mean: number;
  variance: number;
} {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isFinite(xs[i])) {
      count++;
      sum += xs[i]!;
    }
  }
  const mean = count ? sum / count : 0;
  let sq = 0;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i])) sq += (xs[i]! - mean) ** 2;
  return { count, mean, variance: count < 2 ? 0 : sq / (count - 1) };
}
