import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { Observable, type Subscriber } from 'rxjs';
import { AeError } from '../../core/errors';
import { logger } from '../../observability/logger';
import type { KafkaRecord } from '../../core/kafka-record';
import { kafkaError } from './kafka-errors';
import type { PartitionRange } from './offset-range';

export interface KafkaRangeSourceOptions {
  kafka: Kafka;
  topic: string;
  /** Offsets to read per partition (from `resolveRange`); partitions not listed are not read. */
  ranges: readonly PartitionRange[];
  /**
   * The consumer group the read runs in: a throwaway one, never committed to, so no
   * other group's offsets move (kafkajs can only fetch as a group member).
   */
  groupId: string;
  /**
   * Records handed on but not yet acked, at most (backpressure); readings held in a window
   * for later ones of their source do not count.
   */
  maxInFlight?: number;
  /** Records buffered per partition before its fetching is paused. */
  maxBuffered?: number;
  /** Records per second handed on, at most; null for as fast as they are acked. */
  rate?: number | null;
}

/** How far a bounded read has come in one partition. */
export interface PartitionProgress {
  partition: number;
  /** Records in the partition's range. */
  total: number;
  /** Records handed on. */
  read: number;
  /**
   * Records acked (every sink has what they produced). Records a consumer never acks (a
   * sensor window's trailing readings with stride > 1) stay out of it.
   */
  acked: number;
}

interface PartitionState {
  range: PartitionRange;
  queue: KafkaRecord[];
  /** Next offset the consumer will deliver: the partition is complete once it reaches `end`. */
  position: number;
  paused: boolean;
  read: number;
  acked: number;
}

/**
 * A bounded read of a topic: every record with `start <= offset < end` of the given
 * partition ranges, then completion. It seeks a consumer of a throwaway group to each
 * range's start and never commits (autoCommit off), so production consumer groups keep
 * their offsets.
 *
 * Records are handed on in one deterministic order whatever the fetch timing: partitions
 * are merged by (timestamp, partition), each partition in offset order. Two reads of the
 * same range therefore give the same sequence, which a threshold shared by all sources
 * (perKey: false) needs for repeatable verdicts.
 *
 * Records carry the same `ack()` as KafkaSource's; here it only counts (progress) and
 * frees room for more in-flight records.
 *
 * @example
 * const source = new KafkaRangeSource({ kafka, topic, ranges, groupId: 'aestream-replay-r1' });
 * source.records().pipe(detectFlow(parts)).subscribe();
 */
export class KafkaRangeSource {
  private readonly partitions: PartitionState[];
  private readonly maxInFlight: number;
  private readonly maxBuffered: number;
  private disconnecting: Promise<void> = Promise.resolve();

  constructor(private readonly opts: KafkaRangeSourceOptions) {
    this.maxInFlight = opts.maxInFlight ?? 5_000;
    this.maxBuffered = opts.maxBuffered ?? 2_000;
    if (opts.rate !== undefined && opts.rate !== null && !(opts.rate > 0)) {
      throw new RangeError(`KafkaRangeSource: rate must be > 0, got ${opts.rate}`);
    }
    this.partitions = opts.ranges.map((range) => ({
      range,
      queue: [],
      position: range.start,
      paused: false,
      read: 0,
      acked: 0,
    }));
  }

  /** Progress per partition, in partition order. */
  progress(): PartitionProgress[] {
    return this.partitions.map((p) => ({
      partition: p.range.partition,
      total: p.range.end - p.range.start,
      read: p.read,
      acked: p.acked,
    }));
  }

  /**
   * Resolves once the consumer of the last subscription has left its group (the group can
   * be deleted from then on).
   */
  disconnected(): Promise<void> {
    return this.disconnecting;
  }

  /**
   * The records of the range, once each; completes after the last one. Unsubscribing
   * disconnects the consumer.
   */
  records(): Observable<KafkaRecord> {
    return new Observable<KafkaRecord>((subscriber) => {
      const run = new RangeRun(this.opts, this.partitions, this.maxInFlight, this.maxBuffered);
      run.start(subscriber);
      return () => {
        this.disconnecting = run.close();
      };
    });
  }
}

/** One subscription's consumer and the merge that feeds the subscriber. */
class RangeRun {
  private consumer: Consumer | null = null;
  private subscriber: Subscriber<KafkaRecord> | null = null;
  private inFlight = 0;
  private emitted = 0;
  private firstEmit = 0;
  private pumping = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private finished = false;
  private readonly byPartition = new Map<number, PartitionState>();

  constructor(
    private readonly opts: KafkaRangeSourceOptions,
    private readonly partitions: PartitionState[],
    private readonly maxInFlight: number,
    private readonly maxBuffered: number,
  ) {
    for (const p of partitions) this.byPartition.set(p.range.partition, p);
  }

  start(subscriber: Subscriber<KafkaRecord>): void {
    this.subscriber = subscriber;
    this.connect().catch((err: unknown) => this.fail(err));
  }

  private complete(p: PartitionState): boolean {
    return p.position >= p.range.end;
  }

  private async connect(): Promise<void> {
    const { kafka, topic, groupId } = this.opts;
    // Nothing to fetch at all: complete without joining a group.
    if (this.partitions.every((p) => this.complete(p))) {
      this.pump();
      return;
    }
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.fail(e.payload.error);
    });
    await consumer.connect();
    if (this.closed) return;
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: (payload) => this.onBatch(payload),
    });
    // Seek after run (kafkajs applies it to the next fetch); complete partitions are
    // paused so they are never fetched.
    const idle: number[] = [];
    for (const p of this.partitions) {
      if (this.complete(p)) idle.push(p.range.partition);
      else consumer.seek({ topic, partition: p.range.partition, offset: String(p.range.start) });
    }
    if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
    logger.info(
      { topic, group: groupId, partitions: this.partitions.map((p) => p.range) },
      'range read started',
    );
  }

  private async onBatch({ batch }: EachBatchPayload): Promise<void> {
    if (this.closed) return;
    const p = this.byPartition.get(batch.partition);
    if (!p) {
      // A partition outside the range (a per-partition --from left it out): stop fetching it.
      this.consumer?.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
      return;
    }
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      // Records before the seek landed, or past the end captured at start, are not ours.
      if (offset < p.position || offset >= p.range.end) continue;
      const state = p;
      let acked = false;
      const record: KafkaRecord = {
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        timestamp: Number(m.timestamp),
        headers: (m.headers ?? {}) as KafkaRecord['headers'],
        value: m.value ?? Buffer.alloc(0),
        ack: () => {
          if (acked) return;
          acked = true;
          state.acked++;
          this.inFlight--;
          this.pump();
        },
        // A reading waiting in its window for later input does not count (KafkaRecord.hold).
        hold: (held) => {
          this.inFlight += held ? -1 : 1;
          if (held) this.pump();
        },
      };
      p.queue.push(record);
      p.position = offset + 1;
    }
    if (!batch.isEmpty()) {
      p.position = Math.max(p.position, Math.min(p.range.end, Number(batch.lastOffset()) + 1));
    }
    const consumer = this.consumer;
    if (consumer && !p.paused && (this.complete(p) || p.queue.length >= this.maxBuffered)) {
      p.paused = true;
      consumer.pause([{ topic: this.opts.topic, partitions: [p.range.partition] }]);
    }
    this.pump();
  }

  /**
   * Hands on records while there is room: the head with the smallest (timestamp,
   * partition) among the partitions still in the range. A partition with an empty queue
   * that is not complete holds the merge until its next batch: that is what makes the
   * order independent of fetch timing.
   */
  private pump(): void {
    if (this.pumping || this.closed || !this.subscriber) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.inFlight >= this.maxInFlight) return;
        let best: PartitionState | null = null;
        let waiting = false;
        for (const p of this.partitions) {
          const head = p.queue[0];
          if (head === undefined) {
            if (!this.complete(p)) waiting = true;
            continue;
          }
          const top = best?.queue[0];
          if (top === undefined || head.timestamp < top.timestamp) best = p;
        }
        if (waiting) return;
        if (best === null) {
          // Everything is handed on. Completing now, not after the last ack, lets the
          // consumers flush (micro-batches) and finish what they hold; records they never
          // ack (a sensor window's trailing readings with stride > 1) cannot hold it up.
          this.finish();
          return;
        }
        if (!this.allowed()) return;
        const record = best.queue.shift()!;
        best.read++;
        this.inFlight++;
        this.emitted++;
        if (best.paused && !this.complete(best) && best.queue.length <= this.maxBuffered / 2) {
          best.paused = false;
          this.consumer?.resume([{ topic: this.opts.topic, partitions: [best.range.partition] }]);
        }
        this.subscriber.next(record);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The rate limit: true when one more record may go now, else a timer pumps later. */
  private allowed(): boolean {
    const rate = this.opts.rate;
    if (rate === undefined || rate === null) return true;
    const now = Date.now();
    if (this.emitted === 0) this.firstEmit = now;
    const due = this.firstEmit + (this.emitted / rate) * 1000;
    if (due <= now) return true;
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, due - now);
    }
    return false;
  }

  private finish(): void {
    const subscriber = this.subscriber;
    if (!subscriber || this.closed || this.finished) return;
    this.finished = true;
    logger.info({ topic: this.opts.topic, records: this.emitted }, 'range read complete');
    subscriber.complete();
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    const error = err instanceof AeError ? err : kafkaError(`reading ${this.opts.topic}`, err);
    this.subscriber?.error(error);
  }

  /** Stops fetching and leaves the throwaway group (it has no offsets to clean up). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const consumer = this.consumer;
    this.consumer = null;
    return consumer ? consumer.disconnect().catch(() => undefined) : Promise.resolve();
  }
}
