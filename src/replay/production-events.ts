import type { Admin, Kafka } from 'kafkajs';
import { concatMap, from, lastValueFrom } from 'rxjs';
import { createAvroCodec } from '../codecs/avro-codec';
import type { AnomalyEvent } from '../core/records';
import { KafkaRangeSource } from '../connectors/kafka/kafka-range-source';
import { rangeSize, resolveRange, type PartitionRange } from '../connectors/kafka/offset-range';

/**
 * Production's events for the replayed input records: the whole anomaly topic as it is
 * now, read with a throwaway group, keeping the events whose input coordinates lie in
 * `ranges` of `inputTopic`. (Event timestamps are frame times, not the input's broker
 * times, so the topic cannot be narrowed by time safely.)
 */
export async function productionEvents(
  kafka: Kafka,
  admin: Admin,
  anomalyTopic: string,
  inputTopic: string,
  ranges: readonly PartitionRange[],
  groupId: string,
): Promise<{ events: AnomalyEvent[]; unreadable: number }> {
  if (!(await admin.listTopics()).includes(anomalyTopic)) return { events: [], unreadable: 0 };
  const all = await resolveRange(admin, anomalyTopic, { kind: 'earliest' }, { kind: 'latest' });
  const inRange = new Map(ranges.map((r) => [r.partition, r]));
  const codec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
  const events: AnomalyEvent[] = [];
  let unreadable = 0;
  if (rangeSize(all) > 0) {
    const source = new KafkaRangeSource({ kafka, topic: anomalyTopic, ranges: all, groupId });
    await lastValueFrom(
      source.records().pipe(
        concatMap((record) =>
          from(
            (async () => {
              try {
                const e = await codec.decode(record.value, record.headers);
                const r = inRange.get(e.input.partition);
                if (
                  e.input.topic === inputTopic &&
                  r !== undefined &&
                  e.input.offset >= r.start &&
                  e.input.offset < r.end
                )
                  events.push(e);
              } catch {
                unreadable++;
              }
              record.ack();
            })(),
          ),
        ),
      ),
      { defaultValue: undefined },
    );
    await source.disconnected();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return { events, unreadable };
}
