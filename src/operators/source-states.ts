import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { createAvroCodec, type AvroCodec } from '../codecs/avro-codec';
import {
  bytesToFloats,
  bytesToIntegers,
  floatsToBytes,
  integersToBytes,
} from '../codecs/packed-numbers';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import type { Accepted, KafkaRecord } from '../core/kafka-record';
import type { Judged } from '../core/model-input';
import type { EventRulesState } from '../outputs/event-rules';
import type { ThresholdState } from '../thresholds/threshold';
import { decodeThresholdState, encodeThresholdState } from '../thresholds/threshold-state-codec';
import { ScoreRules, type ScoreRulesConfig, type ScoreRulesState } from './score-rules';
import { SensorWindows, windowTail } from './sensor-windows';

const NO_BYTES = Buffer.alloc(0);

/** One source's state as the changelog keeps it (schemas/source-state.avsc). */
export interface SourceStateRecord {
  pipeline: string;
  source: string;
  modelVersion: string;
  partition: number;
  offset: number;
  readings: number;
  window: number;
  features: number;
  /** Little-endian floats (`floatsToBytes`), or an array in records of earlier schemas. */
  values: Buffer | number[];
  /** Zigzag varint differences (`integersToBytes`), or an array in records of earlier schemas. */
  times: Buffer | number[];
  /** The threshold state: `encodeThresholdState` bytes, or JSON text (records of schemas before v5). */
  threshold: Buffer | null;
  /** The score rules' state (likelihood history, range), when the pipeline has rules. */
  rules: ScoreRulesState | null;
  /** The event rules' state (last verdicts, open incident), for `k-of-n` and `incident`. */
  events: EventRulesState | null;
  writtenAt: number;
}

/**
 * The codec of the state changelog: SourceState, reading records of its earlier schemas
 * (schemas/history/) too, whose missing fields take their defaults.
 */
export function sourceStateCodec(): AvroCodec<SourceStateRecord> {
  return createAvroCodec<SourceStateRecord>('SourceState', {
    writers: [
      'history/source-state-v1.avsc',
      'history/source-state-v2.avsc',
      'history/source-state-v3.avsc',
      'history/source-state-v4.avsc',
      'history/source-state-v5.avsc',
      'history/source-state-v6.avsc',
    ],
  });
}

/** Per-source state of the event rules, out and back in (the anomaly event sink's). */
export interface KeyedEventRules {
  snapshotKey(key: string): EventRulesState | null;
  restoreKey(key: string, state: EventRulesState | null): void;
  forgetKey(key: string): void;
}

/** What the state needs of the judge: a key's threshold state, out and back in. */
export interface KeyStates {
  snapshotKey(key: string): ThresholdState | null;
  restoreKey(key: string, state: ThresholdState, from: string, current: string): void;
  forgetKey(key: string): void;
}

/** A restored state found not to belong to the input it is read with (reported by the detector). */
export interface StaleState {
  source: string;
  partition: number;
  /** The input offset the state claims to include. */
  offset: number;
  /** Why it cannot be the input's. */
  reason: string;
}

/** How long a source that went to another detector keeps its state here for frames in flight. */
const DEPARTED_GRACE_MS = 60_000;

/** A source this detector owns: how far its frames went, and the times of its last readings. */
interface Source {
  readonly key: string;
  partition: number;
  /** Highest offset handed to the windows (or restored): at or below it a frame is a redo. */
  pushed: number;
  /** Highest offset whose outputs were acknowledged and whose state is kept for the next write. */
  acked: number;
  readings: number;
  /** Event times of the last W-1 readings, a ring indexed by reading number. */
  times: Float64Array | null;
  /** Redone frames skipped before their first delivery's outputs were acknowledged. */
  waiting: KafkaRecord[];
  /** The last judged input of the source: its offset, window and model version. */
  judged: number;
  data: Float32Array | null;
  modelVersion: string;
  /**
   * A restored state not yet confirmed by the input: the event time of the reading at its
   * covered offset. A redelivered frame at or below that offset must not be later.
   */
  claim: { offset: number; time: number } | null;
  /** The number of the cut it was last judged before (`touched` holds it once per cut). */
  cutSeq: number;
}

/**
 * A cut through the judged stream, taken between two batches: the state of every source
 * judged since the previous cut. Once every batch up to it is acknowledged, its states may
 * be written; commits then stay below the first frame of each partition judged after it.
 */
export interface Barrier {
  readonly snapshots: Snapshot[];
  /** Per partition, the offset of the first frame judged after the cut. */
  readonly after: Map<number, number>;
  acked: boolean;
}

/** A source's state as of the last frame of a judged batch. */
export interface Snapshot {
  readonly key: string;
  readonly source: Source;
  readonly partition: number;
  readonly offset: number;
  readonly readings: number;
  readonly data: Float32Array | null;
  readonly times: number[];
  /** Encoded as the cut is taken: one buffer instead of a copy of the threshold's arrays. */
  readonly threshold: Buffer | null;
  readonly rules: ScoreRulesState | null;
  readonly events: EventRulesState | null;
  readonly modelVersion: string;
}

/**
 * The per-source state of a detector between its changelog and its flow: the sensor
 * windows (shared with the flow), what each source's last acknowledged batch left (written
 * at the next commit, at most one record per source), and the redo filter (a frame its
 * source's state already includes is not scored again: after a restore, or a rebalance
 * that redelivers frames of a kept partition).
 *
 * @example
 * const states = new SourceStates('sensors', frame, () => judge);
 * records$.pipe(detectFlow({ ...parts, state: states }));
 * source = new KafkaSource({ ..., beforeCommit: () => states.flush(write) });
 */
export class SourceStates<F = unknown> {
  readonly windows: SensorWindows<Accepted<F>> | null;
  /** The score rules of the sources (shared with the flow); null without rules. */
  readonly rules: ScoreRules<F> | null;
  private readonly sources = new Map<string, Source>();
  private readonly dirty = new Map<string, Snapshot>();
  /** Sources judged since the last cut, each once (by its `cutSeq`). */
  private touched: Source[] = [];
  /** The number of the next cut. */
  private cutSeq = 1;
  /**
   * The last cut written (commits stay below the frames judged after it), then the cuts
   * taken since, oldest first (acknowledged ones form a prefix).
   */
  private open: Barrier[] = [];
  /** Whether the next judged batch makes a cut. */
  private due = true;
  /** Batches handed to the sinks and not acknowledged yet. */
  private inFlight = 0;
  /** Sources of partitions this detector lost, with when: kept until their in-flight frames are through. */
  private readonly departed = new Map<string, { partition: number; at: number }>();
  private readonly ringSize: number;
  private readonly events: KeyedEventRules | null;
  /** Called for each restored state the input contradicts (that source starts over). */
  onStale: (stale: StaleState) => void = () => undefined;

  constructor(
    readonly pipeline: string,
    private readonly shape: {
      window: number;
      features: number;
      stride?: number;
      pad?: boolean;
    } | null,
    private readonly judge: () => KeyStates,
    parts: { rules?: ScoreRulesConfig; events?: KeyedEventRules } = {},
  ) {
    this.windows = shape ? new SensorWindows<Accepted<F>>({ stride: 1, ...shape }) : null;
    const rules = shape && parts.rules ? new ScoreRules<F>(parts.rules, shape.features) : null;
    this.rules = rules?.active ? rules : null;
    this.events = parts.events ?? null;
    // Before any cut: nothing judged is covered yet.
    this.open.push({ snapshots: [], after: new Map(), acked: true });
    this.ringSize = shape ? shape.window - 1 : 0;
  }

  /** Sources owned now. */
  get size(): number {
    return this.sources.size;
  }

  /** Sources with a state not yet written. */
  get pending(): number {
    return this.dirty.size;
  }

  /** Drops frames their source's state already includes; acks each once its first delivery is. */
  skipRedone(): MonoTypeOperatorFunction<Accepted<F>> {
    return filter((a) => !this.redone(a));
  }

  private redone(a: Accepted<F>): boolean {
    const key = (a.value as { source: string }).source;
    const { partition } = a.record;
    const offset = Number(a.record.offset);
    let s = this.sources.get(key);
    if (s === undefined || s.partition !== partition) {
      // In flight from before its partition went to another detector: scored, never written.
      if (this.departed.has(key)) return false;
      s = this.fresh(key, partition, -1, 0, []);
    }
    if (s.claim !== null && offset <= s.pushed && this.contradicts(s.claim, a, offset)) {
      const { claim } = s;
      this.forget(key);
      this.onStale({
        source: key,
        partition,
        offset: claim.offset,
        reason: `its frame at offset ${offset} has time ${this.timeOf(a)}; the state's last reading, at offset ${claim.offset}, has ${claim.time}`,
      });
      s = this.fresh(key, partition, -1, 0, []);
    }
    if (offset > s.pushed) {
      s.pushed = offset;
      s.claim = null; // beyond what the state covers: it held up
      return false;
    }
    if (offset <= s.acked) a.record.ack();
    else s.waiting.push(a.record);
    return true;
  }

  private timeOf(a: Accepted<F>): number {
    return (a.value as { time?: number }).time ?? a.record.timestamp;
  }

  /**
   * Whether a redelivered frame cannot be one the restored state includes: it is later than
   * the state's last reading, or it is the covered frame itself with another time. That
   * happens when the input topic was recreated (or another input reuses the state topic).
   */
  private contradicts(claim: { offset: number; time: number }, a: Accepted<F>, offset: number) {
    const time = this.timeOf(a);
    return time > claim.time || (offset === claim.offset && time !== claim.time);
  }

  private fresh(
    key: string,
    partition: number,
    offset: number,
    readings: number,
    times: readonly number[],
  ): Source {
    const s: Source = {
      key,
      partition,
      pushed: offset,
      acked: offset,
      readings,
      times: this.ringSize > 0 ? new Float64Array(this.ringSize) : null,
      waiting: [],
      judged: offset,
      data: null,
      modelVersion: '',
      claim: null,
      cutSeq: 0,
    };
    const n = times.length;
    for (let i = 0; i < n; i++) this.pushTime(s, readings - n + i, times[i]!);
    this.sources.set(key, s);
    return s;
  }

  private pushTime(s: Source, reading: number, time: number): void {
    if (s.times) s.times[reading % this.ringSize] = time;
  }

  /**
   * Follows each judged batch as it is handed to the sinks (before a later batch is judged):
   * counts its sources' readings and, when a cut is due (one per write), takes the state of
   * every source judged since the last cut. Returns the cut, or null.
   */
  capture(batch: readonly Judged<F>[]): Barrier | null {
    this.inFlight++;
    for (const j of batch) {
      const s = this.sources.get(j.key);
      if (s === undefined) continue; // its partition went to another detector meanwhile
      // A later cut's partitions are a subset of an earlier one's: only when the newest lacks
      // this partition may any lack it.
      const { after } = this.open[this.open.length - 1]!;
      if (!after.has(s.partition)) {
        const first = Number((j.covered[0]?.record ?? j.last.record).offset);
        for (const b of this.open) if (!b.after.has(s.partition)) b.after.set(s.partition, first);
      }
      for (const c of j.covered) {
        const time = (c.value as { time?: number }).time ?? c.record.timestamp;
        this.pushTime(s, s.readings++, time);
      }
      s.judged = Number(j.last.record.offset);
      s.data = this.shape ? (j.data as Float32Array) : null;
      s.modelVersion = j.modelVersion;
      if (s.cutSeq !== this.cutSeq) {
        s.cutSeq = this.cutSeq;
        this.touched.push(s);
      }
    }
    if (!this.due) return null;
    this.due = false;
    return this.cut();
  }

  /** The state of every source judged since the last cut, as it is now. */
  private cut(): Barrier {
    const judge = this.judge();
    const snapshots: Snapshot[] = [];
    for (const source of this.touched) {
      const { key } = source;
      if (this.sources.get(key) !== source) continue; // forgotten or restored since
      const threshold = judge.snapshotKey(key);
      snapshots.push({
        key,
        source,
        partition: source.partition,
        offset: source.judged,
        readings: source.readings,
        data: source.data,
        times: this.timesOf(source),
        threshold: threshold ? encodeThresholdState(threshold) : null,
        rules: this.rules?.snapshotKey(key) ?? null,
        events: this.events?.snapshotKey(key) ?? null,
        modelVersion: source.modelVersion,
      });
    }
    this.touched = [];
    this.cutSeq++;
    const barrier: Barrier = { snapshots, after: new Map(), acked: false };
    this.open.push(barrier);
    return barrier;
  }

  private timesOf(s: Source): number[] {
    if (!s.times) return [];
    const n = Math.min(s.readings, this.ringSize);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = s.times[(s.readings - n + i) % this.ringSize]!;
    return out;
  }

  /** A batch's outputs are acknowledged; with a cut, its states are the next to write. */
  acked(barrier: Barrier | null): void {
    this.inFlight--;
    if (barrier !== null) this.keep(barrier);
  }

  /** A cut whose batches are all acknowledged: its states are the next to write. */
  private keep(barrier: Barrier): void {
    barrier.acked = true;
    for (const snap of barrier.snapshots) {
      const s = snap.source;
      if (this.sources.get(snap.key) !== s) continue; // forgotten since: not ours to write
      this.dirty.set(snap.key, snap);
      if (snap.offset > s.acked) s.acked = snap.offset;
      if (s.waiting.length === 0) continue;
      const still: KafkaRecord[] = [];
      for (const r of s.waiting) {
        if (Number(r.offset) <= s.acked) r.ack();
        else still.push(r);
      }
      s.waiting = still;
    }
  }

  /**
   * Writes every state not yet written (one record per source) with `write`, which
   * resolves once the broker acknowledged them; on failure they stay for the next flush.
   */
  async flush(
    write: (records: SourceStateRecord[]) => Promise<void>,
  ): Promise<{ written: number; limits: ReadonlyMap<number, number> }> {
    if (this.departed.size > 0) this.dropDeparted({ before: Date.now() - DEPARTED_GRACE_MS });
    // Nothing in flight (idle, or drained for a stop): cut here, so every judged frame is covered.
    if (this.inFlight === 0 && this.touched.length > 0) this.keep(this.cut());
    this.due = true;
    // open[0] is the last cut written; the acknowledged ones after it are written now.
    let last = 0;
    while (last + 1 < this.open.length && this.open[last + 1]!.acked) last++;
    const covered = this.open[last]!;
    const snapshots = [...this.dirty.values()];
    this.dirty.clear();
    const now = Date.now();
    try {
      if (snapshots.length > 0) await write(snapshots.map((s) => this.record(s, now)));
    } catch (err) {
      for (const s of snapshots) if (!this.dirty.has(s.key)) this.dirty.set(s.key, s);
      throw err;
    }
    this.open.splice(0, last);
    return { written: snapshots.length, limits: new Map(covered.after) };
  }

  private record(s: Snapshot, writtenAt: number): SourceStateRecord {
    const shape = this.shape;
    return {
      pipeline: this.pipeline,
      source: s.key,
      modelVersion: s.modelVersion,
      partition: s.partition,
      offset: s.offset,
      readings: s.readings,
      window: shape?.window ?? 0,
      features: shape?.features ?? 0,
      values: shape && s.data ? floatsToBytes(windowTail(s.data, s.readings, shape)) : NO_BYTES,
      times: integersToBytes(s.times) ?? s.times,
      threshold: s.threshold,
      rules: s.rules,
      events: s.events,
      writtenAt,
    };
  }

  /**
   * Keeps only the sources of `partitions` (their state in memory is current); the others
   * went to another detector or are read back from the changelog.
   */
  retain(partitions: readonly number[], now = Date.now()): void {
    const kept = new Set(partitions);
    for (const [key, s] of this.sources) {
      if (kept.has(s.partition)) continue;
      // Its frames still in flight are scored on with the window and threshold they had, as
      // the next owner scores them again from the changelog: the two agree. Neither is
      // written here; they are dropped once those frames are through (dropDeparted).
      this.sources.delete(key);
      this.dirty.delete(key);
      this.departed.set(key, { partition: s.partition, at: now });
    }
  }

  /**
   * Drops the windows and thresholds of sources that went to another detector: those of
   * `partitions` (about to be read back), or those gone before `before` (ms since the epoch).
   */
  dropDeparted(which: { partitions?: readonly number[]; before?: number }): void {
    const partitions = new Set(which.partitions ?? []);
    const judge = this.judge();
    for (const [key, d] of this.departed) {
      if (!partitions.has(d.partition) && !(which.before !== undefined && d.at < which.before))
        continue;
      this.departed.delete(key);
      this.forget(key, judge);
    }
  }

  /** Forgets a source: it starts again from nothing (the model's calibration). */
  forget(key: string, judge = this.judge()): void {
    this.sources.delete(key);
    this.dirty.delete(key);
    this.windows?.drop(key);
    this.rules?.forgetKey(key);
    this.events?.forgetKey(key);
    judge.forgetKey(key);
  }

  /**
   * Puts a source's state back: its window, its threshold (carried over to `currentModel`
   * when it was learned on another version), and the offset it covers. A record that does
   * not fit the pipeline throws AE_ERR_STATE_DECODE and changes nothing.
   */
  restore(r: SourceStateRecord, currentModel: string): void {
    const fail = (why: string): never => {
      throw new AeError(ErrorCodes.STATE_DECODE, `state of ${r.source}: ${why}`);
    };
    if (r.pipeline !== this.pipeline) fail(`written by pipeline ${r.pipeline}`);
    const shape = this.shape;
    if ((shape?.window ?? 0) !== r.window || (shape?.features ?? 0) !== r.features)
      fail(
        `windows of ${r.window} x ${r.features}, the pipeline has ${shape?.window ?? 0} x ${shape?.features ?? 0}`,
      );
    const n = Math.min(r.readings, this.ringSize);
    let values: ArrayLike<number> = [];
    let times: readonly number[] = [];
    try {
      values = Buffer.isBuffer(r.values) ? bytesToFloats(r.values) : r.values;
      times = Buffer.isBuffer(r.times) ? bytesToIntegers(r.times) : r.times;
    } catch (err) {
      fail(messageOf(err));
    }
    if (
      r.readings < 0 ||
      r.offset < 0 ||
      values.length !== n * (shape?.features ?? 0) ||
      times.length !== n
    )
      fail(`${values.length} values and ${times.length} times for ${r.readings} readings`);
    let threshold: ThresholdState | null = null;
    try {
      threshold = r.threshold === null ? null : thresholdOf(r.threshold);
      if (threshold !== null && typeof threshold.kind !== 'string')
        fail('threshold without a kind');
      const judge = this.judge();
      if (threshold) judge.restoreKey(r.source, threshold, r.modelVersion, currentModel);
      else judge.forgetKey(r.source);
    } catch (err) {
      if (err instanceof AeError && err.code === ErrorCodes.STATE_DECODE) throw err;
      fail(`threshold: ${messageOf(err)}`);
    }
    const misfit = this.rules?.restoreKey(r.source, r.rules ?? null, r.modelVersion);
    if (misfit) {
      this.judge().forgetKey(r.source);
      fail(`score rules: ${misfit}`);
    }
    this.events?.restoreKey(r.source, r.events ?? null);
    if (this.windows) this.windows.restore(r.source, { readings: r.readings, values });
    this.departed.delete(r.source);
    this.dirty.delete(r.source);
    const s = this.fresh(r.source, r.partition, r.offset, r.readings, times);
    const time = times[times.length - 1];
    if (time !== undefined) s.claim = { offset: r.offset, time };
  }
}

/** A record's threshold state: binary (`encodeThresholdState`) or the JSON text older ones hold. */
function thresholdOf(bytes: Buffer): ThresholdState {
  if (bytes[0] === JSON_OBJECT) return JSON.parse(bytes.toString('utf8')) as ThresholdState;
  return decodeThresholdState(bytes);
}

/** `{`: the first byte of a threshold state as JSON; a binary one starts with its version, 1. */
const JSON_OBJECT = 0x7b;
