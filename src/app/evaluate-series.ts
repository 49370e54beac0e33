import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineConfig } from '../config/pipeline-schema';
import type { SensorFrame } from '../core/records';
import { AeError, ErrorCodes } from '../core/errors';
import {
  readLabelledSeries,
  seriesFiles,
  type LabelledSeries,
  type SeriesLayout,
} from '../eval/series-data';
import { countSeries, figuresOf } from '../eval/series-metrics';
import {
  pooledOf,
  ROW_VERDICT,
  type SeriesFileResult,
  type SeriesReport,
  type SeriesTrace,
} from '../eval/series-report';
import { windowsOf } from '../operators/sensor-windows';
import { trainAndStore } from '../registry/train-and-store';
import { scoreHeldBack } from '../inference/held-back-scores';
import { detectInMemory } from './in-memory-detector';
import { detectAndRetrainInMemory } from './in-memory-retraining';

export interface SeriesEvalOptions {
  dataDir: string;
  layout: SeriesLayout;
  /** Named in the report. */
  layoutName: string;
  pipeline: Readonly<PipelineConfig>;
  /** Models are stored under `<out>/models/<file>`. */
  out: string;
  /** Run the retrain pipeline beside the detector (its releases reach the detector in memory). */
  retrain?: boolean;
  /** Evaluate only these test files (default: every file the layout selects). */
  only?: string[];
  onFileStart?: (name: string, index: number, files: number) => void;
  /** Training epochs done of the current file. */
  onEpoch?: (epoch: number, epochs: number) => void;
  /** Rows streamed of the current file. */
  onRows?: (done: number, total: number) => void;
  onFile?: (result: SeriesFileResult) => void;
}

/**
 * `aestream evaluate series`: per labelled series, the pipeline's model is trained on the
 * training rows with `trainAndStore` (as `aestream train` does), then the training rows
 * and the test rows stream through the detector (one source per file, event time = the
 * row's time), and the verdicts on the test rows are scored against the labels.
 *
 * @example const { report } = await evaluateSeries({ dataDir, layout, layoutName: 'smd', pipeline, out });
 */
export async function evaluateSeries(
  options: SeriesEvalOptions,
): Promise<{ report: SeriesReport; traces: SeriesTrace[] }> {
  const started = Date.now();
  const all = seriesFiles(options.dataDir, options.layout);
  const names = options.only ? all.filter((f) => options.only!.some((o) => f.startsWith(o))) : all;
  if (names.length === 0) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `--files: none of ${options.only?.join(', ')} is among ${all.join(', ')}`,
    );
  }
  // Every file is read (and checked) before the first model trains: bad input fails in seconds.
  const series = names.map((name) => readLabelledSeries(options.dataDir, options.layout, name));
  const files: SeriesFileResult[] = [];
  const traces: SeriesTrace[] = [];
  for (const [i, s] of series.entries()) {
    options.onFileStart?.(s.name, i, series.length);
    const { result, trace } = await evaluateOne(s, options);
    files.push(result);
    traces.push(trace);
    options.onFile?.(result);
  }
  const report: SeriesReport = {
    pipeline: options.pipeline.name,
    data: options.dataDir,
    layout: options.layoutName,
    rowVerdict: ROW_VERDICT,
    files,
    pooled: pooledOf(files),
    seconds: (Date.now() - started) / 1000,
  };
  return { report, traces };
}

/** The pipeline with the series' data-dependent fields: its channel count and model store. */
export function seriesPipeline(
  base: Readonly<PipelineConfig>,
  features: number,
  store: string,
): Readonly<PipelineConfig> {
  if (base.frame.kind !== 'sensor') {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `${base.name}: evaluate series needs a sensor pipeline`,
    );
  }
  return {
    ...base,
    frame: { ...base.frame, features },
    model: { ...base.model, store },
  };
}

async function evaluateOne(
  s: LabelledSeries,
  options: SeriesEvalOptions,
): Promise<{ result: SeriesFileResult; trace: SeriesTrace }> {
  const d = s.channels.length;
  const store = join(options.out, 'models', s.name);
  rmSync(store, { recursive: true, force: true });
  const config = seriesPipeline(options.pipeline, d, store);
  const frame = config.frame as Extract<PipelineConfig['frame'], { kind: 'sensor' }>;

  const trainSeconds = await trainOnSeries(config, frame, s, options);

  const total = s.train.rows + s.test.rows;
  const flagged = new Uint8Array(total);
  const scores = new Float64Array(total).fill(NaN);
  const thresholds = new Float64Array(total).fill(NaN);
  const events: number[] = [];
  let done = 0;
  const streamStarted = Date.now();
  const detect = options.retrain ? detectAndRetrainInMemory : detectInMemory;
  const run = await detect(config, framesOf(s), {
    // One source per run, so one partition of a fresh topic: an event's input offset is its row.
    onEvent: (e) => {
      if (e.input.offset >= s.train.rows) events.push(e.input.offset - s.train.rows);
    },
    onScored: (batch) => {
      for (const j of batch) {
        for (const c of j.covered) {
          const row = (c.value as SensorFrame).seq!;
          flagged[row] = j.verdict === 'anomaly' ? 1 : 0;
          scores[row] = j.score;
          thresholds[row] = j.threshold ?? NaN;
        }
        done += j.covered.length;
      }
      options.onRows?.(done, total);
    },
  });
  const testFlags = flagged.subarray(s.train.rows);
  const counts = countSeries(s.labels, testFlags);
  const result: SeriesFileResult = {
    name: s.name,
    channels: d,
    trainRows: s.train.rows,
    testRows: s.test.rows,
    anomalousRows: counts.tp + counts.fn,
    ...figuresOf(counts),
    counts,
    modelVersion: run.model.version,
    trainSeconds,
    streamSeconds: (Date.now() - streamStarted) / 1000,
    deadLetters: run.deadLetters.length,
  };
  return {
    result,
    trace: {
      name: s.name,
      values: s.test.values,
      channels: d,
      scores: scores.slice(s.train.rows),
      thresholds: thresholds.slice(s.train.rows),
      labels: s.labels,
      events,
    },
  };
}

/** Trains the series' model on its training rows; returns the seconds it took. */
async function trainOnSeries(
  config: Readonly<PipelineConfig>,
  frame: Extract<PipelineConfig['frame'], { kind: 'sensor' }>,
  s: LabelledSeries,
  options: SeriesEvalOptions,
): Promise<number> {
  const d = s.channels.length;
  const trainStarted = Date.now();
  const { raw, count } = windowsOf([rowsOf(s.train.values, d, s.train.rows)], frame);
  if (count === 0) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${s.train.file}: ${s.train.rows} training rows, a window needs ${frame.window}`,
    );
  }
  await trainAndStore(
    config,
    {
      raw,
      count,
      source: `${s.train.file}: ${s.train.rows} rows`,
      range: { from: 0, to: s.train.rows - 1 },
    },
    {
      scoreHeldBack: scoreHeldBack(config.model),
      ...(options.onEpoch ? { onEpoch: (r) => options.onEpoch!(r.epoch, r.epochs) } : {}),
    },
  );
  return (Date.now() - trainStarted) / 1000;
}

/** Row `i` of a rows x d block. */
function* rowsOf(values: Float64Array, d: number, rows: number): Generator<Float64Array> {
  for (let r = 0; r < rows; r++) yield values.subarray(r * d, (r + 1) * d);
}

/** Training rows, then test rows, as the series' frames in file order; `seq` is the row. */
function* framesOf(s: LabelledSeries): Generator<SensorFrame> {
  const d = s.channels.length;
  let seq = 0;
  for (const part of [s.train, s.test]) {
    for (let r = 0; r < part.rows; r++) {
      yield {
        source: s.name,
        time: part.times[r]!,
        values: Array.from(part.values.subarray(r * d, (r + 1) * d)),
        seq: seq++,
        attributes: {},
      };
    }
  }
}
