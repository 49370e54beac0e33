import { unjudged } from '../core/model-input';

/**
 * Per-source sliding windows over sensor readings: the state behind the detector's
 * frame→tensor step. Each source keeps a ring of its last W readings of D values; once
 * it has W, every `stride`-th reading closes a window (oldest reading first, row-major
 * W x D). Items that arrive between two windows are handed out with the next window, so
 * each item is accounted for by exactly one window (that is what acks follow).
 */
export interface WindowShape {
  window: number;
  stride: number;
  features: number;
  /**
   * Also give a window for each of a source's first W-1 readings, padded at the front
   * with its oldest reading, marked `partial`. Every reading then has a window of its own
   * (with stride 1), also right after a restart; partial windows are scored but not judged.
   */
  pad?: boolean;
}

export interface SensorWindow<T> {
  key: string;
  /**
   * W x D readings, oldest first. Nothing else writes to it, so the caller may keep it, but
   * it is a view into a block shared with the windows cut around it (a few hundred): copy
   * it (`slice()`) to keep many windows for long.
   */
  data: Float32Array;
  /** The item whose reading closed the window (its time and offset are the window's). */
  last: T;
  /** Every item first covered by this window: the readings since the previous window, `last` included. */
  covered: T[];
  /** True for a padded window of a source that has fewer than W readings yet. */
  partial: boolean;
}

class Ring<T> {
  readonly data: Float32Array;
  count = 0;
  /** Items since the last window; null for none (most windows cover one item: no array grown by push). */
  pending: T[] | null = null;

  constructor(size: number) {
    this.data = new Float32Array(size);
  }
}

/** Windows cut from one allocated block: one typed-array allocation per this many windows (at least). */
const BLOCK_WINDOWS = 256;

export class SensorWindows<T> {
  private readonly rings = new Map<string, Ring<T>>();
  private readonly rowSize: number;
  private readonly size: number;
  // Windows are views into blocks of BLOCK_WINDOWS windows: no array per window on the hot path.
  private block = new Float32Array(0);
  private used = 0;
  /** Windows the current batch may still take (startBatch), so that they share one block. */
  private batchRoom = 0;

  constructor(private readonly shape: WindowShape) {
    const { window, stride, features } = shape;
    for (const [name, v] of Object.entries({ window, stride, features })) {
      if (!Number.isInteger(v) || v < 1)
        throw new RangeError(`SensorWindows: ${name} must be an integer >= 1, got ${v}`);
    }
    this.rowSize = features;
    this.size = window * features;
  }

  /** Sources with state. */
  get keys(): number {
    return this.rings.size;
  }

  /**
   * Adds one reading of `key`; returns the window it closes, or null.
   *
   * @example windows.push('pump-1', [0.5], frame) // null until 'pump-1' has W readings
   */
  push(key: string, values: ArrayLike<number>, item: T): SensorWindow<T> | null {
    if (values.length !== this.rowSize) {
      throw new RangeError(
        `SensorWindows: expected ${this.rowSize} values per reading, got ${values.length}`,
      );
    }
    let ring = this.rings.get(key);
    if (ring === undefined) {
      ring = new Ring<T>(this.size);
      this.rings.set(key, ring);
    }
    const { window, stride } = this.shape;
    const slot = (ring.count % window) * this.rowSize;
    for (let i = 0; i < this.rowSize; i++) ring.data[slot + i] = values[i];
    ring.count++;
    if (ring.pending === null) ring.pending = [item];
    else ring.pending.push(item);
    if (ring.count < window) return this.shape.pad ? this.padded(key, ring, item) : null;
    if ((ring.count - window) % stride !== 0) return null;

    // Unroll the ring so the oldest reading comes first (plain loops: no views per window).
    const data = this.take();
    const start = (ring.count % window) * this.rowSize;
    const ringData = ring.data;
    const tail = this.size - start;
    for (let i = 0; i < tail; i++) data[i] = ringData[start + i]!;
    for (let i = 0; i < start; i++) data[tail + i] = ringData[i]!;
    const covered = ring.pending!;
    ring.pending = null;
    return unjudged(key, data, item, covered, false);
  }

  /** Before the ring wraps its readings sit in order from slot 0: repeat the oldest in front. */
  private padded(key: string, ring: Ring<T>, item: T): SensorWindow<T> {
    const data = this.take();
    const row = this.rowSize;
    const front = (this.shape.window - ring.count) * row;
    const ringData = ring.data;
    for (let i = 0; i < front; i++) data[i] = ringData[i % row]!;
    const have = ring.count * row;
    for (let i = 0; i < have; i++) data[front + i] = ringData[i]!;
    const covered = ring.pending!;
    ring.pending = null;
    return unjudged(key, data, item, covered, true);
  }

  /** Room for one window in the current block (a new block when it is full). */
  private take(): Float32Array {
    if (this.used + this.size > this.block.length) {
      this.block = new Float32Array(this.size * Math.max(BLOCK_WINDOWS, this.batchRoom));
      this.used = 0;
    }
    const view = this.block.subarray(this.used, this.used + this.size);
    this.used += this.size;
    return view;
  }

  /**
   * Where a micro-batch closes: the next `room` windows go back to back into one block, so a
   * batch of up to that many windows lies in one array, which inference takes as its input
   * tensor without copying (see `batchTensor`).
   */
  startBatch(room: number): void {
    this.batchRoom = room;
    if (this.used + room * this.size > this.block.length) this.used = this.block.length;
  }

  /**
   * Sets a source's ring as if it had seen `readings` readings, the last of them `values`
   * (the min(readings, W-1) latest, oldest first, D each): its next reading closes the same
   * window, partial or not, as in the run the state was taken from.
   *
   * @example windows.restore('pump-1', { readings: 70, values: last63 })
   */
  restore(key: string, state: { readings: number; values: ArrayLike<number> }): void {
    const { window } = this.shape;
    const n = Math.min(state.readings, window - 1);
    if (
      !Number.isInteger(state.readings) ||
      state.readings < 0 ||
      state.values.length !== n * this.rowSize
    )
      throw new RangeError(
        `SensorWindows: a state of ${state.readings} readings needs ${n * this.rowSize} values, got ${state.values.length}`,
      );
    const ring = new Ring<T>(this.size);
    ring.count = state.readings;
    for (let i = 0; i < n; i++) {
      const slot = ((state.readings - n + i) % window) * this.rowSize;
      for (let d = 0; d < this.rowSize; d++)
        ring.data[slot + d] = state.values[i * this.rowSize + d]!;
    }
    this.rings.set(key, ring);
  }

  /** Forgets a source, e.g. when its partition is revoked; returns the items it still held. */
  drop(key: string): T[] {
    const ring = this.rings.get(key);
    this.rings.delete(key);
    return ring?.pending ?? [];
  }
}

/**
 * What `restore` takes back from a window the source closed after `readings` readings: its
 * min(readings, W-1) latest readings (the window without its oldest row), a view into
 * `data`.
 *
 * @example windowTail(w.data, 70, { window: 64, features: 1 }) // the 63 latest values
 */
export function windowTail(
  data: Float32Array,
  readings: number,
  shape: { window: number; features: number },
): Float32Array {
  const n = Math.min(readings, shape.window - 1);
  const from = (shape.window - n) * shape.features;
  return data.subarray(from, from + n * shape.features);
}

/**
 * Every full window of each series (no padding), flat and back to back: the training
 * samples of a dense autoencoder, cut the way the detector cuts the stream.
 *
 * @example windowsOf([[[1], [2], [3]]], { window: 2, stride: 1, features: 1 }) // { raw: [1, 2, 2, 3], count: 2 }
 */
export function windowsOf(
  series: Iterable<Iterable<ArrayLike<number>>>,
  shape: Omit<WindowShape, 'pad'>,
): { raw: Float32Array; count: number } {
  const chunks: Float32Array[] = [];
  let key = 0;
  for (const readings of series) {
    const windows = new SensorWindows<null>({ ...shape, pad: false });
    const name = String(key++);
    for (const values of readings) {
      const w = windows.push(name, values, null);
      if (w) chunks.push(w.data);
    }
  }
  const size = shape.window * shape.features;
  const raw = new Float32Array(chunks.length * size);
  chunks.forEach((c, i) => raw.set(c, i * size));
  return { raw, count: chunks.length };
}

/**
 * The inputs of a batch as one row-major array when their windows already lie back to back
 * in one block (as SensorWindows writes a batch's windows): a view, not a copy. Null
 * otherwise (images, or a batch that spans two blocks).
 *
 * @example batchTensor(batch.map((w) => w.data), 128) ?? copyOf(batch)
 */
export function batchTensor(
  inputs: ReadonlyArray<{ data: Float32Array | Uint8Array }>,
  size: number,
): Float32Array | null {
  const first = inputs[0]?.data;
  if (!(first instanceof Float32Array) || first.length !== size) return null;
  const bytes = size * Float32Array.BYTES_PER_ELEMENT;
  for (let i = 1; i < inputs.length; i++) {
    const d = inputs[i]!.data;
    if (d.buffer !== first.buffer || d.byteOffset !== first.byteOffset + i * bytes) return null;
  }
  return new Float32Array(first.buffer, first.byteOffset, inputs.length * size);
}
