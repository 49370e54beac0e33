import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineConfig } from '../config/pipeline-schema';
import type { SensorFrame } from '../core/records';
import { parseNabTime, type NabFile } from '../eval/nab-corpus';
import { nabScoreOf, type NabDetectorOutput } from '../eval/nab-evaluation';
import { probationaryLength } from '../eval/nab-scorer';
import { windowsOf } from '../operators/sensor-windows';
import { trainAndStore } from '../registry/train-and-store';
import { scoreHeldBack } from '../inference/held-back-scores';
import { seriesPipeline } from './evaluate-series';
import { detectInMemory } from './in-memory-detector';
import { detectAndRetrainInMemory } from './in-memory-retraining';

export interface NabRunOptions {
  pipeline: Readonly<PipelineConfig>;
  /** Models are stored under `<out>/models/<category>__<file>`. */
  out: string;
  /** Run the retrain pipeline beside the detector (its releases reach the detector in memory). */
  retrain?: boolean;
  onFile?: (name: string, seconds: number) => void;
}

/**
 * The pipeline's detector over every NAB file, one source and one model per file: the
 * model is trained with `trainAndStore` on the file's probationary rows (the rows NAB lets
 * a detector learn from), then every row streams through the detector in file order, event
 * time = the row's timestamp. A row's result score is {@link nabScoreOf} of the window
 * ending at it; rows before the first window score 0.
 *
 * @example const output = await runPipelineOnNab(files, { pipeline, out: 'nab-eval' });
 */
export async function runPipelineOnNab(
  files: readonly NabFile[],
  options: NabRunOptions,
): Promise<NabDetectorOutput> {
  const output: NabDetectorOutput = new Map();
  for (const file of files) {
    const started = Date.now();
    const n = file.values.length;
    const store = join(
      options.out,
      'models',
      file.name.replace(/[/\\]/g, '__').replace(/\.csv$/, ''),
    );
    rmSync(store, { recursive: true, force: true });
    const config = seriesPipeline(options.pipeline, 1, store);
    const frame = config.frame as Extract<PipelineConfig['frame'], { kind: 'sensor' }>;
    const probation = probationaryLength(n);
    const { raw, count } = windowsOf(
      [Array.from(file.values.subarray(0, probation), (v) => [v])],
      frame,
    );
    await trainAndStore(
      config,
      {
        raw,
        count,
        source: `${file.name}: ${probation} probationary rows`,
        range: { from: file.timestamps[0]!, to: file.timestamps[probation - 1]! },
      },
      { scoreHeldBack: scoreHeldBack(config.model) },
    );
    const scores = new Float64Array(n);
    const detect = options.retrain ? detectAndRetrainInMemory : detectInMemory;
    await detect(config, framesOf(file), {
      onScored: (batch) => {
        for (const j of batch) {
          const s = nabScoreOf(j.verdict, j.score, j.threshold);
          for (const c of j.covered) scores[(c.value as SensorFrame).seq!] = s;
        }
      },
    });
    output.set(file.name, scores);
    options.onFile?.(file.name, (Date.now() - started) / 1000);
  }
  return output;
}

function* framesOf(file: NabFile): Generator<SensorFrame> {
  for (let i = 0; i < file.values.length; i++) {
    yield {
      source: file.name,
      time: parseNabTime(file.timestamps[i]!),
      values: [file.values[i]!],
      seq: i,
      attributes: {},
    };
  }
}
