import { contributionsOf, type Judged } from '../core/model-input';
import type { AnomalyEvent } from '../core/records';

type Severity = AnomalyEvent['severity'];

/**
 * How far past its threshold a score is, as a coarse severity: LOW just above it,
 * MEDIUM from 1.5x, HIGH from 3x, CRITICAL from 10x.
 */
export function severityOf(score: number, threshold: number): Severity {
  const ratio = threshold > 0 ? score / threshold : Infinity;
  if (ratio >= 10) return 'CRITICAL';
  if (ratio >= 3) return 'HIGH';
  if (ratio >= 1.5) return 'MEDIUM';
  return 'LOW';
}

/**
 * The AnomalyEvent of a judged input. Its id is the input coordinates of the record that
 * completed the input (`topic-partition-offset`), so a redelivered frame gives the same id
 * and consumers can dedupe.
 *
 * @example toAnomalyEvent(judged, 'sensors') // { id: 'sensors.frames-2-1041', severity: 'HIGH', ... }
 */
export function toAnomalyEvent<F>(
  judged: Judged<F>,
  pipeline: string,
  now = Date.now(),
): AnomalyEvent {
  const { record } = judged.last;
  const threshold = judged.threshold ?? 0;
  const tail = judged.probability > 0 ? 1 - judged.probability : null;
  return {
    id: `${record.topic}-${record.partition}-${record.offset}`,
    source: judged.key,
    eventTime: eventTimeOf(judged),
    detectionTime: now,
    score: judged.score,
    threshold,
    tailProbability: tail,
    severity: severityOf(judged.score, threshold),
    modelVersion: judged.modelVersion,
    pipeline,
    contributions: contributionsOf(judged),
    input: { topic: record.topic, partition: record.partition, offset: Number(record.offset) },
  };
}

/** The event time of a judged input: its last frame's time, else the record's timestamp. */
export function eventTimeOf<F>(judged: Judged<F>): number {
  const value = judged.last.value as { time?: unknown };
  return typeof value.time === 'number' ? value.time : judged.last.record.timestamp;
}
