import { seededRandom } from '../core/seeded-random';

export interface ReservoirOptions {
  /** Samples kept in all (training and held-back together). */
  capacity: number;
  /** A sample's weight halves every `halfLife` samples offered after it (recency weighting). */
  halfLife: number;
  /** Share of the samples held back for validation, never trained on. */
  heldBack: number;
  seed: number;
}

interface Entry {
  key: number;
  data: Float32Array;
}

/**
 * A bounded weighted sample of the newest items without replacement
 * (Efraimidis-Spirakis A-Res): item i gets the key u_i^(1/w_i) and the `capacity` items
 * with the largest keys are kept. In logs, with w_i = 2^(i/halfLife) and E_i = -ln u_i
 * ~ Exp(1), that is keeping the smallest ln(E_i) - ln(2)·i/halfLife: no overflow however
 * long the stream. A max-heap on that value evicts the worst kept item in O(log capacity).
 */
class WeightedSample {
  private readonly heap: Entry[] = [];

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.heap.length;
  }

  offer(key: number, data: Float32Array): void {
    const heap = this.heap;
    if (this.capacity <= 0) return;
    if (heap.length < this.capacity) {
      heap.push({ key, data });
      this.up(heap.length - 1);
    } else if (key < (heap[0] as Entry).key) {
      heap[0] = { key, data };
      this.down(0);
    }
  }

  items(): Float32Array[] {
    return this.heap.map((e) => e.data);
  }

  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Entry).key >= (heap[i] as Entry).key) return;
      [heap[parent], heap[i]] = [heap[i] as Entry, heap[parent] as Entry];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < heap.length && (heap[l] as Entry).key > (heap[top] as Entry).key) top = l;
      if (r < heap.length && (heap[r] as Entry).key > (heap[top] as Entry).key) top = r;
      if (top === i) return;
      [heap[top], heap[i]] = [heap[i] as Entry, heap[top] as Entry];
      i = top;
    }
  }
}

/**
 * The retrainer's memory of normal frames: a bounded, recency-weighted, seeded random
 * sample of every frame offered, split once at arrival into a training part and a
 * held-back part (a frame is in one or the other, never both), so validation data is
 * never trained on.
 *
 * @example
 * const r = new Reservoir({ capacity: 20000, halfLife: 20000, heldBack: 0.1, seed: 7 });
 * r.add(window); r.training(); r.heldBack();
 */
export class Reservoir {
  private readonly random: () => number;
  private readonly train: WeightedSample;
  private readonly held: WeightedSample;
  private readonly rate: number;
  private offered = 0;

  constructor(readonly options: ReservoirOptions) {
    this.random = seededRandom(options.seed);
    const heldCapacity = Math.max(1, Math.round(options.capacity * options.heldBack));
    this.held = new WeightedSample(heldCapacity);
    this.train = new WeightedSample(options.capacity - heldCapacity);
    this.rate = Math.LN2 / options.halfLife;
  }

  /** Frames offered so far. */
  get seen(): number {
    return this.offered;
  }

  get size(): number {
    return this.train.size + this.held.size;
  }

  /** Offers a frame (kept by reference: the caller must not reuse the array). */
  add(data: Float32Array): void {
    const i = this.offered++;
    const u = this.random();
    // 1 - random() is in (0, 1]: -ln of it is finite and ≥ 0.
    const key = Math.log(-Math.log(1 - this.random()) + Number.MIN_VALUE) - this.rate * i;
    (u < this.options.heldBack ? this.held : this.train).offer(key, data);
  }

  /** The training part (unordered). */
  training(): Float32Array[] {
    return this.train.items();
  }

  /** The held-back part (unordered). */
  heldBack(): Float32Array[] {
    return this.held.items();
  }
}
