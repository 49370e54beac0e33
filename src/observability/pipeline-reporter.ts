import type { IPoint } from 'influx';
import { register } from 'prom-client';
import { logger } from './logger';

export interface PipelineFigures {
  /** Current consumer lag per partition; null when unknown. */
  lag: () => Promise<Array<{ partition: number; lag: number }> | null>;
  model: () => { version: string; engine: string; backend: string };
  /**
   * The pipeline's dead-letter topic: its `aestream_dlq_records_total` samples become the
   * `dlq` points. Without it every dead letter of the process counts (one detector per process).
   */
  dlqTopic?: string;
}

/** Dead letters per reason code so far, from prom-client's registry. */
async function deadLetters(topic: string | undefined): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const m = register.getSingleMetric('aestream_dlq_records_total');
  if (!m) return counts;
  for (const v of (await m.get()).values) {
    const reason = v.labels.reason;
    if (typeof reason !== 'string' || (topic !== undefined && v.labels.topic !== topic)) continue;
    counts.set(reason, (counts.get(reason) ?? 0) + v.value);
  }
  return counts;
}

/** Sum of a metric's samples that carry `pipeline`, from prom-client's registry. */
async function sampleSum(metric: string, pipeline: string, suffix = ''): Promise<number> {
  const m = register.getSingleMetric(metric);
  if (!m) return 0;
  const data = await m.get();
  let sum = 0;
  for (const v of data.values) {
    const name = (v as { metricName?: string }).metricName ?? metric;
    if (v.labels.pipeline === pipeline && name === metric + suffix) sum += v.value;
  }
  return sum;
}

/**
 * Every `intervalMs`, the detector's own figures go to InfluxDB as one `pipeline` point
 * (tags pipeline, model; fields frames_per_s, scored_per_s, anomalies, lag, batch_size,
 * inference_ms, e2e_ms, backend, engine), so Grafana shows health beside the scores. The
 * same figures are on /metrics. Beside it, one `dlq` point per reason code that had dead
 * letters in the interval (tags pipeline, reason; field records), and a `model` point
 * (tags pipeline, model; fields event = loaded | swapped, previous, engine, backend) at the
 * first tick and at each tick that finds another model in use: Grafana's model-swap
 * annotations, accurate to one interval. A failed write is logged once and retried at the
 * next tick (the counts of that interval carry over).
 *
 * @example const stop = startPipelineReporter('sensors', influx, figures, 10_000)
 */
export function startPipelineReporter(
  pipeline: string,
  writer: { writePoints(points: readonly IPoint[]): Promise<void> },
  figures: PipelineFigures,
  intervalMs = 10_000,
): () => Promise<void> {
  let last = {
    at: Date.now(),
    framesIn: 0,
    scored: 0,
    anomalies: 0,
    batches: 0,
    batchSum: 0,
    inferSum: 0,
    inferCount: 0,
    e2eSum: 0,
    e2eCount: 0,
  };
  // Dead letters counted before this detector started are not its own.
  let lastDlq: Promise<Map<string, number>> = deadLetters(figures.dlqTopic);
  let lastModel: string | null = null;
  let failing = false;
  let running: Promise<void> = Promise.resolve();

  const tick = async (): Promise<void> => {
    const now = Date.now();
    const current = {
      at: now,
      framesIn: await sampleSum('aestream_frames_in_total', pipeline),
      scored: await sampleSum('aestream_frames_scored_total', pipeline),
      anomalies: await sampleSum('aestream_anomalies_total', pipeline),
      batches: await sampleSum('aestream_batch_size', pipeline, '_count'),
      batchSum: await sampleSum('aestream_batch_size', pipeline, '_sum'),
      inferSum: await sampleSum('aestream_inference_seconds', pipeline, '_sum'),
      inferCount: await sampleSum('aestream_inference_seconds', pipeline, '_count'),
      e2eSum: await sampleSum('aestream_end_to_end_seconds', pipeline, '_sum'),
      e2eCount: await sampleSum('aestream_end_to_end_seconds', pipeline, '_count'),
    };
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    const batches = current.batches - last.batches;
    const inferences = current.inferCount - last.inferCount;
    const e2eCount = current.e2eCount - last.e2eCount;
    const lags = await figures.lag().catch(() => null);
    const model = figures.model();
    const fields: Record<string, number | string> = {
      frames_per_s: (current.framesIn - last.framesIn) / seconds,
      scored_per_s: (current.scored - last.scored) / seconds,
      anomalies: current.anomalies - last.anomalies,
      batch_size: batches > 0 ? (current.batchSum - last.batchSum) / batches : 0,
      inference_ms: inferences > 0 ? ((current.inferSum - last.inferSum) / inferences) * 1000 : 0,
      e2e_ms: e2eCount > 0 ? ((current.e2eSum - last.e2eSum) / e2eCount) * 1000 : 0,
      backend: model.backend,
      engine: model.engine,
    };
    if (lags) fields.lag = lags.reduce((sum, p) => sum + p.lag, 0);
    const timestamp = new Date(now);
    const points: IPoint[] = [
      { measurement: 'pipeline', tags: { pipeline, model: model.version }, fields, timestamp },
    ];
    const dlqBefore = await lastDlq;
    const dlqNow = await deadLetters(figures.dlqTopic);
    for (const [reason, total] of dlqNow) {
      const records = total - (dlqBefore.get(reason) ?? 0);
      if (records > 0)
        points.push({
          measurement: 'dlq',
          tags: { pipeline, reason },
          fields: { records },
          timestamp,
        });
    }
    if (model.version !== lastModel) {
      points.push({
        measurement: 'model',
        tags: { pipeline, model: model.version },
        fields: {
          event: lastModel === null ? 'loaded' : 'swapped',
          previous: lastModel ?? '',
          engine: model.engine,
          backend: model.backend,
        },
        timestamp,
      });
    }
    try {
      await writer.writePoints(points);
      last = current;
      lastDlq = Promise.resolve(dlqNow);
      lastModel = model.version;
      if (failing) logger.info({ pipeline }, 'pipeline figures are written to InfluxDB again');
      failing = false;
    } catch (err) {
      if (!failing)
        logger.warn(
          { pipeline, err: (err as Error).message },
          'cannot write pipeline figures to InfluxDB',
        );
      failing = true;
    }
  };

  // A tick that throws before its write (a metric or figure read) must not end the chain:
  // every later tick would be skipped and the detector would stop reporting for good.
  const safeTick = (): Promise<void> =>
    tick().catch((err: unknown) => {
      logger.warn({ pipeline, err: (err as Error).message }, 'pipeline figures not sampled');
    });
  const timer = setInterval(() => {
    running = running.then(safeTick);
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
    running = tick();
    await running;
  };
}
