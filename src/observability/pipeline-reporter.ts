import type { IPoint } from 'influx';
import { register } from 'prom-client';
import { logger } from './logger';

export interface PipelineFigures {
  /** Current consumer lag per partition; null when unknown. */
  lag: () => Promise<Array<{ partition: number; lag: number }> | null>;
  model: () => { version: string; engine: string; backend: string };
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
 * inference_ms, backend, engine), so Grafana shows health beside the scores. The same
 * figures are on /metrics. A failed write is logged once and retried at the next tick.
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
  };
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
    };
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    const batches = current.batches - last.batches;
    const inferences = current.inferCount - last.inferCount;
    const lags = await figures.lag().catch(() => null);
    const model = figures.model();
    const fields: Record<string, number | string> = {
      frames_per_s: (current.framesIn - last.framesIn) / seconds,
      scored_per_s: (current.scored - last.scored) / seconds,
      anomalies: current.anomalies - last.anomalies,
      batch_size: batches > 0 ? (current.batchSum - last.batchSum) / batches : 0,
      inference_ms: inferences > 0 ? ((current.inferSum - last.inferSum) / inferences) * 1000 : 0,
      backend: model.backend,
      engine: model.engine,
    };
    if (lags) fields.lag = lags.reduce((sum, p) => sum + p.lag, 0);
    last = current;
    try {
      await writer.writePoints([
        {
          measurement: 'pipeline',
          tags: { pipeline, model: model.version },
          fields,
          timestamp: new Date(now),
        },
      ]);
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

  const timer = setInterval(() => {
    running = running.then(tick);
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
    running = tick();
    await running;
  };
}
