import type { Kafka } from 'kafkajs';
import type { Observable } from 'rxjs';
import type { ModelRelease } from '../core/records';
import { ErrorCodes } from '../core/errors';
import { ensureSharedTopic, PipelineTopicSource } from '../connectors/kafka/pipeline-topic-source';

/**
 * Makes sure the releases topic exists as a compacted topic (the latest release per
 * pipeline key is kept forever); a no-op when it exists.
 */
export function ensureReleaseTopic(kafka: Kafka, topic: string): Promise<void> {
  return ensureSharedTopic(kafka, topic, { compact: true });
}

/**
 * The releases of one pipeline on the releases topic, from the start of the (compacted)
 * topic, then as they are published. Each detector reads with a group of its own, so
 * every detector sees every release. A record that does not decode is logged and skipped:
 * a bad release must never stop the detector.
 *
 * @example
 * const source = new ReleaseSource(kafka, 'aestream.models', 'sensors');
 * source.releases().subscribe((r) => swapTo(r));
 * await source.stop();
 */
export class ReleaseSource {
  private readonly source: PipelineTopicSource<ModelRelease>;

  constructor(kafka: Kafka, topic: string, pipeline: string) {
    this.source = new PipelineTopicSource<ModelRelease>(kafka, {
      topic,
      pipeline,
      recordType: 'ModelRelease',
      what: 'model release',
      badRecordCode: ErrorCodes.MODEL_CORRUPT,
      compact: true,
    });
  }

  releases(): Observable<ModelRelease> {
    return this.source.records();
  }

  /** Leaves the group and disconnects; resolves when done. */
  stop(): Promise<void> {
    return this.source.stop();
  }
}
