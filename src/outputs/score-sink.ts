import type { IPoint } from 'influx';
import { eventTimeOf } from '../codecs/anomaly-events';
import {
  contributionsOf,
  type Judged,
  type BatchSink,
  type Contribution,
} from '../core/model-input';
import { seriesKey, toLine } from '../connectors/influx/influx-line';

/** Where points go: the InfluxDB sink, or an in-memory list in the demo. */
export interface PointWriter {
  /** Resolves when InfluxDB has the points. */
  writePoints(points: readonly IPoint[]): Promise<void>;
  /**
   * The same as lines of line protocol (precision ms), for writers that send text: the
   * score sink then builds no point objects per frame (the InfluxSink has it).
   */
  writeLines?(lines: readonly string[]): Promise<void>;
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
  private readonly heads = new Map<string, Map<string, string>>();

  constructor(
    private readonly writer: PointWriter,
    private readonly pipeline: string,
  ) {}

  async write(batch: readonly Judged<F>[]): Promise<void> {
    if (this.writer.writeLines) return this.writer.writeLines(this.lines(batch));
    const points: IPoint[] = [];
    for (const judged of batch) {
      const point = scorePoint(judged, this.pipeline);
      points.push(point);
      if (judged.verdict === 'anomaly') points.push(this.anomalyPoint(judged, point.timestamp));
    }
    await this.writer.writePoints(points);
  }

  /** The batch's points as line protocol, the same text `toLine` gives for scorePoint's points. */
  private lines(batch: readonly Judged<F>[]): string[] {
    const lines: string[] = [];
    for (const judged of batch) {
      // Fields in name order, as toLine writes them: anomaly, error, p, partial, threshold.
      let line = `${this.series(judged)} anomaly=${judged.verdict === 'anomaly' ? 1 : 0},error=${judged.score},p=${judged.probability}`;
      if (judged.partial) line += ',partial=1';
      if (judged.threshold !== null) line += `,threshold=${judged.threshold}`;
      const time = eventTimeOf(judged);
      lines.push(`${line} ${time}`);
      if (judged.verdict === 'anomaly') lines.push(toLine(this.anomalyPoint(judged, time)));
    }
    return lines;
  }

  private anomalyPoint(judged: Judged<F>, timestamp: IPoint['timestamp']): IPoint {
    return {
      measurement: 'anomaly',
      tags: { pipeline: this.pipeline, source: judged.key, model: judged.modelVersion },
      fields: {
        score: judged.score,
        threshold: judged.threshold ?? 0,
        p: judged.probability,
        top: topText(contributionsOf(judged)),
      },
      timestamp,
    };
  }

  /** The escaped `score,pipeline=..,source=..,model=..` head of a source's lines, kept per source and model. */
  private series(judged: Judged<F>): string {
    let byModel = this.heads.get(judged.modelVersion);
    if (!byModel) {
      // Heads of replaced models are dropped with them (one model is current at a time).
      if (this.heads.size >= 4) this.heads.clear();
      byModel = new Map();
      this.heads.set(judged.modelVersion, byModel);
    }
    let head = byModel.get(judged.key);
    if (head === undefined) {
      head = seriesKey('score', {
        pipeline: this.pipeline,
        source: judged.key,
        model: judged.modelVersion,
      });
      byModel.set(judged.key, head);
    }
    return head;
  }
}
