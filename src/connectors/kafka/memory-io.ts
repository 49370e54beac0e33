import type { IPoint } from 'influx';
import type { AeError } from '../../core/errors';
import type { KafkaRecord } from '../../core/kafka-record';
import type { OutboundMessage } from './kafka-sink';

/**
 * In-process stand-ins for Kafka topics, InfluxDB and the dead-letter topic: what the
 * embedded demo runs on when no services are there, and what unit tests of the assembled
 * detector use. They implement the same small interfaces as the real adapters.
 */

/** A record as the Kafka source hands it on, counting its acks. */
export interface MemoryRecord extends KafkaRecord {
  acks: number;
}

/**
 * Builds records of one in-memory topic: partition by key hash, offsets counting up per
 * partition, like a broker would assign them.
 */
export class MemoryTopic {
  private readonly next: number[];

  constructor(
    readonly name: string,
    readonly partitions = 3,
  ) {
    this.next = new Array<number>(partitions).fill(0);
  }

  record(
    key: string,
    value: Buffer,
    headers: Record<string, string> = {},
    timestamp = Date.now(),
  ): MemoryRecord {
    const partition = partitionOf(key, this.partitions);
    const offset = this.next[partition]++;
    const record: MemoryRecord = {
      topic: this.name,
      partition,
      offset: String(offset),
      key: Buffer.from(key),
      timestamp,
      headers: { ...headers },
      value,
      acks: 0,
      ack: () => {
        record.acks++;
      },
    };
    return record;
  }
}

/** A stable partition for a key (FNV-1a; not Kafka's murmur2, which only matters across systems). */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** Collects dead letters with their reason codes. */
export class MemoryDlq {
  readonly letters: Array<{ record: KafkaRecord; reason: string; message: string }> = [];

  async send(record: KafkaRecord, error: AeError): Promise<void> {
    this.letters.push({ record, reason: error.code, message: error.message });
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const l of this.letters) counts[l.reason] = (counts[l.reason] ?? 0) + 1;
    return counts;
  }
}

/** Collects produced messages. `gate`, when set, holds writes until it resolves. */
export class MemoryMessages {
  readonly messages: OutboundMessage[] = [];
  gate: Promise<void> | null = null;

  async sendMany(messages: readonly OutboundMessage[]): Promise<void> {
    if (this.gate) await this.gate;
    this.messages.push(...messages);
  }
}

/** Collects InfluxDB points. `gate`, when set, holds writes (counted in `held`) until it resolves. */
export class MemoryPoints {
  readonly points: IPoint[] = [];
  gate: Promise<void> | null = null;
  held = 0;

  async writePoints(points: readonly IPoint[]): Promise<void> {
    if (this.gate) {
      this.held++;
      await this.gate;
      this.held--;
    }
    this.points.push(...points);
  }
}
