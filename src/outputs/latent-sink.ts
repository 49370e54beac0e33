import type { IPoint } from 'influx';
import { eventTimeOf } from '../codecs/anomaly-events';
import type { RecordCodec } from '../codecs/avro-codec';
import type { Judged, BatchSink } from '../core/model-input';
import { keyedMessage, type MessageWriter } from './anomaly-event-sink';
import type { OutboundMessage } from '../connectors/kafka/kafka-sink';
import type { PointWriter } from './score-sink';

/** A LatentVector record (schemas/latent-vector.avsc) as the codec takes and gives it. */
export interface LatentVector {
  id: string;
  source: string;
  eventTime: number;
  modelVersion: string;
  pipeline: string;
  partial: boolean;
  vector: number[];
}

function latentOf<F>(judged: Judged<F>): Float32Array {
  if (judged.latent === undefined) {
    throw new Error('latent output: the scored input carries no latent vector');
  }
  return judged.latent;
}

/**
 * The LatentVector of a judged input. Its id is the input coordinates of the record that
 * completed the input, like the anomaly event's, so redeliveries can be deduped.
 *
 * @example toLatentVector(judged, 'sensors') // { id: 'sensors.frames-0-17', vector: [0.1, -2.3, ...], ... }
 */
export function toLatentVector<F>(judged: Judged<F>, pipeline: string): LatentVector {
  const { record } = judged.last;
  return {
    id: `${record.topic}-${record.partition}-${record.offset}`,
    source: judged.key,
    eventTime: eventTimeOf(judged),
    modelVersion: judged.modelVersion,
    pipeline,
    partial: judged.partial === true,
    vector: Array.from(latentOf(judged)),
  };
}

/**
 * The latent output: one LatentVector per scored input (keyed by source, timestamped with
 * its event time), from the same inference pass that scored it. `write` resolves when the
 * writer acked them all.
 *
 * @example new LatentSink(kafkaSink, createAvroCodec('latent-vector.avsc'), 'sensors')
 */
export class LatentSink<F> implements BatchSink<F> {
  readonly name = 'latent-vectors';

  constructor(
    private readonly writer: MessageWriter,
    private readonly codec: RecordCodec<LatentVector>,
    private readonly pipeline: string,
  ) {}

  async write(batch: readonly Judged<F>[]): Promise<void> {
    const messages: OutboundMessage[] = batch.map((judged) => {
      const vector = toLatentVector(judged, this.pipeline);
      return keyedMessage(this.codec, vector.source, vector, vector.eventTime);
    });
    if (messages.length > 0) await this.writer.sendMany(messages);
  }
}

/**
 * The `latent` measurement: the first two latent dimensions of every scored input (fields
 * z0, z1; tags pipeline, source, model), so Grafana can plot each source's path through
 * the latent space. Timestamped with the event time, so a redelivery overwrites its point.
 *
 * @example new LatentPointSink(influxSink, 'sensors')
 */
export class LatentPointSink<F> implements BatchSink<F> {
  readonly name = 'influx-latent';

  constructor(
    private readonly writer: PointWriter,
    private readonly pipeline: string,
  ) {}

  async write(batch: readonly Judged<F>[]): Promise<void> {
    const points: IPoint[] = batch.map((judged) => {
      const z = latentOf(judged);
      const fields: Record<string, number> = { z0: z[0] ?? 0 };
      if (z.length > 1) fields.z1 = z[1] as number;
      return {
        measurement: 'latent',
        tags: { pipeline: this.pipeline, source: judged.key, model: judged.modelVersion },
        fields,
        timestamp: new Date(eventTimeOf(judged)),
      };
    });
    await this.writer.writePoints(points);
  }
}
