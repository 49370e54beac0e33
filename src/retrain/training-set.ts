import type { RecentFrame } from './candidate-check';
import type { Reservoir } from './reservoir';
import type { RetrainConfig } from './retrain-config';

/** What started a training run. */
export type TrainingTrigger = 'frames' | 'schedule' | 'drift' | 'manual';

export interface TrainRequest {
  /** Recorded as the trigger; default 'manual'. */
  trigger?: TrainingTrigger;
  /**
   * Train on these raw frames instead of the reservoir (validation still uses the
   * reservoir's held-back frames and the recent frames, which stay clean).
   */
  frames?: readonly Float32Array[];
}

/** The frames of one training run: trained on, held back to validate, and recent. */
export interface TrainingSet {
  train: Float32Array[];
  heldBack: Float32Array[];
  recent: RecentFrame[];
}

/** A bounded FIFO of the newest valid frames with the current model's verdicts. */
export class RecentFrames {
  private readonly items: RecentFrame[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}
  push(frame: RecentFrame): void {
    if (this.items.length < this.capacity) this.items.push(frame);
    else this.items[this.next] = frame;
    this.next = (this.next + 1) % this.capacity;
  }
  /** Oldest first. */
  all(): RecentFrame[] {
    return this.items.length < this.capacity
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
  get size(): number {
    return this.items.length;
  }
  clear(): void {
    this.items.length = 0;
    this.next = 0;
  }
}

/** `count` items of `from`, drawn without replacement with `random`. */
export function sample<T>(from: readonly T[], count: number, random: () => number): T[] {
  const copy = [...from];
  const n = Math.min(count, copy.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, n);
}

/**
 * The training set and the held-back set of a run: the reservoir's parts (or the frames
 * handed in), or after a drift the frames of the new regime.
 *
 * Drift: the frames judged normal by the current model are the old regime. The run trains
 * on the recent regime: every valid frame scored since the first rejecting check of the
 * sustained run, whatever its verdict (all of them came after the change), plus a share
 * from the reservoir; the same share of each part is held back. The candidate is checked
 * against the same recent frames (not the ones from before the change).
 */
export function trainingSet(
  request: TrainRequest,
  reservoir: Reservoir,
  recent: RecentFrames,
  rc: Pick<RetrainConfig, 'drift' | 'validation'>,
  random: () => number,
): TrainingSet {
  if (request.frames) {
    return { train: [...request.frames], heldBack: reservoir.heldBack(), recent: recent.all() };
  }
  if (request.trigger !== 'drift') {
    return { train: reservoir.training(), heldBack: reservoir.heldBack(), recent: recent.all() };
  }
  const since = rc.drift.sustain * rc.drift.checkEvery;
  const newRegime = recent.all().slice(-since);
  const recentTrain: Float32Array[] = [];
  const recentHeld: Float32Array[] = [];
  for (const r of newRegime) (random() < rc.validation ? recentHeld : recentTrain).push(r.data);
  const s = rc.drift.reservoirShare;
  const fromRes = (n: number) => Math.round((n * s) / (1 - s));
  return {
    train: [...recentTrain, ...sample(reservoir.training(), fromRes(recentTrain.length), random)],
    heldBack: [...recentHeld, ...sample(reservoir.heldBack(), fromRes(recentHeld.length), random)],
    recent: newRegime,
  };
}
