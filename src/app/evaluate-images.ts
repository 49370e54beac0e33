import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineConfig } from '../config/pipeline-schema';
import { readIdxImages } from '../connectors/files/idx-source';
import { AeError, ErrorCodes } from '../core/errors';
import type { ImageFrame } from '../core/records';
import {
  classesOf,
  classFigures,
  imagesOfClass,
  IMAGES_PROTOCOL,
  readSplit,
  type ImageClassResult,
  type ImagesEvalReport,
  type Split,
} from '../eval/images-eval';
import { scoreHeldBack } from '../inference/held-back-scores';
import { trainAndStore } from '../registry/train-and-store';
import { detectInMemory, type InMemoryRun } from './in-memory-detector';

export interface ImagesEvalOptions {
  /** An MNIST-layout folder: train- and t10k- images and labels (IDX, .gz or plain). */
  dataDir: string;
  /** An image pipeline; its model store is set per class. */
  pipeline: Readonly<PipelineConfig>;
  /** Models are stored under `<out>/models/class-<c>`. */
  out: string;
  /** The classes to evaluate (default: every class of the training labels). */
  classes?: number[];
  /** At most this many training images per class, the first in file order (0 = all). */
  maxTrain?: number;
  onClassStart?: (cls: number, index: number, classes: number) => void;
  /** Training epochs done of the current class. */
  onEpoch?: (epoch: number, epochs: number) => void;
  /** Test images streamed for the current class. */
  onImages?: (done: number, total: number) => void;
  onClass?: (result: ImageClassResult) => void;
}

/** Source id of the streamed test images; their event time is their index in the test file (ms). */
const TEST_SOURCE = 't10k';

/** The test set as the detector receives it: one frame per image, in file order. */
interface TestSet {
  frames: ImageFrame[];
  labels: Uint8Array;
}

/**
 * `aestream evaluate images`: the one-class protocol run on the deployed detector. For each
 * class, the pipeline's model is trained on that class's training images with
 * `trainAndStore` (as `aestream train` does, held-back scores stored for the thresholds),
 * then every test image streams through `detectInMemory` (detectFlow as `aestream detect`
 * runs it); each image's score and verdict come from the judged batches.
 *
 * @example const report = await evaluateImages({ dataDir: '../shared/datasets/mnist', pipeline, out: 'images-eval' });
 */
export async function evaluateImages(options: ImagesEvalOptions): Promise<ImagesEvalReport> {
  const started = Date.now();
  const base = options.pipeline;
  const frame = imageFrameOf(base);
  const train = readSplit(options.dataDir, 'train');
  const test = testSetOf(options.dataDir, train);
  if (train.width !== frame.width || train.height !== frame.height || frame.channels !== 1) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${train.file}: images are ${train.width}x${train.height}x1, the pipeline's frames are ${frame.width}x${frame.height}x${frame.channels}`,
    );
  }
  const all = classesOf(train);
  const classes = options.classes ?? all;
  const missing = classes.filter((c) => !all.includes(c));
  if (missing.length > 0) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `--classes: ${missing.join(', ')} not among the training labels ${all.join(', ')}`,
    );
  }
  const results: ImageClassResult[] = [];
  let run: InMemoryRun['model'] | undefined;
  for (const [i, cls] of classes.entries()) {
    options.onClassStart?.(cls, i, classes.length);
    const one = await evaluateClass(cls, train, test, options);
    run = one.model;
    results.push(one.result);
    options.onClass?.(one.result);
  }
  const mean = (f: (r: ImageClassResult) => number) =>
    results.reduce((a, r) => a + f(r), 0) / Math.max(results.length, 1);
  const { store: _perClass, ...model } = base.model;
  return {
    pipeline: base.name,
    data: options.dataDir,
    protocol: IMAGES_PROTOCOL,
    model,
    threshold: { ...base.threshold },
    engine: run?.engine ?? '',
    backend: run?.backend ?? '',
    classes: results,
    meanAuroc: mean((r) => r.auroc),
    meanFlaggedAnomalous: mean((r) => r.flaggedAnomalous),
    meanFlaggedNormal: mean((r) => r.flaggedNormal),
    seconds: (Date.now() - started) / 1000,
  };
}

function imageFrameOf(
  config: Readonly<PipelineConfig>,
): Extract<PipelineConfig['frame'], { kind: 'image' }> {
  if (config.frame.kind !== 'image') {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `${config.name}: evaluate images needs an image pipeline`,
    );
  }
  return config.frame;
}

/** The test images as frames of one source, event time = index (ms), with their labels. */
function testSetOf(dataDir: string, train: Split): TestSet {
  const split = readSplit(dataDir, 't10k');
  if (split.width !== train.width || split.height !== train.height) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${split.file}: test images are ${split.width}x${split.height}, training images ${train.width}x${train.height}`,
    );
  }
  const frames = Array.from(
    readIdxImages(split.file, { source: TEST_SOURCE, startTime: 0, intervalMs: 1 }),
    (item) => item.frame,
  );
  return { frames, labels: split.labels };
}

async function evaluateClass(
  cls: number,
  train: Split,
  test: TestSet,
  options: ImagesEvalOptions,
): Promise<{ result: ImageClassResult; model: InMemoryRun['model'] }> {
  const store = join(options.out, 'models', `class-${cls}`);
  rmSync(store, { recursive: true, force: true });
  const config: Readonly<PipelineConfig> = {
    ...options.pipeline,
    model: { ...options.pipeline.model, store },
  };
  const { raw, count } = imagesOfClass(train, cls, options.maxTrain ?? 0);
  if (count === 0) {
    throw new AeError(ErrorCodes.DATA_INVALID, `${train.file}: no training images of class ${cls}`);
  }
  const trainStarted = Date.now();
  const trained = await trainAndStore(
    config,
    { raw, count, source: `${train.file}: ${count} images of class ${cls}` },
    {
      scoreHeldBack: scoreHeldBack(config.model),
      ...(options.onEpoch ? { onEpoch: (r) => options.onEpoch!(r.epoch, r.epochs) } : {}),
    },
  );
  const trainSeconds = (Date.now() - trainStarted) / 1000;

  const n = test.frames.length;
  const scores = new Float64Array(n).fill(NaN);
  // 0 normal, 1 anomaly, 2 warming-up.
  const verdicts = new Uint8Array(n);
  let done = 0;
  const streamStarted = Date.now();
  const run = await detectInMemory(config, test.frames, {
    onScored: (batch) => {
      for (const j of batch) {
        for (const c of j.covered) {
          const at = (c.value as ImageFrame).time;
          scores[at] = j.score;
          verdicts[at] = j.verdict === 'anomaly' ? 1 : j.verdict === 'warming-up' ? 2 : 0;
        }
        done += j.covered.length;
      }
      options.onImages?.(done, n);
    },
  });
  const result: ImageClassResult = {
    cls,
    trainImages: count,
    ...classFigures(cls, test.labels, scores, verdicts),
    modelVersion: run.model.version,
    epochs: trained.result.epochs,
    valLoss: trained.result.valLoss,
    trainSeconds,
    streamSeconds: (Date.now() - streamStarted) / 1000,
  };
  return { result, model: run.model };
}
