import { map, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import {
  bytesToDoubles,
  bytesToFloats,
  doublesToBytes,
  floatsToBytes,
} from '../codecs/packed-numbers';
import type { Scored } from '../core/model-input';
import { sampleMoments } from '../core/sample-moments';
import type { ScoreSpread } from '../registry/model-store';

/** Optional rules between the model's score and the threshold, per source (sensor pipelines). */
export const scoreRulesSchema = z
  .strictObject({
    likelihood: z
      .strictObject({
        history: z
          .int()
          .min(10)
          .max(1_000_000)
          .default(5000)
          .describe(
            'Past scores of the source that define their normal mean and spread (kept as 100 block sums: the last history to history + 1 %).',
          ),
        short: z
          .int()
          .min(1)
          .max(10_000)
          .default(1)
          .describe('Latest scores averaged for the level compared with that history.'),
        suppress: z
          .int()
          .min(0)
          .max(1_000_000)
          .default(0)
          .describe(
            'Windows after a peak in which a likelihood that does not beat it is halved (0 = off).',
          ),
        newest: z
          .boolean()
          .default(false)
          .describe(
            "Also judge the error of each window's newest reading, against its own history: the larger of the two likelihoods is the score. The window's score catches anomalies spread over it, the newest reading's a break as it starts.",
          ),
        daily: z
          .boolean()
          .default(false)
          .describe(
            "Judge each score beside the same time of day the day before: the highest z the source reached within 15 minutes of this time of day 24 hours earlier is taken off this one's, so what comes every day (a scheduled job's spike, a daily peak) is expected and a change stands out on the first day it comes. Uses the frames' event times. Suits readings minutes apart judged at a high level: with many readings per 15 minutes, the highest z of yesterday's normal readings is itself high, and at a low level it hides anomalies (README, Detection quality).",
          ),
        profile: z
          .boolean()
          .default(false)
          .describe(
            "Also judge the readings against the same time of day the day before: per channel, each complete 15-minute slot's mean reading against that slot's mean 24 hours earlier, the distance's z against the history of such distances, given to the window that opens the next slot; the larger z counts. A day unlike yesterday (a flat day, a peak that does not come) stands out although each window of it looks normal. Uses the frames' event times; a source judges from its second day. For series with a daily rhythm; state: two days of slot means a channel.",
          ),
        prior: z
          .enum(['off', 'held-back', 'training'])
          .default('off')
          .describe(
            "A new source's history starts full: the part its own scores have not filled yet holds the mean and spread of the model's scores at training, and each new score pushes out the oldest, so a change is taken in as normal only after lasting about a fifth of the history from the first reading on (off: after a fifth of what the source has seen). The mean is that of the held-back windows; the spread theirs (held-back), or the larger of theirs and that over all training windows (training). The held-back windows are the last ones in order: on a small training set few and alike, so their spread can understate the normal one (more alarms).",
          ),
      })
      .optional()
      .describe(
        'Judge the anomaly likelihood of the score (Ahmad et al. 2017: z of the short-term mean against the history, as z / (z + 10), in [0, 1)) instead of the raw score.',
      ),
    range: z
      .strictObject({
        tolerance: z
          .number()
          .min(0)
          .max(10)
          .default(0.05)
          .describe('Share of the range seen so far a reading may lie beyond it.'),
        median: z
          .boolean()
          .default(false)
          .describe(
            "Also flag a window whose median reading (per channel) is outside the range of the earlier windows' medians, widened by tolerance x the readings' range: a level shift that earlier spikes hide from the range of readings (a spike hardly moves a median). For series that hold a level, as most sensors do; a series that trends to new levels flags each new one.",
          ),
      })
      .optional()
      .describe(
        "A reading of any channel outside the range the source's readings have covered so far (widened by tolerance x that range) is an anomaly, whatever the score.",
      ),
  })
  .describe(
    "Rules on scores before the threshold; the score written and judged is the rules' result.",
  );

export type ScoreRulesConfig = z.infer<typeof scoreRulesSchema>;

/** A fixed-size window of past numbers with running sums (re-summed now and then). */
export class RollingWindow {
  private readonly buf: Float64Array;
  private n = 0;
  private next = 0;
  private sum = 0;
  private sumSq = 0;
  private pushes = 0;

  constructor(readonly size: number) {
    this.buf = new Float64Array(size);
  }

  push(x: number): void {
    if (this.n === this.size) {
      const old = this.buf[this.next]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.n++;
    this.buf[this.next] = x;
    this.next = (this.next + 1) % this.size;
    this.sum += x;
    this.sumSq += x * x;
    if (++this.pushes % 10000 === 0) this.resum(); // keep rounding drift out of the sums
  }

  get count(): number {
    return this.n;
  }

  get mean(): number {
    return this.n ? this.sum / this.n : 0;
  }

  get sd(): number {
    if (this.n < 2) return 0;
    return Math.sqrt(Math.max(0, (this.sumSq - (this.sum * this.sum) / this.n) / (this.n - 1)));
  }

  /** Multiplies every value held by `f` (a model swap: see ScoreRules). */
  scale(f: number): void {
    for (let i = 0; i < this.n; i++) this.buf[i]! *= f;
    this.resum();
  }

  /** Its exact state: the ring as stored, the next slot and the running sums. */
  snapshot(): RollingWindowState {
    return {
      values: doublesToBytes(this.buf.subarray(0, this.n)),
      next: this.next,
      sum: this.sum,
      sumSq: this.sumSq,
      pushes: this.pushes,
    };
  }

  /** Continues from a snapshot of a window of the same size (false: it does not fit). */
  restore(s: RollingWindowState): boolean {
    if (s.values.length % 8 !== 0) return false;
    const n = s.values.length / 8;
    // Not full yet: filled from slot 0 on, so next is n; full: exactly this size.
    if (n < this.size ? s.next !== n : n !== this.size || s.next < 0 || s.next >= n) return false;
    this.buf.fill(0);
    bytesToDoubles(s.values, this.buf);
    this.n = n;
    this.next = s.next;
    this.sum = s.sum;
    this.sumSq = s.sumSq;
    this.pushes = s.pushes;
    return true;
  }

  private resum(): void {
    this.sum = 0;
    this.sumSq = 0;
    for (let i = 0; i < this.n; i++) {
      this.sum += this.buf[i]!;
      this.sumSq += this.buf[i]! * this.buf[i]!;
    }
  }
}

/**
 * The mean and sd of the last `size` numbers or a few more, kept in blocks of at most 1 %
 * of `size`: per block only its sum and sum of squares, so a likelihood history of 10,000
 * scores holds 100 blocks (in memory and in the state changelog), not 10,000 values. It
 * covers the last `size` to `size` + one block's numbers (exactly `size` up to 100).
 */
export class BlockWindow {
  readonly blockSize: number;
  /** Per completed block, in slot order: its sum and its sum of squares. */
  private readonly sums: Float64Array;
  private readonly sumSqs: Float64Array;
  private blocks = 0;
  private next = 0;
  private partSum = 0;
  private partSumSq = 0;
  private partCount = 0;
  /** Over the completed blocks held, re-summed from them when one completes. */
  private sum = 0;
  private sumSq = 0;

  constructor(readonly size: number) {
    this.blockSize = Math.ceil(size / Math.min(size, 100));
    const capacity = Math.ceil(size / this.blockSize);
    this.sums = new Float64Array(capacity);
    this.sumSqs = new Float64Array(capacity);
  }

  /**
   * Fills the free blocks, less those `after` numbers will take, with blocks of numbers of
   * this mean and variance: a prior that the numbers pushed next push out, oldest first.
   */
  prefill(mean: number, variance: number, after: number): void {
    const free = this.sums.length - this.blocks - Math.ceil(after / this.blockSize);
    for (let i = 0; i < free; i++) {
      this.sums[this.next] = this.blockSize * mean;
      this.sumSqs[this.next] = this.blockSize * (variance + mean * mean);
      this.next = (this.next + 1) % this.sums.length;
      this.blocks++;
    }
    this.resum();
  }

  push(x: number): void {
    this.partSum += x;
    this.partSumSq += x * x;
    if (++this.partCount < this.blockSize) return;
    this.sums[this.next] = this.partSum;
    this.sumSqs[this.next] = this.partSumSq;
    this.next = (this.next + 1) % this.sums.length;
    if (this.blocks < this.sums.length) this.blocks++;
    this.partSum = 0;
    this.partSumSq = 0;
    this.partCount = 0;
    this.resum();
  }

  get count(): number {
    return this.blocks * this.blockSize + this.partCount;
  }

  get mean(): number {
    const n = this.count;
    return n ? (this.sum + this.partSum) / n : 0;
  }

  get sd(): number {
    const n = this.count;
    if (n < 2) return 0;
    const s = this.sum + this.partSum;
    const s2 = this.sumSq + this.partSumSq;
    return Math.sqrt(Math.max(0, (s2 - (s * s) / n) / (n - 1)));
  }

  /** Multiplies every value held by `f` (a model swap: see ScoreRules). */
  scale(f: number): void {
    for (let i = 0; i < this.blocks; i++) {
      this.sums[i]! *= f;
      this.sumSqs[i]! *= f * f;
    }
    this.partSum *= f;
    this.partSumSq *= f * f;
    this.resum();
  }

  /** Its exact state: the completed blocks' sums in slot order and the block being filled. */
  snapshot(): BlockWindowState {
    return {
      blockSize: this.blockSize,
      sums: doublesToBytes(this.sums.subarray(0, this.blocks)),
      sumSqs: doublesToBytes(this.sumSqs.subarray(0, this.blocks)),
      next: this.next,
      partSum: this.partSum,
      partSumSq: this.partSumSq,
      partCount: this.partCount,
    };
  }

  /** Continues from a snapshot of a window of the same size (false: it does not fit). */
  restore(s: BlockWindowState): boolean {
    const n = s.sums.length / 8;
    const capacity = this.sums.length;
    if (s.blockSize !== this.blockSize) return false;
    if (s.sums.length % 8 !== 0 || s.sumSqs.length !== s.sums.length || n > capacity) return false;
    if (n < capacity ? s.next !== n : s.next < 0 || s.next >= n) return false;
    if (!(s.partCount >= 0 && s.partCount < this.blockSize)) return false;
    this.sums.fill(0);
    this.sumSqs.fill(0);
    bytesToDoubles(s.sums, this.sums);
    bytesToDoubles(s.sumSqs, this.sumSqs);
    this.blocks = n;
    this.next = s.next;
    this.partSum = s.partSum;
    this.partSumSq = s.partSumSq;
    this.partCount = s.partCount;
    this.resum();
    return true;
  }

  private resum(): void {
    this.sum = 0;
    this.sumSq = 0;
    for (let i = 0; i < this.blocks; i++) {
      this.sum += this.sums[i]!;
      this.sumSq += this.sumSqs[i]!;
    }
  }
}

/** A RollingWindow as the state changelog keeps it (schemas/source-state.avsc). */
export interface RollingWindowState {
  /** The filled slots in slot order, as little-endian doubles. */
  values: Buffer;
  next: number;
  sum: number;
  sumSq: number;
  pushes: number;
}

/** A BlockWindow as the state changelog keeps it (schemas/source-state.avsc). */
export interface BlockWindowState {
  blockSize: number;
  /** The completed blocks' sums in slot order, as little-endian doubles. */
  sums: Buffer;
  sumSqs: Buffer;
  next: number;
  partSum: number;
  partSumSq: number;
  partCount: number;
}

/** The history and short window of one score the likelihood judges. */
export interface ScoreHistoryState {
  raws: BlockWindowState;
  recent: RollingWindowState;
}

/** A DailyMemory as the state changelog keeps it. */
export interface DailyState {
  /** Per 15-minute slot of the last two days, in ring order: the highest z (little-endian floats). */
  values: Buffer;
  /** The newest slot written, in 15-minute slots since the Unix epoch (-1: none yet). */
  last: number;
}

/** A DailyProfile as the state changelog keeps it. */
export interface ProfileState {
  /** Per 15-minute slot of the last two days, in ring order, each channel's mean reading (little-endian doubles; NaN: none). */
  means: Buffer;
  /** The open slot, in 15-minute slots since the Unix epoch (-1: none yet). */
  slot: number;
  /** The open slot's sums per channel, and its readings. */
  sums: number[];
  count: number;
  /** Per channel, the history of distances from yesterday. */
  distances: ScoreHistoryState[];
}

/**
 * An AnomalyLikelihood as the state changelog keeps it (`newest`, `daily`, `profile`: null
 * when off or written before they existed).
 */
export interface LikelihoodState extends ScoreHistoryState {
  peaks: number[];
  row: number;
  newest: ScoreHistoryState | null;
  daily?: DailyState | null;
  profile?: ProfileState | null;
}

/**
 * A RangeRule as the state changelog keeps it: per channel, the extremes seen, and those of
 * the windows' medians (`median`: null when off or written before it existed).
 */
export interface RangeState {
  min: number[];
  max: number[];
  median?: { min: number[]; max: number[] } | null;
}

/** One source's score rules as the state changelog keeps them (null: that rule is off). */
export interface ScoreRulesState {
  likelihood: LikelihoodState | null;
  range: RangeState | null;
}

export interface AnomalyLikelihoodArgs {
  history: number;
  short: number;
  suppress: number;
  newest?: boolean;
  daily?: boolean;
  profile?: boolean;
  prior?: 'off' | 'held-back' | 'training';
}

/** The readings a window brought in: `rows` rows of `values` from row `from` (row-major). */
export interface FreshReadings {
  values: ArrayLike<number>;
  from: number;
  rows: number;
}

const SLOT_MS = 15 * 60_000;
const SLOTS_PER_DAY = 96;
/** Slots held by the daily memory and profile: the last two days. */
const SLOTS_HELD = 2 * SLOTS_PER_DAY;

/** The 15-minute slot of an event time, counted from the Unix epoch. */
function slotOf(time: number): number {
  return Math.floor(time / SLOT_MS);
}

/** Where a slot sits in a ring of the last two days' slots. */
function slotIndex(slot: number): number {
  return ((slot % SLOTS_HELD) + SLOTS_HELD) % SLOTS_HELD;
}

/**
 * The highest z of each 15-minute slot of the last two days: what a source reached at this
 * time of day yesterday (`rules.likelihood.daily`). Slots are counted from the Unix epoch,
 * so "yesterday" is 24 hours earlier whatever the time zone.
 */
export class DailyMemory {
  private readonly ring = new Float32Array(SLOTS_HELD).fill(-Infinity);
  private last = -1;

  /** The highest z within one slot either side of `time` 24 hours earlier (-Infinity: none). */
  yesterday(time: number): number {
    const at = slotOf(time) - SLOTS_PER_DAY;
    let m = -Infinity;
    for (let s = at - 1; s <= at + 1; s++) {
      if (s > this.last || s <= this.last - this.ring.length) continue;
      m = Math.max(m, this.ring[slotIndex(s)]!);
    }
    return m;
  }

  /** Learns `z` at `time`; a time older than the two days held is ignored. */
  learn(time: number, z: number): void {
    const slot = slotOf(time);
    if (slot <= this.last - this.ring.length) return;
    // Slots skipped since the newest held nothing (a gap in the source's readings).
    for (let s = Math.max(this.last + 1, slot - this.ring.length + 1); s <= slot; s++)
      this.ring[slotIndex(s)] = -Infinity;
    if (slot > this.last) this.last = slot;
    const i = slotIndex(slot);
    if (z > this.ring[i]!) this.ring[i] = z;
  }

  snapshot(): DailyState {
    return { values: floatsToBytes(this.ring), last: this.last };
  }

  restore(s: DailyState): boolean {
    if (s.values.length !== this.ring.length * 4) return false;
    this.ring.set(bytesToFloats(s.values));
    this.last = s.last;
    return true;
  }
}

/**
 * Each channel's mean reading per 15-minute slot of the last two days, and how far each
 * complete slot's mean lies from the same slot's 24 hours earlier, as a z against the history
 * of such distances (`rules.likelihood.profile`). A day unlike yesterday (a flat day, a peak
 * that does not come) stands out although each window of it looks normal. Only complete
 * slots are compared: the mean of a slot's first readings is noisier than yesterday's whole
 * slot. A reading older than the open slot counts in the open slot.
 */
export class DailyProfile {
  private readonly means: Float64Array;
  private readonly sums: Float64Array;
  private count = 0;
  private slot = -1;
  private readonly distances: ScoreHistory[];

  constructor(
    readonly channels: number,
    history: number,
  ) {
    this.means = new Float64Array(SLOTS_HELD * channels).fill(NaN);
    this.sums = new Float64Array(channels);
    this.distances = Array.from({ length: channels }, () => new ScoreHistory(history, 1));
  }

  /**
   * Learns the readings at `time`. When they open a new slot, returns the largest z over
   * channels of the slot just completed against the same slot yesterday (-Infinity: no slot
   * completed, no yesterday, or fewer than `ready` distances seen yet).
   */
  update(time: number, readings: FreshReadings, ready: number): number {
    const slot = slotOf(time);
    let z = -Infinity;
    if (slot > this.slot) {
      z = this.close(ready);
      this.open(slot);
    }
    const d = this.channels;
    for (let r = readings.from; r < readings.from + readings.rows; r++)
      for (let c = 0; c < d; c++) this.sums[c]! += readings.values[r * d + c]!;
    this.count += readings.rows;
    return z;
  }

  /** Keeps the open slot's means, and returns their z against the same slot yesterday. */
  private close(ready: number): number {
    if (this.slot < 0 || this.count === 0) return -Infinity;
    const d = this.channels;
    const at = slotIndex(this.slot) * d;
    const before = slotIndex(this.slot - SLOTS_PER_DAY) * d;
    let z = -Infinity;
    for (let c = 0; c < d; c++) {
      const mean = this.sums[c]! / this.count;
      this.means[at + c] = mean;
      const yesterday = this.means[before + c]!;
      if (!Number.isNaN(yesterday))
        z = Math.max(z, this.distances[c]!.update(Math.abs(mean - yesterday), ready));
    }
    return z;
  }

  /** Opens `slot`; slots skipped since the open one hold none. */
  private open(slot: number): void {
    const d = this.channels;
    for (let s = Math.max(this.slot + 1, slot - SLOTS_HELD + 1); s < slot; s++)
      this.means.fill(NaN, slotIndex(s) * d, slotIndex(s) * d + d);
    this.slot = slot;
    this.sums.fill(0);
    this.count = 0;
  }

  snapshot(): ProfileState {
    return {
      means: doublesToBytes(this.means),
      slot: this.slot,
      sums: Array.from(this.sums),
      count: this.count,
      distances: this.distances.map((h) => h.snapshot()),
    };
  }

  restore(s: ProfileState): boolean {
    if (s.means.length !== this.means.length * 8 || s.distances.length !== this.channels)
      return false;
    if (!s.distances.every((h, c) => this.distances[c]!.restore(h))) return false;
    bytesToDoubles(s.means, this.means);
    this.slot = s.slot;
    this.sums.set(s.sums);
    this.count = s.count;
    return true;
  }
}

/** One score's history and short-term window, and its z against them. */
class ScoreHistory {
  readonly raws: BlockWindow;
  readonly recent: RollingWindow;

  constructor(history: number, short: number) {
    this.raws = new BlockWindow(history);
    this.recent = new RollingWindow(short);
  }

  /** The z of the short-term mean with `raw` against the history before it; then learns `raw`. */
  update(raw: number, ready: number): number {
    this.recent.push(raw);
    const z =
      this.raws.count >= ready
        ? (this.recent.mean - this.raws.mean) / Math.max(this.raws.sd, 1e-4)
        : -Infinity;
    this.raws.push(raw);
    return z;
  }

  /**
   * Learns `scores`; with `prior`, first fills the rest of the history with their mean and
   * variance, or `sd`² when larger.
   */
  seed(scores: readonly number[], prior: boolean, sd = 0): void {
    const { count, mean, variance } = sampleMoments(scores);
    if (prior && count >= 2)
      this.raws.prefill(mean, Math.max(variance, Number.isFinite(sd) ? sd * sd : 0), count);
    for (const x of scores) if (Number.isFinite(x)) this.raws.push(x);
  }

  rescale(f: number): void {
    this.raws.scale(f);
    this.recent.scale(f);
  }

  snapshot(): ScoreHistoryState {
    return { raws: this.raws.snapshot(), recent: this.recent.snapshot() };
  }

  restore(s: ScoreHistoryState): boolean {
    return this.raws.restore(s.raws) && this.recent.restore(s.recent);
  }
}

/**
 * Turns a stream of raw anomaly scores into scores in [0, 1): after Ahmad et al. 2017
 * ("anomaly likelihood"), the short-term mean of the raw scores is compared with the mean
 * and sd of the longer history, as a z value mapped monotonically to z / (z + 10). With
 * `suppress`, a score that does not beat the highest of the last `suppress` is halved: one
 * alarm per incident, not one per row.
 */
export class AnomalyLikelihood {
  private readonly main: ScoreHistory;
  private readonly newest: ScoreHistory | null;
  private readonly peaks: Float64Array;
  private readonly ready: number;
  private readonly daily: DailyMemory | null;
  private readonly profile: DailyProfile | null;
  private row = 0;

  /** `channels`: values per reading (what `profile` keeps a mean of). */
  constructor(
    readonly args: AnomalyLikelihoodArgs,
    channels = 1,
  ) {
    this.main = new ScoreHistory(args.history, args.short);
    this.newest = args.newest ? new ScoreHistory(args.history, args.short) : null;
    this.daily = args.daily ? new DailyMemory() : null;
    this.profile = args.profile ? new DailyProfile(channels, args.history) : null;
    this.peaks = new Float64Array(Math.max(1, args.suppress));
    this.ready = Math.min(100, args.history);
  }

  /**
   * The score of the next raw score (and of its newest reading's, when that is judged too:
   * the larger likelihood) at event time `time`; `certain` (e.g. a broken range) scores 1
   * outright. With `profile`, the window's fresh `readings` are judged against the same time
   * yesterday too (the larger z counts); with `daily`, the z reached at this time of day
   * yesterday is taken off.
   */
  update(raw: number, certain = false, newest = NaN, time = NaN, readings?: FreshReadings): number {
    let z = this.main.update(raw, this.ready);
    if (this.newest && Number.isFinite(newest))
      z = Math.max(z, this.newest.update(newest, this.ready));
    if (this.profile && readings && Number.isFinite(time))
      z = Math.max(z, this.profile.update(time, readings, this.ready));
    if (this.daily && Number.isFinite(time) && Number.isFinite(z)) {
      const expected = this.daily.yesterday(time);
      this.daily.learn(time, z);
      if (expected > 0) z -= expected;
    }
    const score = certain ? 1 : z > 0 ? z / (z + 10) : 0;
    if (this.args.suppress <= 0) return score;
    let recentPeak = 0;
    for (const p of this.peaks) if (p > recentPeak) recentPeak = p;
    this.peaks[this.row++ % this.peaks.length] = score;
    return score > recentPeak ? score : score / 2;
  }

  /**
   * Starts the histories from a model's raw scores on held-back normal windows (a new
   * source); with `prior: training`, the spread of its scores over all training windows
   * widens the prior's when larger.
   */
  seed(scores: readonly number[], newest: readonly number[] = [], spread?: ScoreSpread): void {
    const prior = (this.args.prior ?? 'off') !== 'off';
    const wide = this.args.prior === 'training';
    this.main.seed(scores, prior, wide ? spread?.scores : 0);
    this.newest?.seed(newest, prior, wide ? spread?.newest : 0);
  }

  /** Carries the raw scores held over to a model whose scores run `f` times larger. */
  rescale(f: number): void {
    this.main.rescale(f);
    this.newest?.rescale(f);
  }

  snapshot(): LikelihoodState {
    return {
      ...this.main.snapshot(),
      peaks: Array.from(this.peaks),
      row: this.row,
      newest: this.newest?.snapshot() ?? null,
      daily: this.daily?.snapshot() ?? null,
      profile: this.profile?.snapshot() ?? null,
    };
  }

  /** Continues from a snapshot taken with the same arguments (false: it does not fit). */
  restore(s: LikelihoodState): boolean {
    if (s.peaks.length !== this.peaks.length) return false;
    if ((s.newest === null) !== (this.newest === null)) return false;
    if (!this.main.restore(s)) return false;
    if (this.newest && s.newest && !this.newest.restore(s.newest)) return false;
    // Written before `daily` was on: its memory starts empty.
    if (this.daily && s.daily && !this.daily.restore(s.daily)) return false;
    if (this.profile && s.profile && !this.profile.restore(s.profile)) return false;
    this.peaks.set(s.peaks);
    this.row = s.row;
    return true;
  }
}

/**
 * A value outside everything seen so far, by more than `tolerance` times the range seen,
 * per channel: the "spatial anomaly" rule of numenta's NAB detector, which catches level
 * breaks a model of local shape scores only mildly. With `median`, the same for each
 * window's median reading against the earlier windows' medians: one spike widens the range
 * of readings for good and hides a later level shift inside it, but hardly moves a median.
 *
 * @example
 * const range = new RangeRule(1);
 * range.check([value]); // true when value leaves [min - 5 % range, max + 5 % range]
 */
export class RangeRule {
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly medians: { min: Float64Array; max: Float64Array } | null;
  /** One channel's readings of a window, sorted for its median. */
  private column = new Float64Array(0);

  constructor(
    readonly channels: number,
    readonly tolerance = 0.05,
    median = false,
  ) {
    this.min = new Float64Array(channels).fill(Infinity);
    this.max = new Float64Array(channels).fill(-Infinity);
    this.medians = median
      ? {
          min: new Float64Array(channels).fill(Infinity),
          max: new Float64Array(channels).fill(-Infinity),
        }
      : null;
  }

  /** Whether a reading breaks the range of all earlier ones on any channel; then learns it. */
  check(values: ArrayLike<number>, offset = 0): boolean {
    let outside = false;
    for (let c = 0; c < this.channels; c++) {
      const v = values[offset + c]!;
      if (this.beyond(v, this.min[c]!, this.max[c]!, c)) outside = true;
      if (v < this.min[c]!) this.min[c] = v;
      if (v > this.max[c]!) this.max[c] = v;
    }
    return outside;
  }

  /**
   * Whether a window's median reading (`rows` readings of `channels` values, row-major)
   * breaks the range of the earlier windows' medians on any channel, by more than
   * `tolerance` times the readings' range; then learns it. False when `median` is off.
   */
  checkMedian(window: ArrayLike<number>, rows: number): boolean {
    const medians = this.medians;
    if (!medians || rows < 1) return false;
    if (this.column.length !== rows) this.column = new Float64Array(rows);
    const column = this.column;
    let outside = false;
    for (let c = 0; c < this.channels; c++) {
      for (let r = 0; r < rows; r++) column[r] = window[r * this.channels + c]!;
      column.sort();
      // The lower median: a shift of the level moves it once, when half the window has it.
      const m = column[(rows - 1) >> 1]!;
      if (this.beyond(m, medians.min[c]!, medians.max[c]!, c)) outside = true;
      if (m < medians.min[c]!) medians.min[c] = m;
      if (m > medians.max[c]!) medians.max[c] = m;
    }
    return outside;
  }

  /** Whether `v` lies beyond [lo, hi] by more than tolerance x channel c's range of readings. */
  private beyond(v: number, lo: number, hi: number, c: number): boolean {
    const margin = this.tolerance * (this.max[c]! - this.min[c]!);
    return hi >= lo && this.max[c]! > this.min[c]! && (v > hi + margin || v < lo - margin);
  }

  snapshot(): RangeState {
    const m = this.medians;
    return {
      min: Array.from(this.min),
      max: Array.from(this.max),
      median: m ? { min: Array.from(m.min), max: Array.from(m.max) } : null,
    };
  }

  /**
   * Continues from a snapshot of as many channels (false: it does not fit). The medians'
   * range starts over when the snapshot has none (median was off, or an older record).
   */
  restore(s: RangeState): boolean {
    if (s.min.length !== this.channels || s.max.length !== this.channels) return false;
    this.min.set(s.min);
    this.max.set(s.max);
    const m = s.median;
    if (this.medians && m && m.min.length === this.channels && m.max.length === this.channels) {
      this.medians.min.set(m.min);
      this.medians.max.set(m.max);
    }
    return true;
  }
}

interface SourceRules {
  likelihood: AnomalyLikelihood | null;
  range: RangeRule | null;
  /** The model version whose scores the likelihood's history holds. */
  version: string | undefined;
}

/** What the rules know of the models that give the scores (from the model store). */
export interface ModelScores {
  /** How much larger model `to`'s raw scores run than model `from`'s (undefined: unknown). */
  ratio(from: string, to: string): number | undefined;
  /** A version's raw scores on held-back normal windows at training (undefined: none stored). */
  reference(version: string): readonly number[] | undefined;
  /** The same windows' scores of their newest readings alone (undefined: none stored). */
  referenceNewest?(version: string): readonly number[] | undefined;
  /** The sd of the version's scores over all its training windows (undefined: not stored). */
  referenceSpread?(version: string): ScoreSpread | undefined;
}

/**
 * The score rules of every source, in stream order: the range rule checks the readings a
 * window brought in (the last `covered` rows), the likelihood replaces the score. A broken
 * range makes the score +Infinity, which the threshold step flags and keeps out of its
 * statistics. A new source's likelihood history starts from the model's scores on held-back
 * normal windows at training, so it judges from its first window. When a source's scores
 * come from a new model version, the raw scores its likelihood holds are first carried over
 * by the ratio of the two models' error scales (as thresholds are), so a swap neither floods
 * nor blinds it. Each source's rules can be
 * taken out and put back (the state changelog).
 *
 * @example
 * const rules = new ScoreRules({ likelihood: { history: 5000, short: 1, suppress: 0 } }, 1);
 * rules.apply(batch); rules.snapshotKey('pump-1'); // { likelihood: {...}, range: null }
 */
export class ScoreRules<F = unknown> {
  private readonly sources = new Map<string, SourceRules>();

  constructor(
    readonly rules: ScoreRulesConfig,
    readonly features: number,
  ) {}

  /** Whether any rule is on. */
  get active(): boolean {
    return Boolean(this.rules.likelihood || this.rules.range);
  }

  private stateOf(key: string): SourceRules {
    let s = this.sources.get(key);
    if (!s) {
      const { likelihood, range } = this.rules;
      s = {
        likelihood: likelihood ? new AnomalyLikelihood(likelihood, this.features) : null,
        range: range ? new RangeRule(this.features, range.tolerance, range.median) : null,
        version: undefined,
      };
      this.sources.set(key, s);
    }
    return s;
  }

  /** Applies the rules to a batch in place (`models`: seeds and carries over histories). */
  apply(batch: Scored<F>[], models?: ModelScores): Scored<F>[] {
    const features = this.features;
    for (const scored of batch) {
      const s = this.stateOf(scored.key);
      let broken = false;
      // The window's new readings, for the rules that read them.
      const fresh =
        s.range || this.rules.likelihood?.profile ? freshReadings(scored, features) : undefined;
      if (s.range && fresh) {
        for (let r = fresh.from; r < fresh.from + fresh.rows; r++) {
          if (s.range.check(scored.data, r * features)) broken = true;
        }
      }
      // A padded window lacks context: it teaches the range but neither raises nor enters the history.
      if (scored.partial || !Number.isFinite(scored.score)) continue;
      if (s.range?.checkMedian(scored.data, scored.data.length / features)) broken = true;
      if (s.likelihood && s.version !== scored.modelVersion) {
        if (s.version === undefined) {
          const version = scored.modelVersion;
          s.likelihood.seed(
            models?.reference(version) ?? [],
            models?.referenceNewest?.(version) ?? [],
            models?.referenceSpread?.(version),
          );
        } else {
          const f = models?.ratio(s.version, scored.modelVersion);
          if (f !== undefined && f > 0 && Number.isFinite(f) && f !== 1) s.likelihood.rescale(f);
        }
        s.version = scored.modelVersion;
      }
      if (s.likelihood) {
        const { daily, profile } = this.rules.likelihood!;
        // Only the daily memory and profile read the event time (and the profile the readings).
        const time = daily || profile ? timeOf(scored) : NaN;
        scored.score = s.likelihood.update(scored.score, broken, scored.newest, time, fresh);
      }
      if (broken) scored.score = Infinity;
    }
    return batch;
  }

  /** A source's rules as they are now; null when no rule is on or the source is unknown. */
  snapshotKey(key: string): ScoreRulesState | null {
    const s = this.sources.get(key);
    if (!s || !this.active) return null;
    return { likelihood: s.likelihood?.snapshot() ?? null, range: s.range?.snapshot() ?? null };
  }

  /**
   * Puts a source's rules back (null: they start over). Returns why a state does not fit
   * these rules (another history, short span, suppression span or channel count), or null.
   */
  restoreKey(key: string, state: ScoreRulesState | null, version?: string): string | null {
    this.sources.delete(key);
    if (state === null || !this.active) return null;
    const s = this.stateOf(key);
    s.version = version;
    // A rule the state lacks (written before it was on) starts over; one that differs is a misfit.
    const misfit =
      s.likelihood && state.likelihood && !s.likelihood.restore(state.likelihood)
        ? 'a likelihood of another history, short, suppress, newest, daily or channel count'
        : s.range && state.range && !s.range.restore(state.range)
          ? 'a range of another channel count'
          : null;
    if (misfit) this.sources.delete(key);
    return misfit;
  }

  forgetKey(key: string): void {
    this.sources.delete(key);
  }
}

/** The readings a window brought in (its newest `covered` rows). */
function freshReadings(scored: Scored<unknown>, features: number): FreshReadings {
  const rows = scored.data.length / features;
  const fresh = Math.min(scored.covered.length, rows);
  return { values: scored.data, from: rows - fresh, rows: fresh };
}

/** The event time of a window's newest reading (a sensor frame's `time`), NaN without one. */
function timeOf(scored: Scored<unknown>): number {
  const last = scored.last as { value?: { time?: unknown } } | undefined;
  const time = last?.value?.time;
  return typeof time === 'number' ? time : NaN;
}

/**
 * Applies the score rules to each scored sensor window, per source and in stream order
 * (ScoreRules; pass `rules` to keep their state elsewhere, as the state changelog does).
 * Without rules it passes batches on.
 *
 * @example scored$.pipe(scoreRules({ likelihood: { history: 5000, short: 1, suppress: 0 } }, 1))
 */
export function scoreRules<F>(
  config: ScoreRulesConfig | undefined,
  features: number,
  rules?: ScoreRules<F> | null,
  models?: ModelScores,
): OperatorFunction<Scored<F>[], Scored<F>[]> {
  if (!config || (!config.likelihood && !config.range)) return (batches) => batches;
  const kept = rules ?? new ScoreRules<F>(config, features);
  return map((batch) => kept.apply(batch, models));
}
