/**
 * Fitting a generalized Pareto distribution to peaks-over-threshold excesses, by
 * Grimshaw's procedure ("Computing maximum likelihood estimates for the generalized
 * Pareto distribution", Technometrics 1993) as used by SPOT (Siffer et al., KDD 2017).
 *
 * The MLE (gamma, sigma) satisfies, with x = gamma / sigma, u(x) v(x) = 1 where
 * u(x) = mean(1 / (1 + x Y)) and v(x) = 1 + mean(log(1 + x Y)); then gamma = v(x) - 1 and
 * sigma = gamma / x. The roots lie in (-1/Ymax, 0) and (0, 2 (mean - min) / min^2).
 * Every root found, plus the exponential case gamma = 0, is a candidate; the one with the
 * highest log-likelihood wins.
 */

// Local bindings: under a vm context (jest) every `Math.x` is a slow global lookup, and
// these functions run in the inner loops of every refit.
const { abs, exp, expm1, log, log1p, pow, sign: signOf, max: maxOf } = Math;

export interface GpdParams {
  /** Shape (the paper's gamma); 0 is the exponential tail. */
  gamma: number;
  /** Scale, > 0. */
  sigma: number;
}

const GRID = 24;

/** Log-likelihood of excesses y under GPD(gamma, sigma); -Infinity outside the support. */
export function gpdLogLikelihood(y: ArrayLike<number>, p: GpdParams): number {
  const n = y.length;
  if (!(p.sigma > 0)) return -Infinity;
  if (p.gamma === 0) {
    let s = 0;
    for (let i = 0; i < n; i++) s += y[i]!;
    return -n * log(p.sigma) - s / p.sigma;
  }
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = 1 + (p.gamma * y[i]!) / p.sigma;
    if (a <= 0) return -Infinity;
    s += log(a);
  }
  return -n * log(p.sigma) - (1 + 1 / p.gamma) * s;
}

/**
 * MLE of GPD parameters for positive excesses y. Falls back to the exponential fit when
 * there are too few distinct excesses to say more.
 *
 * @example
 * fitGpd([0.1, 0.5, 0.2, 1.3]); // { gamma, sigma }
 */
export function fitGpd(y: ArrayLike<number>): GpdParams {
  const n = y.length;
  if (n === 0) return { gamma: 0, sigma: 1 };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / n;
  let best: GpdParams = { gamma: 0, sigma: mean > 0 ? mean : 1 };
  if (n < 3 || !(max > min) || !(min > 0)) return best;
  let bestLl = gpdLogLikelihood(y, best);

  const w = (x: number): number => {
    let u = 0;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const s = 1 + x * y[i]!;
      u += 1 / s;
      v += log(s);
    }
    return (u / n) * (1 + v / n) - 1;
  };
  const candidate = (x: number): void => {
    let v = 0;
    for (let i = 0; i < n; i++) v += log(1 + x * y[i]!);
    const gamma = v / n;
    const sigma = gamma / x;
    if (!(sigma > 0) || !Number.isFinite(sigma)) return;
    const ll = gpdLogLikelihood(y, { gamma, sigma });
    if (ll > bestLl) {
      bestLl = ll;
      best = { gamma, sigma };
    }
  };

  // x = 0 is always a (useless) root, so both intervals stay clear of it. The roots lie in
  // (-1/max, 0) and (0, 2 (mean - min) / min^2) (Grimshaw); they can sit anywhere across
  // many orders of magnitude, so the scan points are spaced geometrically.
  const lowLeft = -1 / max;
  const eps = 1e-9 / max;
  const left = geometric(-eps, lowLeft * (1 - 1e-9), GRID);
  const high = (2 * (mean - min)) / (min * min);
  const right = geometric(eps, maxOf(high, 2 * eps), GRID * 2);
  for (const pts of [left, right]) {
    let px = pts[0]!;
    let pw = w(px);
    for (let i = 1; i < pts.length; i++) {
      const x = pts[i]!;
      const wx = w(x);
      if (pw === 0) candidate(px);
      else if (signOf(wx) !== signOf(pw) && Number.isFinite(wx)) candidate(bisect(w, px, x, pw));
      px = x;
      pw = wx;
    }
  }
  return best;
}

/** n points from a to b (same sign), evenly spaced in log |x|. */
function geometric(a: number, b: number, n: number): number[] {
  const sign = signOf(a);
  const la = log(abs(a));
  const lb = log(abs(b));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(sign * exp(la + ((lb - la) * i) / (n - 1)));
  return out;
}

function bisect(f: (x: number) => number, a: number, b: number, fa: number): number {
  let lo = a;
  let hi = b;
  let flo = fa;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    const fm = f(mid);
    if (fm === 0) return mid;
    if (signOf(fm) === signOf(flo)) {
      lo = mid;
      flo = fm;
    } else hi = mid;
    if (abs(hi - lo) <= 1e-12 * maxOf(1, abs(mid))) break;
  }
  return (lo + hi) / 2;
}

/**
 * SPOT's threshold z_q = t + sigma / gamma ((q n / N_t)^(-gamma) - 1), and t - sigma ln(q n / N_t)
 * for gamma = 0: the score a normal value exceeds with probability q.
 */
export function gpdQuantile(t: number, p: GpdParams, q: number, n: number, nt: number): number {
  const r = (q * n) / nt;
  if (abs(p.gamma) < 1e-12) return t - p.sigma * log(r);
  return t + (p.sigma / p.gamma) * (pow(r, -p.gamma) - 1);
}

/** P(X > x) under the POT model: (N_t / n) times the GPD survival of the excess x - t. */
export function gpdTail(x: number, t: number, p: GpdParams, n: number, nt: number): number {
  const base = nt / n;
  if (x <= t) return base;
  const e = x - t;
  if (abs(p.gamma) < 1e-12) return base * exp(-e / p.sigma);
  const a = 1 + (p.gamma * e) / p.sigma;
  if (a <= 0) return 0;
  return base * pow(a, -1 / p.gamma);
}

/**
 * MLE of GPD parameters when each excess y[i] could only be observed below caps[i] (caps[i] < 0
 * means no cap). SPOT never learns a score above its current z_q, so its peaks are truncated
 * at z_q - t; fitting them as if complete thins the tail, lowers z_q, truncates more, and
 * the exceedance rate drifts to several times q. Maximizing the truncated likelihood
 * sum(log f(y_i)) - sum(log F(cap_i)) removes that bias while anomalies still never enter.
 * Nelder-Mead on (gamma, log sigma), started from the untruncated Grimshaw fit.
 */
export function fitTruncatedGpd(
  y: ArrayLike<number>,
  caps: ArrayLike<number>,
  previous?: GpdParams,
): GpdParams {
  let truncated = false;
  for (let i = 0; i < caps.length; i++) if (caps[i]! >= 0) truncated = true;
  if (!truncated || y.length < 3) return fitGpd(y);
  // One new peak moves the optimum very little: starting from the last fit keeps a refit cheap.
  const start = previous && previous.sigma > 0 ? previous : fitGpd(y);
  const n = y.length;
  // Fit in units of the starting scale, so the fit does not depend on the unit of the scores
  // (a model swap rescales thresholds, and their later refits must stay equivalent).
  const unit = start.sigma;
  const negLl = (gamma: number, logSigma: number): number => {
    const sigma = exp(logSigma);
    let ll = -n * logSigma;
    const g = abs(gamma) < 1e-9 ? 0 : gamma;
    for (let i = 0; i < n; i++) {
      const yi = y[i]! / unit;
      if (g === 0) ll -= yi / sigma;
      else {
        const a = (g * yi) / sigma;
        if (a <= -1) return Infinity;
        ll -= (1 + 1 / g) * log1p(a);
      }
      const c = caps[i]! / unit;
      if (c >= 0) {
        let logSurv: number;
        if (g === 0) logSurv = -c / sigma;
        else {
          const a = (g * c) / sigma;
          logSurv = a <= -1 ? -Infinity : -log1p(a) / g;
        }
        // log F(c) = log(1 - S(c))
        const f = -expm1(logSurv);
        if (!(f > 0)) return Infinity;
        ll -= log(f);
      }
    }
    return -ll;
  };
  const best = nelderMead(
    (p) => negLl(p[0]!, p[1]!),
    [start.gamma, 0],
    previous ? [0.01, 0.02] : [0.05, 0.1],
  );
  if (!Number.isFinite(negLl(best[0]!, best[1]!))) return fitGpd(y);
  return { gamma: abs(best[0]!) < 1e-9 ? 0 : best[0]!, sigma: exp(best[1]!) * unit };
}

/** Minimal Nelder-Mead (2-D here); deterministic, so refits are reproducible after a restore. */
function nelderMead(f: (p: number[]) => number, x0: number[], step: number[]): number[] {
  const dim = x0.length;
  let simplex = [x0, ...step.map((s, i) => x0.map((v, j) => (i === j ? v + s : v)))];
  let values = simplex.map(f);
  for (let iter = 0; iter < 200; iter++) {
    const order = values.map((_v, i) => i).sort((a, b) => values[a]! - values[b]!);
    simplex = order.map((i) => simplex[i]!);
    values = order.map((i) => values[i]!);
    if (abs(values[dim]! - values[0]!) <= 1e-8 * (1 + abs(values[0]!))) break;
    const centroid = x0.map((_, j) => simplex.slice(0, dim).reduce((s, p) => s + p[j]!, 0) / dim);
    const worst = simplex[dim]!;
    const at = (t: number): number[] => centroid.map((c, j) => c + t * (worst[j]! - c));
    const reflected = at(-1);
    const fr = f(reflected);
    if (fr < values[0]!) {
      const expanded = at(-2);
      const fe = f(expanded);
      if (fe < fr) [simplex[dim], values[dim]] = [expanded, fe];
      else [simplex[dim], values[dim]] = [reflected, fr];
    } else if (fr < values[dim - 1]!) {
      [simplex[dim], values[dim]] = [reflected, fr];
    } else {
      const contracted = at(0.5);
      const fc = f(contracted);
      if (fc < values[dim]!) [simplex[dim], values[dim]] = [contracted, fc];
      else {
        const b = simplex[0]!;
        simplex = simplex.map((p) => p.map((v, j) => b[j]! + 0.5 * (v - b[j]!)));
        values = simplex.map(f);
      }
    }
  }
  let bi = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[bi]!) bi = i;
  return simplex[bi]!;
}
