/** A seeded PRNG (mulberry32) so generated test data is the same on every run. */
export { seededRandom as seeded } from '../../../src/core/seeded-random';

export function exponential(rand: () => number, n: number, rate = 1): number[] {
  return Array.from({ length: n }, () => -Math.log(1 - rand()) / rate);
}

/** Pareto with minimum 1 and tail index alpha: P(X > x) = x^-alpha. */
export function pareto(rand: () => number, n: number, alpha: number): number[] {
  return Array.from({ length: n }, () => Math.pow(1 - rand(), -1 / alpha));
}

export function gaussian(rand: () => number, n: number, mean = 0, sd = 1): number[] {
  return Array.from({ length: n }, () => {
    const u = 1 - rand();
    const v = rand();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}
