import type { BatchContributions, Contribution } from '../core/model-input';
import type { Architecture } from '../training/architecture';
import type { ErrorStandards } from '../training/error-standards';
import type { ModelConfig } from '../training/model-config';

/** Reconstruction error used as the anomaly score. */
export type ErrorKind = 'mse' | 'mae';

/**
 * How a frame's reconstruction errors become one score (`model.score`):
 * - `mean`: the mean error over all values (images always score this way);
 * - `standardized`: the mean of the squared (mse) or absolute (mae) standardized residuals,
 *   each channel's residual standardized by its spread on held-back windows at training;
 * - `mahalanobis`: the mean over time steps of the T² distance of the residual vector
 *   (inverse covariance of held-back residuals), divided by the channel count;
 * - `max-channel`: the largest channel mean of the standardized errors.
 * The standardized kinds are about 1 on normal data; their contributions are per channel
 * on the same standard, so the top contributor is the channel most unlike its usual self.
 */
export type ScoreKind = 'mean' | 'standardized' | 'mahalanobis' | 'max-channel';

/** A standardized score and the error standards of the model it scores for. */
export interface StandardScore {
  kind: Exclude<ScoreKind, 'mean'>;
  standards: ErrorStandards;
}

export interface BatchScores {
  /** One score per frame (see {@link ScoreKind}; by default the mean error over its values). */
  scores: Float32Array;
  /** The `topK` largest contributions of each frame, largest first (made when first read). */
  top: Contribution[][];
  /** The same, frame by frame on demand (scoreBatch gives it): the detector reads only its events'. */
  slots?: BatchContributions;
  /**
   * Sensor windows: per frame the same score of its newest reading alone (the error of the
   * last time step), which a likelihood rule may judge beside the window's score.
   */
  newest?: Float32Array;
}

/**
 * Each frame's mean error per contribution slot (feature or region) for a batch, and its
 * top k on demand: the detector keeps this one array per batch instead of k objects per
 * frame for as long as the frame is in flight, and asks only for its events' contributions.
 */
export class BatchSlots implements BatchContributions {
  constructor(
    /** Frame-major: frame f's slot means are at f * slots. */
    private readonly means: Float64Array,
    private readonly slots: number,
    private readonly k: number,
  ) {}

  /** Frame f's k largest slot means, largest first (ties: lower index first). */
  top(f: number): Contribution[] {
    const m = Math.min(this.k, this.slots);
    if (m <= 0) return [];
    const base = f * this.slots;
    const out: Contribution[] = new Array<Contribution>(m);
    let picked = 0; // bit mask of the slots taken, for up to 32 slots
    const taken: Uint8Array | null = this.slots > 32 ? new Uint8Array(this.slots) : null;
    for (let j = 0; j < m; j++) {
      let best = -1;
      for (let s = 0; s < this.slots; s++) {
        if (taken ? taken[s] === 1 : (picked >>> s) & 1) continue;
        if (best < 0 || this.means[base + s]! > this.means[base + best]!) best = s;
      }
      if (taken) taken[best] = 1;
      else picked |= 1 << best;
      out[j] = { index: best, error: this.means[base + best]! };
    }
    return out;
  }

  /** Every frame's top k (what `BatchScores.top` holds). */
  all(n: number): Contribution[][] {
    const top = new Array<Contribution[]>(n);
    for (let f = 0; f < n; f++) top[f] = this.top(f);
    return top;
  }
}

/** Scores whose `top` is made from `slots` when first read (the detector never reads it). */
function batchScores(
  scores: Float32Array,
  slots: BatchSlots,
  newest: Float32Array | undefined,
): BatchScores {
  let top: Contribution[][] | undefined;
  const out = {
    scores,
    slots,
    get top(): Contribution[][] {
      return (top ??= slots.all(scores.length));
    },
  };
  return newest ? Object.assign(out, { newest }) : out;
}

/** How values of a frame group into contributions. */
export type ContributionLayout =
  | {
      kind: 'feature';
      features: number;
      /** Score only the newest this many time steps of each frame (sensor windows); default all. */
      lastSteps?: number;
    }
  | {
      kind: 'region';
      height: number;
      width: number;
      channels: number;
      region: number;
      /**
       * Radius of the box blur (side 2·blur+1, cut at the borders) of each channel's
       * difference between image and reconstruction before it becomes an error; 0 or absent:
       * the error of each value.
       */
      blur?: number;
    };

/**
 * The contribution layout of an architecture (`region`: side of the square image regions;
 * `lastSteps`: for sensor windows, score only their newest this many readings; `blur`: for
 * images, the radius of the box blur of the difference before it becomes an error).
 */
export function layoutOf(
  arch: Architecture,
  region = 7,
  lastSteps?: number,
  blur?: number,
): ContributionLayout {
  return arch.kind !== 'conv-ae'
    ? { kind: 'feature', features: arch.features, ...(lastSteps ? { lastSteps } : {}) }
    : {
        kind: 'region',
        height: arch.height,
        width: arch.width,
        channels: arch.channels,
        region: Math.min(region, arch.height, arch.width),
        ...(blur ? { blur } : {}),
      };
}

/** The layout a pipeline's model section asks of its architecture (what the detector scores with). */
export function modelLayoutOf(arch: Architecture, model: ModelConfig): ContributionLayout {
  return model.kind === 'conv-ae'
    ? layoutOf(arch, model.region, undefined, model.blur)
    : layoutOf(arch, undefined, model.scoreLast);
}

/** Number of contribution slots per frame (features, or regions of the grid). */
export function slotCount(layout: ContributionLayout): number {
  if (layout.kind === 'feature') return layout.features;
  return Math.ceil(layout.height / layout.region) * Math.ceil(layout.width / layout.region);
}

/**
 * Scores `n` frames from their (normalized) inputs `x` and reconstructions `y`, both
 * row-major with `x.length / n` values per frame. Plain array math: it runs on the output
 * of any engine (tfjs or ONNX) and allocates nothing on a backend. With `standard` (sensor
 * layouts only) the score and contributions are standardized (see {@link ScoreKind}).
 *
 * @example
 * const { scores, top } = scoreBatch(x, y, 32, { kind: 'feature', features: 3 }, 'mse', 2);
 */
export function scoreBatch(
  x: Float32Array,
  y: Float32Array,
  n: number,
  layout: ContributionLayout,
  error: ErrorKind = 'mse',
  topK = 3,
  standard?: StandardScore,
): BatchScores {
  if (x.length !== y.length || n <= 0 || x.length % n !== 0) {
    throw new RangeError(`scoreBatch: ${x.length} inputs, ${y.length} outputs, ${n} frames`);
  }
  if (standard !== undefined) {
    if (layout.kind !== 'feature') {
      throw new RangeError(`scoreBatch: a ${standard.kind} score needs per-feature contributions`);
    }
    return scoreStandardized(x, y, n, layout.features, error, topK, standard, layout.lastSteps);
  }
  const size = x.length / n;
  const from = firstScored(layout, size);
  if (layout.kind === 'feature') return scoreFeatures(x, y, n, layout.features, from, error, topK);
  const slots = slotCount(layout);
  const sums = new Float64Array(slots);
  const counts = new Float64Array(slots);
  const slotOf = slotIndexer(layout, size);
  for (let i = from; i < size; i++) counts[slotOf[i] as number]! += 1;
  const scores = new Float32Array(n);
  const means = new Float64Array(n * slots);
  const blur = layout.kind === 'region' && layout.blur ? new BoxBlur(layout) : null;
  for (let f = 0; f < n; f++) {
    sums.fill(0);
    let total = 0;
    const base = f * size;
    const blurred = blur?.of(x, y, base);
    for (let i = from; i < size; i++) {
      const d = blurred ? blurred[i]! : (x[base + i] as number) - (y[base + i] as number);
      const e = error === 'mse' ? d * d : Math.abs(d);
      total += e;
      sums[slotOf[i] as number]! += e;
    }
    scores[f] = total / (size - from);
    for (let k = 0; k < slots; k++) means[f * slots + k] = sums[k]! / Math.max(1, counts[k]!);
  }
  return batchScores(scores, new BatchSlots(means, slots, topK), undefined);
}

/**
 * The box-blurred difference x - y of one image (per channel, side 2·blur+1, the mean over
 * the pixels of the box inside the image): a reconstruction a pixel off along an edge gives
 * differences of both signs that cancel in the blur, a missing or extra stroke does not.
 * Separable: row sums, then column sums of those; work arrays reused from frame to frame.
 */
class BoxBlur {
  private readonly diff: Float64Array;
  private readonly rows: Float64Array;
  private readonly out: Float64Array;
  /** Per column (row), the first and the last column (row) of its box inside the image. */
  private readonly colFrom: Int32Array;
  private readonly colTo: Int32Array;
  private readonly rowFrom: Int32Array;
  private readonly rowTo: Int32Array;
  /** Per pixel, how many pixels its box holds. */
  private readonly boxed: Float64Array;

  constructor(private readonly layout: Extract<ContributionLayout, { kind: 'region' }>) {
    const { height: h, width: w, channels: ch } = layout;
    const r = layout.blur ?? 0;
    this.diff = new Float64Array(h * w * ch);
    this.rows = new Float64Array(h * w * ch);
    this.out = new Float64Array(h * w * ch);
    const range = (n: number, lo: boolean) =>
      Int32Array.from({ length: n }, (_, i) => (lo ? Math.max(0, i - r) : Math.min(n - 1, i + r)));
    this.colFrom = range(w, true);
    this.colTo = range(w, false);
    this.rowFrom = range(h, true);
    this.rowTo = range(h, false);
    this.boxed = new Float64Array(h * w);
    for (let row = 0; row < h; row++)
      for (let col = 0; col < w; col++)
        this.boxed[row * w + col] =
          (this.rowTo[row]! - this.rowFrom[row]! + 1) * (this.colTo[col]! - this.colFrom[col]! + 1);
  }

  // The differences once per pixel, then the same sums in the same order as a box per pixel.
  of(x: Float32Array, y: Float32Array, base: number): Float64Array {
    const { height: h, width: w, channels: ch } = this.layout;
    const { diff, rows, out, colFrom, colTo, rowFrom, rowTo, boxed } = this;
    const line = w * ch;
    for (let i = 0; i < diff.length; i++) diff[i] = x[base + i]! - y[base + i]!;
    for (let row = 0; row < h; row++) {
      const start = row * line;
      for (let col = 0; col < w; col++) {
        const from = start + colFrom[col]! * ch;
        const to = start + colTo[col]! * ch;
        for (let c = 0; c < ch; c++) {
          let s = 0;
          for (let k = from + c; k <= to + c; k += ch) s += diff[k]!;
          rows[start + col * ch + c] = s;
        }
      }
    }
    for (let row = 0; row < h; row++) {
      const from = rowFrom[row]! * line;
      const to = rowTo[row]! * line;
      for (let col = 0; col < w; col++) {
        const at = row * line + col * ch;
        const n = boxed[row * w + col]!;
        for (let c = 0; c < ch; c++) {
          let s = 0;
          const offset = col * ch + c;
          for (let k = from + offset; k <= to + offset; k += line) s += rows[k]!;
          out[at + c] = s / n;
        }
      }
    }
    return out;
  }
}

/**
 * scoreBatch for sensor windows: contributions per feature, walked reading by reading (no
 * slot lookup per value: this loop runs over every value of every frame).
 */
function scoreFeatures(
  x: Float32Array,
  y: Float32Array,
  n: number,
  features: number,
  from: number,
  error: ErrorKind,
  topK: number,
): BatchScores {
  const size = x.length / n;
  const readings = (size - from) / features;
  const scores = new Float32Array(n);
  const newest = new Float32Array(n);
  const means = new Float64Array(n * features);
  const sums = new Float64Array(features);
  const mse = error === 'mse';
  for (let f = 0; f < n; f++) {
    const base = f * size;
    sums.fill(0);
    // Summed in the order of the values, as for any layout: the same scores to the last bit.
    let total = 0;
    for (let i = base + from; i < base + size; i += features) {
      for (let k = 0; k < features; k++) {
        const d = x[i + k]! - y[i + k]!;
        const e = mse ? d * d : Math.abs(d);
        total += e;
        sums[k]! += e;
      }
    }
    scores[f] = total / (size - from);
    let lastTotal = 0;
    for (let i = base + size - features; i < base + size; i++) {
      const d = x[i]! - y[i]!;
      lastTotal += mse ? d * d : Math.abs(d);
    }
    newest[f] = lastTotal / features;
    for (let k = 0; k < features; k++) means[f * features + k] = sums[k]! / Math.max(1, readings);
  }
  return batchScores(scores, new BatchSlots(means, features, topK), newest);
}

type Scratch = ReturnType<typeof newScratch>;

/** Work arrays of standardized scores, one set per model's standards (reused by every batch). */
const scratches = new WeakMap<ErrorStandards, Scratch>();

function standardizedScratch(d: number, standards: ErrorStandards): Scratch {
  let w = scratches.get(standards);
  if (w === undefined || w.z.length !== d) {
    w = newScratch(d, standards);
    scratches.set(standards, w);
  }
  return w;
}

/** Per channel 1 / std, and the per-channel sums and counts of a frame. */
function newScratch(d: number, standards: ErrorStandards) {
  return {
    inv: Float64Array.from(standards.std, (v) => 1 / v),
    sums: new Float64Array(d),
    counts: new Float64Array(d),
    z: new Float64Array(d),
  };
}

function scoreStandardized(
  x: Float32Array,
  y: Float32Array,
  n: number,
  d: number,
  error: ErrorKind,
  topK: number,
  { kind, standards }: StandardScore,
  lastSteps?: number,
): BatchScores {
  const size = x.length / n;
  if (size % d !== 0 || standards.mean.length !== d) {
    throw new RangeError(
      `scoreBatch: ${size} values per frame, error standards of ${standards.mean.length} of ${d} channels`,
    );
  }
  const first = size / d - Math.min(size / d, lastSteps ?? size / d);
  const steps = size / d - first;
  const w = standardizedScratch(d, standards);
  const mean = standards.mean;
  const precision = standards.precision;
  w.counts.fill(steps);
  const scores = new Float32Array(n);
  const newest = new Float32Array(n);
  const means = new Float64Array(n * d);
  for (let f = 0; f < n; f++) {
    w.sums.fill(0);
    const base = f * size;
    let total = 0;
    let before = 0;
    for (let t = first; t < first + steps; t++) {
      // The newest step is the last of the loop: the total before it gives its share.
      if (t === first + steps - 1) before = total;
      const at = base + t * d;
      if (kind === 'mahalanobis') {
        for (let c = 0; c < d; c++) w.z[c] = x[at + c]! - y[at + c]! - mean[c]!;
        // Channel c's share of the T² distance: z_c (P z)_c; the shares sum to zᵀ P z.
        for (let a = 0; a < d; a++) {
          let pz = 0;
          for (let b = 0; b < d; b++) pz += precision[a * d + b]! * w.z[b]!;
          const share = w.z[a]! * pz;
          w.sums[a]! += share;
          total += share;
        }
      } else {
        for (let c = 0; c < d; c++) {
          const z = (x[at + c]! - y[at + c]! - mean[c]!) * w.inv[c]!;
          const e = error === 'mse' ? z * z : Math.abs(z);
          w.sums[c]! += e;
          total += e;
        }
      }
    }
    newest[f] = (total - before) / d;
    for (let c = 0; c < d; c++) means[f * d + c] = w.sums[c]! / Math.max(1, w.counts[c]!);
    if (kind === 'max-channel') {
      let max = -Infinity;
      for (let c = 0; c < d; c++) max = Math.max(max, w.sums[c]! / steps);
      scores[f] = max;
    } else {
      scores[f] = total / (steps * d);
    }
  }
  return batchScores(scores, new BatchSlots(means, d, topK), newest);
}

/** Index of the first value a frame's score covers (its newest `lastSteps` readings). */
function firstScored(layout: ContributionLayout, size: number): number {
  if (layout.kind !== 'feature' || layout.lastSteps === undefined) return 0;
  const steps = size / layout.features;
  return (steps - Math.min(steps, layout.lastSteps)) * layout.features;
}

function slotIndexer(layout: ContributionLayout, size: number): Uint32Array {
  const slotOf = new Uint32Array(size);
  if (layout.kind === 'feature') {
    for (let i = 0; i < size; i++) slotOf[i] = i % layout.features;
    return slotOf;
  }
  const { width, channels, region } = layout;
  const cols = Math.ceil(width / region);
  for (let i = 0; i < size; i++) {
    const pixel = Math.floor(i / channels);
    const row = Math.floor(pixel / width);
    const col = pixel % width;
    slotOf[i] = Math.floor(row / region) * cols + Math.floor(col / region);
  }
  return slotOf;
}
