import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  register,
  type Registry,
} from 'prom-client';
import { FrameHistogram } from './frame-histogram';

/**
 * The detector's Prometheus metrics, one process-wide set on prom-client's default
 * registry (what /metrics serves). Every metric is created once, even when several
 * modules (or jest re-imports) ask for it.
 */

function once<T>(name: string, create: () => T, registry: Registry = register): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** A counter by name; the same object for every caller. */
export function counter<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  return once(name, () => new Counter<L>({ name, help, labelNames }));
}

export function gauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
): Gauge<L> {
  return once(name, () => new Gauge<L>({ name, help, labelNames }));
}

export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): Histogram<L> {
  return once(name, () => new Histogram<L>({ name, help, labelNames, buckets }));
}

/** A histogram observed per frame (see FrameHistogram); the same object for every caller. */
export function frameHistogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): FrameHistogram<L> {
  return once(name, () => new FrameHistogram<L>(name, help, labelNames, buckets));
}

const latencyBuckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30];

let processMetrics = false;

/**
 * The metrics of one pipeline's detector, labelled with the pipeline name; also the
 * process's own (RSS, heap, event-loop lag, GC: prom-client's defaults), registered once.
 */
export function detectorMetrics() {
  if (!processMetrics && register.getSingleMetric('process_resident_memory_bytes') === undefined) {
    collectDefaultMetrics({ register });
  }
  processMetrics = true;
  return {
    framesIn: counter('aestream_frames_in_total', 'Records read from the input topic.', [
      'pipeline',
    ]),
    framesScored: counter('aestream_frames_scored_total', 'Frames (windows, images) scored.', [
      'pipeline',
    ]),
    anomalies: counter('aestream_anomalies_total', 'Anomaly events emitted.', ['pipeline']),
    consumerLag: gauge('aestream_consumer_lag', 'Messages behind the partition end.', [
      'pipeline',
      'topic',
      'partition',
    ]),
    batchSize: histogram(
      'aestream_batch_size',
      'Frames per inference batch.',
      ['pipeline'],
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    ),
    inferenceSeconds: histogram(
      'aestream_inference_seconds',
      'Time of one batched inference.',
      ['pipeline', 'engine'],
      latencyBuckets,
    ),
    endToEndSeconds: frameHistogram(
      'aestream_end_to_end_seconds',
      "From a frame's event time to its score being written.",
      ['pipeline'],
      latencyBuckets,
    ),
    modelInfo: gauge('aestream_model_info', '1 for the model version and backend in use.', [
      'pipeline',
      'version',
      'engine',
      'backend',
    ]),
  };
}

export type DetectorMetrics = ReturnType<typeof detectorMetrics>;
