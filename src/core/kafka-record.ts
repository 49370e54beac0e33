import type { AeError } from './errors';

/** Header values as kafkajs hands them over, or plain strings. */
export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type Headers = Record<string, HeaderValue>;

/** One message from a Kafka topic as the source hands it on, with the ack that lets it be committed. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  /** Offset as kafkajs gives it (a decimal string; offsets may exceed 2^53 in theory). */
  offset: string;
  key: Buffer | null;
  /** Broker/producer timestamp, ms since the epoch. */
  timestamp: number;
  headers: Headers;
  value: Buffer;
  /**
   * Says every sink has this record. Offsets are committed only up to the first record
   * not yet acked in its partition (at-least-once). Acking twice is harmless.
   */
  ack(): void;
  /**
   * Drops the payload (key, value, headers) once nothing reads it any more (past the
   * dead-letter step): the records in flight stay small, which is what young-generation
   * collections pay for. Optional: records that do not implement it keep theirs.
   */
  release?(): void;
  /**
   * Says the record waits in its source's window for later readings (true), or no longer
   * (false). A held record stays unacked but does not count against the source's in-flight
   * bound: only more input can complete its window, so waiting for its ack would stall.
   * Optional, like `release`.
   */
  hold?(held: boolean): void;
}

/** A record after a step that can fail: decoded/validated, or carrying why it was not. */
export type Outcome<T> =
  { ok: true; record: KafkaRecord; value: T } | { ok: false; record: KafkaRecord; error: AeError };

/** A record that made it through decoding and validation. */
export type Accepted<T> = Extract<Outcome<T>, { ok: true }>;
