/**
 * Tracks the records of one partition handed downstream and which of them are acked, so
 * that only a contiguous acked prefix is ever committed: if offset 7 is acked but 5 is not,
 * the commit stays at 5 and a crash redelivers 5, 6 and 7 (at-least-once, never a gap).
 *
 * @example
 * const t = new OffsetTracker();
 * t.track(5); t.track(6); t.track(7);
 * t.ack(7); t.commitOffset();   // undefined: 5 is still in flight
 * t.ack(5); t.ack(6); t.commitOffset();  // 8, the next offset to read
 */
export class OffsetTracker {
  private queue: number[] = [];
  private head = 0;
  private readonly acked = new Set<number>();
  private next: number | undefined;
  private committed: number | undefined;

  /** Of the records in flight, those waiting for later input (`KafkaRecord.hold`). */
  held = 0;

  /** Records emitted from the first one not acked on (what a commit is held back by). */
  get inFlight(): number {
    return this.queue.length - this.head;
  }

  /**
   * Records not acked that wait for downstream, not for more input: what backpressure counts.
   * Not `inFlight`, which also counts records acked behind one that is not (a held reading
   * of one source keeps the commit, not the other sources, back).
   */
  get waitingOnDownstream(): number {
    return this.queue.length - this.head - this.acked.size - this.held;
  }

  /** Registers a record handed downstream; offsets arrive in increasing order per partition. */
  track(offset: number): void {
    this.queue.push(offset);
  }

  /** Marks a record done; advances the committable offset over the contiguous acked prefix. */
  ack(offset: number): void {
    if (this.head >= this.queue.length || offset < this.queue[this.head]) return; // stale or duplicate
    if (offset === this.queue[this.head] && this.acked.size === 0) {
      // In order, the usual case: nothing acked ahead of it, so only the head moves.
      this.head++;
      this.next = offset + 1;
    } else {
      this.acked.add(offset);
      while (this.head < this.queue.length && this.acked.has(this.queue[this.head])) {
        const o = this.queue[this.head++];
        this.acked.delete(o);
        this.next = o + 1;
      }
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** The offset to commit (next to read) when it moved since the last `markCommitted`. */
  commitOffset(): number | undefined {
    return this.next !== undefined && this.next !== this.committed ? this.next : undefined;
  }

  markCommitted(offset: number): void {
    this.committed = offset;
  }

  /** Last committed next-offset, if any. */
  get lastCommitted(): number | undefined {
    return this.committed;
  }
}
