import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { Observable, type Subscriber } from 'rxjs';
import { AeError, ErrorCodes, messageOf } from '../../core/errors';
import { noteUncommitted } from '../../core/lifecycle';
import { logger } from '../../observability/logger';
import { createKafka } from './kafka-client';
import type { Headers, KafkaRecord } from '../../core/kafka-record';
import { isRetriableKafkaError, kafkaError } from './kafka-errors';
import { OffsetTracker } from './offset-tracker';
import { waitForTopic } from './topic-wait';
import { DEFAULT_COMMIT_INTERVAL_MS, DEFAULT_MAX_IN_FLIGHT } from '../connector-config';
import { backoffDelay } from '../retry';

export interface KafkaSourceOptions {
  brokers: string | string[];
  topic: string;
  group: string;
  clientId?: string;
  /** Where a group without committed offsets starts (default false: the latest offset). */
  fromBeginning?: boolean;
  /** Create the topic when it does not exist, instead of waiting for it (default false). */
  createTopic?: boolean;
  /**
   * Records handed downstream and not yet acked, per partition, before its batch waits for
   * half of them to be acked (default `DEFAULT_MAX_IN_FLIGHT`).
   */
  maxInFlight?: number;
  /** How often acked offsets are committed (default `DEFAULT_COMMIT_INTERVAL_MS`). */
  commitIntervalMs?: number;
  /** Longest a graceful stop waits for in-flight records to be acked (default 10,000 ms). */
  shutdownMs?: number;
  /** Partitions processed at once by kafkajs (default 3). */
  partitionsConcurrently?: number;
  /** kafkajs session timeout (default 10,000 ms; the broker allows 6,000 and up). */
  sessionTimeoutMs?: number;
  /**
   * Longest a fetch waits for data (default 200 ms). kafkajs also sleeps this long when every
   * partition is paused, so it bounds how late a resumed partition starts again.
   */
  maxWaitMs?: number;
  /** Reuse a kafkajs client (otherwise one is made from brokers/clientId). */
  kafka?: Kafka;
  /**
   * Called when the group assigns partitions (with those of the previous generation); no
   * record of the new generation is handed on before it resolves. A rejection ends the stream.
   */
  onAssign?: (assigned: number[], previous: number[]) => Promise<void>;
  /**
   * Called before each commit; offsets are committed only once it resolved, and per
   * partition at most up to the offset it gives (the state it wrote covers no more).
   */
  beforeCommit?: () => Promise<ReadonlyMap<number, number> | void>;
}

export interface StopResult {
  /** True when every record handed downstream was acked before the deadline. */
  drained: boolean;
  /** Records still unacked at the deadline; they will be redelivered to the next consumer. */
  inFlight: number;
}

/** How often a batch waiting for acks heartbeats (kafkajs sends one only when it is due). */
const WAIT_HEARTBEAT_MS = 1_000;

/** Bytes a fetch may return per partition (kafkajs's default is 1 MiB). */
const FETCH_BYTES_PER_PARTITION = 256 * 1024;

/**
 * A Kafka topic as an Observable of records, at-least-once: a record's offset is committed
 * only after its `ack()` and the acks of every earlier record of its partition. Built on
 * kafkajs `eachBatch`; a partition with `maxInFlight` unacked records waits, in the middle of
 * its batch, until half of them are acked: kafkajs fetches nothing more from that broker
 * meanwhile, so a slow sink slows the fetch instead of filling memory, and what the fetch
 * already decoded is handed on after the wait, not dropped and fetched again.
 *
 * One subscriber at a time; subscribing starts the consumer, `stop()` (or SIGTERM/SIGINT
 * after `handleSignals()`) stops fetching, completes the stream, waits for in-flight acks
 * up to `shutdownMs`, commits and disconnects.
 *
 * @example
 * const source = new KafkaSource({ brokers: '127.0.0.1:9092', topic: 'sensors.frames', group: 'g' });
 * source.records().pipe(
 *   mergeMap(async (r) => { await sink.send(toMessage(r)); r.ack(); }),
 * ).subscribe();
 * source.handleSignals();
 */
export class KafkaSource {
  private readonly kafka: Kafka;
  private readonly opts: Required<
    Omit<KafkaSourceOptions, 'kafka' | 'brokers' | 'clientId' | 'onAssign' | 'beforeCommit'>
  >;
  private readonly hooks: Pick<KafkaSourceOptions, 'onAssign' | 'beforeCommit'>;
  /** The current generation's onAssign: batches wait for it. */
  private assigning: Promise<boolean> = Promise.resolve(true);
  private consumer: Consumer | undefined;
  private subscriber: Subscriber<KafkaRecord> | undefined;
  private trackers = new Map<number, OffsetTracker>();
  /** Wakes the batch of each partition waiting for acks (maxInFlight reached). */
  private readonly waiting = new Map<number, () => void>();
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private stopping: Promise<StopResult> | undefined;
  private drainWaiter: (() => void) | undefined;
  private commitFailures = 0;
  private pauseCount = 0;
  private assignment: number[] = [];
  /** Restarts after transient crashes since the last group join (sets the backoff). */
  private restarts = 0;
  private running = false;

  constructor(options: KafkaSourceOptions) {
    this.kafka =
      options.kafka ?? createKafka({ brokers: options.brokers, clientId: options.clientId });
    this.opts = {
      topic: options.topic,
      group: options.group,
      fromBeginning: options.fromBeginning ?? false,
      createTopic: options.createTopic ?? false,
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      commitIntervalMs: options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
      shutdownMs: options.shutdownMs ?? 10_000,
      partitionsConcurrently: options.partitionsConcurrently ?? 3,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      maxWaitMs: options.maxWaitMs ?? 200,
    };
    this.hooks = { onAssign: options.onAssign, beforeCommit: options.beforeCommit };
  }

  /** The records of the topic; errors only on infrastructure faults (AE_ERR_KAFKA). */
  records(): Observable<KafkaRecord> {
    return new Observable<KafkaRecord>((subscriber) => {
      if (this.subscriber) {
        subscriber.error(new Error('KafkaSource supports one subscriber; share() the stream'));
        return;
      }
      this.subscriber = subscriber;
      this.start().catch((err: unknown) => {
        subscriber.error(kafkaError(`source ${this.opts.topic}`, err));
      });
      return () => {
        void this.stop();
      };
    });
  }

  /** Records handed downstream and not yet acked, over all partitions. */
  inFlight(): number {
    let n = 0;
    for (const t of this.trackers.values()) n += t.inFlight;
    return n;
  }

  /** Times a partition's batch waited because downstream was behind (since start). */
  get pauses(): number {
    return this.pauseCount;
  }

  /** Partitions of the topic assigned to this consumer in the current generation. */
  assignedPartitions(): number[] {
    return [...this.assignment];
  }

  /** Partitions whose batch is waiting because downstream is behind. */
  pausedPartitions(): number[] {
    return [...this.waiting.keys()];
  }

  /**
   * Stops gracefully: no more fetching, the stream completes, in-flight records get up to
   * `deadlineMs` to be acked, acked offsets are committed, the consumer disconnects.
   */
  stop(deadlineMs = this.opts.shutdownMs): Promise<StopResult> {
    this.stopping ??= this.shutdown(deadlineMs, true);
    return this.stopping;
  }

  /**
   * Disconnects at once without committing anything more: what a crash leaves behind.
   * For tests and for a restart policy that must not commit after a fault.
   */
  abort(): Promise<StopResult> {
    this.stopping ??= this.shutdown(0, false);
    return this.stopping;
  }

  /** SIGTERM/SIGINT stop the source gracefully; returns a function that removes the handlers. */
  handleSignals(deadlineMs = this.opts.shutdownMs): () => void {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal, topic: this.opts.topic }, 'stopping: draining in-flight records');
      void this.stop(deadlineMs);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    return () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
  }

  private async start(): Promise<void> {
    const { topic, group, createTopic } = this.opts;
    const stopped = () => this.stopping !== undefined;
    if (!(await waitForTopic(this.kafka, topic, { create: createTopic, cancelled: stopped }))) {
      return;
    }
    if (!this.opts.fromBeginning) await this.pinStartOffsets();
    if (stopped()) return;
    await this.startConsumer();
    this.running = true;
    const newGroupStarts = this.opts.fromBeginning ? 'earliest' : 'latest';
    logger.info({ topic, group, newGroupStarts }, 'kafka source started');
    this.commitTimer = setInterval(() => void this.commit(), this.opts.commitIntervalMs);
    this.commitTimer.unref();
  }

  /** A consumer that joins the group and hands batches to onBatch. */
  private async startConsumer(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.opts.group,
      sessionTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(this.opts.sessionTimeoutMs / 3)),
      maxWaitTimeInMs: this.opts.maxWaitMs,
      // kafkajs decodes a whole fetch before onBatch: at its default (1 MiB, ~12,000 sensor
      // records) a fetch often outgrew maxInFlight, and what a pause cut off was decoded for
      // nothing and fetched again. A quarter keeps a fetch within it and fewer records alive.
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = e.payload.memberAssignment[this.opts.topic] ?? [];
      if (this.stopping) {
        // Draining for a stop (another member left meanwhile): nothing is fetched any more,
        // so what was handed on is still ours to commit in the partitions kept.
        const kept = new Set(assigned);
        this.trackers = new Map([...this.trackers].filter(([p]) => kept.has(p)));
        this.drainedMaybe();
      } else {
        // A new generation refetches from the committed offsets: acks of older deliveries
        // must not move the new commits, so the trackers start over.
        this.trackers = new Map();
        // A batch waiting for acks of the old generation's records gives up (they no longer
        // count): kafkajs refetches what it did not hand on.
        this.wakeWaiting();
      }
      const previous = this.assignment;
      this.assignment = assigned;
      this.assigning = this.assigned(assigned, previous);
      this.restarts = 0;
      logger.info(
        { topic: this.opts.topic, group: this.opts.group, partitions: assigned },
        'partitions assigned',
      );
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.stopping) return;
      // kafkajs gives up on some states a broker restart passes through (e.g. "Failed to
      // find group coordinator" while the restarted broker loads the group offsets), and
      // does not restart its consumer then: do it here, for as long as the state lasts.
      if (isRetriableKafkaError(e.payload.error)) {
        void this.restartConsumer(consumer, e.payload.error);
        return;
      }
      this.subscriber?.error(kafkaError('consumer crashed', e.payload.error));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.opts.topic], fromBeginning: this.opts.fromBeginning });
    // A stop during the connect (Ctrl-C while joining) has disconnected it: do not start fetching.
    if (this.stopping) return;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrently,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /**
   * Replaces a consumer that crashed on a transient error with a new one, after a backoff
   * that grows while the error lasts. The new member rejoins the group and refetches from
   * the committed offsets; what the old one handed on and is acked later is ignored.
   */
  private async restartConsumer(crashed: Consumer, err: unknown): Promise<void> {
    if (this.consumer !== crashed || this.stopping) return;
    const delayMs = backoffDelay(Math.min(this.restarts++, 6));
    logger.warn(
      { topic: this.opts.topic, group: this.opts.group, err: messageOf(err), delayMs },
      'kafka consumer stopped on a transient error; starting it again',
    );
    await crashed.disconnect().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (this.stopping) return;
    try {
      await this.startConsumer();
    } catch (next) {
      if (isRetriableKafkaError(next) && this.consumer) {
        await this.restartConsumer(this.consumer, next);
        return;
      }
      this.subscriber?.error(kafkaError('consumer cannot restart', next));
    }
  }

  /**
   * A group that starts "from the latest offset" and crashes before its first commit on a
   * partition would restart from the then-latest offset, skipping every record in between.
   * So before joining, partitions without a committed offset get one: the current end.
   * Best effort: with other members already running (they own the commits) it is skipped.
   */
  private async pinStartOffsets(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const [committed] = await admin.fetchOffsets({
        groupId: this.opts.group,
        topics: [this.opts.topic],
      });
      const missing = (committed?.partitions ?? []).filter((p) => p.offset === '-1');
      if (missing.length === 0) return;
      const ends = await admin.fetchTopicOffsets(this.opts.topic);
      await admin.setOffsets({
        groupId: this.opts.group,
        topic: this.opts.topic,
        partitions: missing.map((p) => ({
          partition: p.partition,
          offset: ends.find((e) => e.partition === p.partition)?.high ?? '0',
        })),
      });
    } catch (err) {
      logger.debug({ topic: this.opts.topic, err: messageOf(err) }, 'start offsets not pinned');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Runs onAssign; false (and the stream errored) when it failed. */
  private async assigned(assigned: number[], previous: number[]): Promise<boolean> {
    const onAssign = this.hooks.onAssign;
    if (!onAssign) return true;
    // Earlier generations' hooks first: they restore and forget in order.
    await this.assigning;
    try {
      await onAssign(assigned, previous);
      return true;
    } catch (err) {
      this.subscriber?.error(err instanceof AeError ? err : kafkaError('partitions assigned', err));
      return false;
    }
  }

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (!(await this.assigning)) return;
    let tracker = this.trackers.get(partition);
    if (!tracker) {
      tracker = new OffsetTracker();
      this.trackers.set(partition, tracker);
    }
    const subscriber = this.subscriber;
    // The last offset handed on, resolved once per batch: kafkajs parses and stores each
    // resolved offset (a Long per call), which showed in profiles when done per message.
    let handedOn: string | undefined;
    // kafkajs's consumer stops or seeks only in steps of its own, never during this loop (it
    // does not await): checked once per batch (isStale builds a string key per call).
    const current = isRunning() && !isStale();
    for (const m of batch.messages) {
      if (this.stopping || !current || !subscriber || subscriber.closed) break;
      if (tracker.waitingOnDownstream >= this.opts.maxInFlight) {
        // Waiting here rather than pausing the partition: a pause dropped the rest of this
        // batch (decoded for nothing, fetched again), and a short wait keeps few records alive.
        if (handedOn !== undefined) resolveOffset(handedOn);
        this.pauseCount++;
        await this.untilAcked(partition, tracker, heartbeat);
        if (this.stopping || subscriber.closed || this.trackers.get(partition) !== tracker) break;
        if (!isRunning() || isStale()) break;
      }
      const offset = Number(m.offset);
      tracker.track(offset);
      subscriber.next(
        new FetchedRecord(
          topic,
          partition,
          m.offset,
          m.key,
          Number(m.timestamp),
          (m.headers ?? {}) as Headers,
          m.value ?? Buffer.alloc(0),
          this,
          tracker,
          offset,
        ),
      );
      handedOn = m.offset;
    }
    if (handedOn !== undefined) resolveOffset(handedOn);
    await heartbeat();
  }

  /**
   * Resolves once the partition may go on (`mayResume`), or the source stops, or a new
   * generation starts; heartbeats meanwhile (a rebalance throws out of the batch).
   */
  private async untilAcked(
    partition: number,
    tracker: OffsetTracker,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    while (!this.mayResume(tracker) && !this.stopping && this.trackers.get(partition) === tracker) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiting.set(partition, resolve);
        timer = setTimeout(resolve, WAIT_HEARTBEAT_MS);
      });
      clearTimeout(timer);
      this.waiting.delete(partition);
      await heartbeat();
    }
  }

  /** A waiting partition goes on once half of its bound is free again. */
  private mayResume(tracker: OffsetTracker): boolean {
    return tracker.waitingOnDownstream <= this.opts.maxInFlight / 2;
  }

  private wakeWaiting(): void {
    for (const wake of this.waiting.values()) wake();
    this.waiting.clear();
  }

  /** A record's ack (FetchedRecord.ack). */
  onAck(partition: number, tracker: OffsetTracker, offset: number): void {
    tracker.ack(offset);
    this.wakeMaybe(partition, tracker);
    // An older generation's ack wakes nothing, but may be the last a stop waits for.
    this.drainedMaybe();
  }

  /** A record held in a window, or released from it (FetchedRecord.hold). */
  onHold(partition: number, tracker: OffsetTracker, held: boolean): void {
    tracker.held += held ? 1 : -1;
    if (held) this.wakeMaybe(partition, tracker);
  }

  private wakeMaybe(partition: number, tracker: OffsetTracker): void {
    if (this.trackers.get(partition) === tracker) {
      const wake = this.waiting.get(partition);
      if (wake && this.mayResume(tracker)) {
        this.waiting.delete(partition);
        wake();
      }
    }
  }

  private drainedMaybe(): void {
    if (this.drainWaiter && this.inFlight() === 0) this.drainWaiter();
  }

  private stopCommits(): void {
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.commitTimer = undefined;
  }

  /** Commits every partition's contiguous acked prefix; commits never overlap. */
  commit(): Promise<void> {
    this.committing = this.committing.then(async () => {
      const consumer = this.consumer;
      if (!consumer) return;
      try {
        // What the hook writes (the sources' state) bounds what may be committed. It runs
        // even when nothing is ready: its write is what acknowledges redelivered records
        // held back until the state covers them, which may be all a partition starts with.
        const limits = await this.hooks.beforeCommit?.();
        const offsets: Array<{ topic: string; partition: number; offset: string }> = [];
        const done: Array<[OffsetTracker, number]> = [];
        for (const [partition, t] of this.trackers) {
          const next = t.commitOffset();
          if (next === undefined) continue;
          const limit = limits?.get(partition);
          const offset = limit === undefined ? next : Math.min(next, limit);
          if (offset <= (t.lastCommitted ?? -1)) continue;
          offsets.push({ topic: this.opts.topic, partition, offset: String(offset) });
          done.push([t, offset]);
        }
        if (offsets.length === 0) return;
        await consumer.commitOffsets(offsets);
        for (const [t, next] of done) t.markCommitted(next);
        if (this.commitFailures > 0)
          logger.info({ topic: this.opts.topic }, 'offset commits work again');
        this.commitFailures = 0;
      } catch (err) {
        // Expected during a rebalance; the next generation recommits from its own acks.
        if (this.commitFailures++ === 0) {
          logger.warn(
            { topic: this.opts.topic, err: messageOf(err) },
            'offset commit failed; will retry',
          );
        }
      }
    });
    return this.committing;
  }

  /**
   * Resolves when the source has stopped (stop, abort or signal) and its consumer left the
   * group, with what was left unacked. Records still unacked then are never acked by the
   * caller's stages in time: a run ends without waiting for them.
   */
  private onStopped: (result: StopResult) => void = () => undefined;
  readonly stopped: Promise<StopResult> = new Promise((resolve) => (this.onStopped = resolve));

  private async shutdown(deadlineMs: number, graceful: boolean): Promise<StopResult> {
    // Let stop() store its promise first: completing the stream below re-enters stop().
    await Promise.resolve();
    // A batch waiting for acks returns now (kafkajs's disconnect waits for it).
    this.wakeWaiting();
    const consumer = this.consumer;
    // Stop fetching: batches would otherwise be refetched in a loop while we drain.
    if (consumer && graceful && this.running) {
      try {
        consumer.pause([{ topic: this.opts.topic }]);
      } catch (err) {
        // a consumer that crashed (or never joined) has nothing to pause
        logger.debug({ topic: this.opts.topic, err: messageOf(err) }, 'pause on stop failed');
      }
    }
    let drained = this.inFlight() === 0;
    // Commits go on while draining: a commit's hook is what acknowledges records held back
    // until their source's state is written.
    if (!graceful || drained) this.stopCommits();
    if (graceful) {
      this.subscriber?.complete();
      if (!drained) {
        void this.commit();
        drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), deadlineMs);
          this.drainWaiter = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        this.drainWaiter = undefined;
        this.stopCommits();
      }
      await this.commit();
    }
    const inFlight = this.inFlight();
    noteUncommitted(inFlight);
    if (consumer) {
      try {
        await consumer.disconnect();
      } catch (err) {
        logger.warn({ err: messageOf(err) }, 'kafka consumer disconnect failed');
      }
    }
    if (!graceful) this.subscriber?.complete();
    if (graceful && !drained) {
      logger.warn(
        { topic: this.opts.topic, inFlight, code: ErrorCodes.SHUTDOWN_TIMEOUT },
        `stopped with ${inFlight} records unacked after ${deadlineMs} ms; they will be redelivered`,
      );
    } else {
      logger.info({ topic: this.opts.topic, graceful }, 'kafka source stopped');
    }
    this.onStopped({ drained, inFlight });
    return { drained, inFlight };
  }
}

/**
 * A fetched record. Its ack is a method, not a closure per record: the records in flight
 * (up to maxInFlight per partition) are what every young-generation collection copies.
 */
class FetchedRecord implements KafkaRecord {
  constructor(
    public topic: string,
    public partition: number,
    public offset: string,
    public key: Buffer | null,
    public timestamp: number,
    public headers: Headers,
    public value: Buffer,
    private readonly source: Pick<KafkaSource, 'onAck' | 'onHold'>,
    private readonly tracker: OffsetTracker,
    private readonly at: number,
  ) {}

  ack(): void {
    this.source.onAck(this.partition, this.tracker, this.at);
  }

  hold(held: boolean): void {
    this.source.onHold(this.partition, this.tracker, held);
  }

  release(): void {
    this.key = null;
    this.value = NO_VALUE;
    this.headers = NO_HEADERS;
  }
}

const NO_VALUE = Buffer.alloc(0);
const NO_HEADERS: Headers = Object.freeze({});
