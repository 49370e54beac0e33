import type { RecordCodec } from '../codecs/avro-codec';
import { toAnomalyEvent } from '../codecs/anomaly-events';
import type { AnomalyEvent } from '../core/records';
import type { Judged, BatchSink } from '../core/model-input';
import type { OutboundMessage } from '../connectors/kafka/kafka-sink';
import { EventRules, type EventDecision, type EventRulesConfig } from './event-rules';

/**
 * Kafka header of the event that closes an incident (`output.events.rule: incident`), value
 * `incident-end`; other events have none. A header, so the AnomalyEvent schema is unchanged.
 */
export const EVENT_KIND_HEADER = 'ae.event';

/** Where encoded events go: a KafkaSink, or an in-memory list in the demo. */
export interface MessageWriter {
  sendMany(messages: readonly OutboundMessage[]): Promise<void>;
}

/** A record as a message of the output topics: encoded with the codec's headers, keyed and timestamped. */
export function keyedMessage<T>(
  codec: RecordCodec<T>,
  key: string,
  record: T,
  timestamp: number,
): OutboundMessage {
  return { key, value: codec.encode(record), headers: { ...codec.headers }, timestamp };
}

/**
 * The anomaly output: judged inputs with the verdict `anomaly` become Avro AnomalyEvents
 * keyed by their source, timestamped with their event time: every one, or those the
 * pipeline's event rules (`output.events`) pass, plus the end events of the `incident` rule
 * (header EVENT_KIND_HEADER). `write` resolves when the writer acked all of them (at once for a batch
 * without events).
 *
 * @example new AnomalyEventSink(kafkaSink, createAvroCodec('AnomalyEvent'), 'sensors', (e) => log(e))
 */
export class AnomalyEventSink<F> implements BatchSink<F> {
  readonly name = 'anomaly-events';

  constructor(
    private readonly writer: MessageWriter,
    private readonly codec: RecordCodec<AnomalyEvent> & {
      headers?: Readonly<Record<string, string>>;
    },
    private readonly pipeline: string,
    private readonly onEvent?: (event: AnomalyEvent, end: boolean) => void,
    rules: EventRulesConfig = { rule: 'every', k: 1, n: 1 },
  ) {
    this.rules = new EventRules(rules);
  }

  /** The event rules' per-source state (kept in the state changelog by `detect`). */
  readonly rules: EventRules;
  private readonly decided = new WeakMap<Judged<F>, EventDecision>();

  /** Decides the batch's events now, in judge order: its sources' rule state is then this batch's. */
  prepare(batch: readonly Judged<F>[]): void {
    // A stateless rule decides the same at write time: no entry per input, since every
    // WeakMap entry is an ephemeron that each young-generation collection must visit.
    if (this.rules.stateless) return;
    for (const j of batch) this.decided.set(j, this.rules.decide(j));
  }

  async write(batch: readonly Judged<F>[]): Promise<void> {
    const now = Date.now();
    const messages: OutboundMessage[] = [];
    for (const judged of batch) {
      const decision = this.decided.get(judged) ?? this.rules.decide(judged);
      if (decision === 'none') continue;
      const event = toAnomalyEvent(judged, this.pipeline, now);
      const end = decision === 'end';
      const headers = {
        ...this.codec.headers,
        ...(end ? { [EVENT_KIND_HEADER]: 'incident-end' } : {}),
      };
      messages.push({
        key: event.source,
        value: this.codec.encode(event),
        headers: Object.keys(headers).length > 0 ? headers : undefined,
        timestamp: event.eventTime,
      });
      this.onEvent?.(event, end);
    }
    if (messages.length > 0) await this.writer.sendMany(messages);
  }
}
