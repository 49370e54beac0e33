/**
 * Greenwald-Khanna quantile summary ("Space-efficient online computation of quantile
 * summaries", SIGMOD 2001). Deterministic bound: after n inserts, `quantile(phi)` returns a
 * value whose rank is within epsilon * n of ceil(phi * n), using O((1/epsilon) log(epsilon n))
 * tuples. Deterministic (no sampling) so a restored sketch answers exactly like the original.
 *
 * @example
 * const s = new GkSketch(0.001);
 * for (const x of xs) s.insert(x);
 * s.quantile(0.99); // within 0.001 * n ranks of the true 99th percentile
 */
export class GkSketch {
  readonly epsilon: number;
  private n = 0;
  /** Tuples sorted by value: [value, g, delta]. rmin(i) = sum of g up to i; rmax = rmin + delta. */
  private tuples: Array<[number, number, number]> = [];

  constructor(epsilon: number) {
    if (!(epsilon > 0 && epsilon < 1))
      throw new RangeError(`gk sketch: epsilon must be in (0,1), got ${epsilon}`);
    this.epsilon = epsilon;
  }

  get count(): number {
    return this.n;
  }

  /** Tuples kept; the memory the sketch uses. */
  get size(): number {
    return this.tuples.length;
  }

  insert(value: number): void {
    const t = this.tuples;
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t[mid]![0] <= value) lo = mid + 1;
      else hi = mid;
    }
    const delta = lo === 0 || lo === t.length ? 0 : Math.floor(2 * this.epsilon * this.n);
    t.splice(lo, 0, [value, 1, delta]);
    this.n++;
    if (this.n % Math.max(1, Math.floor(1 / (2 * this.epsilon))) === 0) this.compress();
  }

  /** Multiplies every kept value by a positive factor (ranks do not change). */
  rescale(factor: number): void {
    for (const tuple of this.tuples) tuple[0] *= factor;
  }

  /** A value whose rank is within epsilon * n of ceil(phi * n); NaN when empty. */
  quantile(phi: number): number {
    const t = this.tuples;
    if (t.length === 0) return NaN;
    const rank = Math.max(1, Math.ceil(phi * this.n));
    const slack = this.epsilon * this.n;
    let rmin = 0;
    for (const [v, g, d] of t) {
      rmin += g;
      if (rank - rmin <= slack && rmin + d - rank <= slack) return v;
    }
    return t[t.length - 1]![0];
  }

  /** Estimated fraction of inserted values <= value (within epsilon). */
  cdf(value: number): number {
    if (this.n === 0) return 0;
    let rmin = 0;
    for (const [v, g] of this.tuples) {
      if (v > value) break;
      rmin += g;
    }
    return rmin / this.n;
  }

  private compress(): void {
    const t = this.tuples;
    const cap = Math.floor(2 * this.epsilon * this.n);
    // Right to left, merging a tuple into its right neighbour; the first and last (the
    // exact min and max) are never merged away.
    for (let i = t.length - 2; i >= 1; i--) {
      const a = t[i]!;
      const b = t[i + 1]!;
      if (a[1] + b[1] + b[2] <= cap) {
        b[1] += a[1];
        t.splice(i, 1);
      }
    }
  }

  toJSON(): { epsilon: number; n: number; tuples: Array<[number, number, number]> } {
    return { epsilon: this.epsilon, n: this.n, tuples: this.tuples.map((x) => [x[0], x[1], x[2]]) };
  }

  static fromJSON(data: {
    epsilon: number;
    n: number;
    tuples: Array<[number, number, number]>;
  }): GkSketch {
    const s = new GkSketch(data.epsilon);
    s.n = data.n;
    s.tuples = data.tuples.map((x) => [x[0], x[1], x[2]]);
    return s;
  }
}
