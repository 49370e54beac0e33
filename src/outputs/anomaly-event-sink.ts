import type { RecordCodec } from '../codecs/avro-codec';
import { toAnomalyEvent } from '../codecs/anomaly-events';
import type { AnomalyEvent } from '../core/records';
import type { Judged, BatchSink } from '../core/model-input';
import type { OutboundMessage } from '../connectors/kafka/kafka-sink';

/** Where encoded events go: a KafkaSink, or an in-memory list in the demo. */
export interface MessageWriter {
  sendMany(messages: readonly OutboundMessage[]): Promise<void>;
}

/**
 * The anomaly output: every judged input with the verdict `anomaly` becomes an Avro
 * AnomalyEvent keyed by its source, timestamped with its event time. `write` resolves when
 * the writer acked all of them (at once for a batch without anomalies).
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
    private readonly onEvent?: (event: AnomalyEvent) => void,
  ) {}

  async write(batch: readonly Judged<F>[]): Promise<void> {
    const now = Date.now();
    const messages: OutboundMessage[] = [];
    for (const judged of batch) {
      if (judged.verdict !== 'anomaly') continue;
      const event = toAnomalyEvent(judged, this.pipeline, now);
      messages.push({
        key: event.source,
        value: this.codec.encode(event),
        headers: this.codec.headers ? { ...this.codec.headers } : undefined,
        timestamp: event.eventTime,
      });
      this.onEvent?.(event);
    }
    if (messages.length > 0) await this.writer.sendMany(messages);
  }
}
