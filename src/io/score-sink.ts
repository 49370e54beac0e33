import type { IPoint } from 'influx';
import { eventTimeOf } from '../codecs/anomaly-events';
import type { Contribution } from '../models/scoring';
import type { Judged } from '../operators/model-input';
import type { BatchSink } from '../operators/write-and-ack';

/** Where points go: the InfluxDB sink, or an in-memory list in the demo. */
export interface PointWriter {
  /** Resolves when InfluxDB has the points. */
  writePoints(points: readonly IPoint[]): Promise<void>;
}

/**
 * The `score` point of a judged input: tags pipeline, source, model; fields error,
 * threshold (absent while calibrating), anomaly (0/1), p (anomaly probability). Its time is
 * the input's event time, so a redelivered frame overwrites its own point (idempotent).
 */
export function scorePoint<F>(judged: Judged<F>, pipeline: string): IPoint {
  const fields: Record<string, number> = {
    error: judged.score,
    anomaly: judged.verdict === 'anomaly' ? 1 : 0,
    p: judged.probability,
  };
  if (judged.threshold !== null) fields.threshold = judged.threshold;
  if (judged.partial) fields.partial = 1;
  return {
    measurement: 'score',
    tags: { pipeline, source: judged.key, model: judged.modelVersion },
    fields,
    timestamp: new Date(eventTimeOf(judged)),
  };
}

/**
 * The top contributions of an input as text, largest first: `index:error` pairs (feature
 * index for sensors, region index for images), e.g. `1:0.523 0:0.0412`.
 */
export function topText(contributions: readonly Contribution[]): string {
  return contributions.map((c) => `${c.index}:${Number(c.error.toPrecision(3))}`).join(' ');
}

/**
 * The score output: one `score` point per judged input, and one `anomaly` point per event
 * (tags pipeline, source, model; fields score, threshold, p, top: for Grafana annotations
 * and the table of recent events). `write` resolves when the writer has them all.
 */
export class ScoreSink<F> implements BatchSink<F> {
  readonly name = 'influx-scores';

  constructor(
    private readonly writer: PointWriter,
    private readonly pipeline: string,
  ) {}

  async write(batch: readonly Judged<F>[]): Promise<void> {
    const points: IPoint[] = [];
    for (const judged of batch) {
      const point = scorePoint(judged, this.pipeline);
      points.push(point);
      if (judged.verdict === 'anomaly') {
        points.push({
          measurement: 'anomaly',
          tags: { pipeline: this.pipeline, source: judged.key, model: judged.modelVersion },
          fields: {
            score: judged.score,
            threshold: judged.threshold ?? 0,
            p: judged.probability,
            top: topText(judged.contributions),
          },
          timestamp: point.timestamp,
        });
      }
    }
    await this.writer.writePoints(points);
  }
}
