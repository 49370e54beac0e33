import { sampleMoments } from '../core/sample-moments';
import type { ModelSection } from '../training/model-config';
import { architectureOf } from '../training/architecture';
import { Autoencoder } from '../training/autoencoder';
import { initBackend } from '../training/backend';
import { ModelStore, type ModelMetadata, type ScoreCalibration } from './model-store';
import { fitErrorStandards, type ErrorStandards } from '../training/error-standards';
import { fitRange, fitScaling, normalize } from '../training/normalization';
import { readTrainingData, type TrainingData } from '../training/training-data';
import {
  type EpochReport,
  gather,
  reconstructSamples,
  type TrainResult,
  trainAutoencoder,
  plannedEpochs,
  trainCountOf,
  trainOptionsOf,
} from '../training/trainer';

export interface TrainOptionsOverride {
  epochs?: number;
  seed?: number;
  store?: string;
  /**
   * Start from this network's weights (a retrain's warm start). The normalization is still
   * refitted on the new data: the weights map normalized inputs to normalized outputs, so
   * they stay a good start when the data's level or scale moved.
   */
  warmFrom?: Autoencoder;
  /**
   * Scores raw samples with the trained model exactly as the detector does (the inference
   * layer's `scoreHeldBack`); when given, the held-back samples' scores are stored with the
   * model so that thresholds start calibrated.
   */
  scoreHeldBack?: HeldBackScorer;
  onStart?: (info: { backend: string; samples: number; epochs: number; kind: string }) => void;
  onEpoch?: (report: EpochReport) => void;
}

/**
 * Scores `count` raw samples (row-major) with a just-trained autoencoder and the error
 * standards stored with it; an empty result stores no calibration.
 */
export type HeldBackScorer = (
  ae: Autoencoder,
  raw: Float32Array,
  count: number,
  errorStandards: ErrorStandards | undefined,
) => Promise<HeldBackScores>;

/** The held-back samples' scores, and for sensor windows those of their newest readings. */
export interface HeldBackScores {
  scores: ArrayLike<number>;
  newest?: ArrayLike<number>;
}

/** Calibration scores kept with a model: enough for a SPOT fit at risk 1e-4 and beyond. */
export const CALIBRATION_SCORES = 10000;
/** Windows spread over the training data whose scores' sd is kept with the model. */
const SPREAD_SCORES = 2000;

export interface TrainFromFileOptions extends TrainOptionsOverride {
  data: string;
  maxSamples?: number;
}

export interface TrainedVersion {
  version: number;
  path: string;
  metadata: ModelMetadata;
  result: TrainResult;
}

/**
 * Offline training of a pipeline's autoencoder from a file (what `aestream train` runs):
 * read the data, then {@link trainAndStore}.
 *
 * @example
 * const { path } = await trainFromFile(loadPipeline('pipelines/sensors.yaml'), { data: 'nab.csv' });
 */
export async function trainFromFile(
  config: ModelSection,
  opts: TrainFromFileOptions,
): Promise<TrainedVersion> {
  await initBackend(config.model.backend);
  const arch = architectureOf(config.frame, config.model);
  const stride = config.frame.kind === 'sensor' ? config.frame.stride : 1;
  return trainAndStore(
    config,
    readTrainingData(opts.data, arch, stride, opts.maxSamples ?? 0),
    opts,
  );
}

/**
 * Trains a pipeline's autoencoder on raw samples already in memory (the demo's synthetic
 * windows, a retrain reservoir): fit the normalization (`model.normalization` per feature
 * for sensors, [0, 1] for images), train with early stopping, fit the error standards of
 * sensor models on the held-back windows, store the result as a new model version.
 *
 * @example
 * await trainAndStore(config, { raw, count, source: 'synthetic' }, { onEpoch: console.log });
 */
export async function trainAndStore(
  config: ModelSection,
  data: TrainingData,
  opts: TrainOptionsOverride = {},
): Promise<TrainedVersion> {
  const backend = await initBackend(config.model.backend);
  const arch = architectureOf(config.frame, config.model);
  const norm =
    arch.kind !== 'conv-ae'
      ? fitScaling(config.model.normalization, data.raw, arch.features)
      : fitRange(data.raw);
  const x = normalize(norm, data.raw);
  const frame = config.frame;
  const train = {
    ...trainOptionsOf(config.model),
    overlap: frame.kind === 'sensor' ? Math.ceil(frame.window / frame.stride) - 1 : 0,
    ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  };
  const epochs = plannedEpochs(train, trainCountOf(data.count, train.validation, train.overlap));
  opts.onStart?.({ backend, samples: data.count, epochs, kind: arch.kind });
  const ae = Autoencoder.create(arch, norm, train.seed);
  try {
    // setWeights copies the values into the new model's own variables.
    if (opts.warmFrom) ae.model.setWeights(opts.warmFrom.model.getWeights());
    const result = await trainAutoencoder(ae, x, data.count, {
      ...train,
      ...(opts.onEpoch ? { onEpoch: opts.onEpoch } : {}),
    });
    // Sensors: how each channel's residual spreads on the held-back windows, for
    // standardized scores (the windows were only used to pick the epoch, never trained on).
    const size = x.length / data.count;
    const heldBack = gather(x, size, result.heldBack, 0, result.heldBack.length);
    const errorStandards =
      arch.kind === 'conv-ae'
        ? undefined
        : fitErrorStandards(
            heldBack,
            reconstructSamples(ae, heldBack, result.heldBack.length),
            arch.features,
          );
    const calibration = opts.scoreHeldBack
      ? await calibrate(
          ae,
          data,
          result.heldBack,
          opts.scoreHeldBack,
          errorStandards,
          arch.kind !== 'conv-ae',
        )
      : undefined;
    const store = new ModelStore(opts.store ?? config.model.store);
    const saved = await store.save(ae, {
      pipeline: config.name,
      ...(errorStandards ? { errorStandards } : {}),
      training: {
        source: data.source,
        count: result.trainCount,
        ...(data.range ? { range: data.range } : {}),
        epochs: result.epochs,
        seed: train.seed,
        denoise: train.denoise,
        ...(train.corruption ? { corruption: train.corruption } : {}),
        backend,
        samplesPerSecond: Math.round(result.samplesPerSecond),
      },
      validation: {
        loss: result.valLoss,
        trainLoss: result.loss,
        bestEpoch: result.bestEpoch,
        count: result.valCount,
        ...(opts.warmFrom ? { warmStart: 1 } : {}),
      },
      ...(calibration ? { calibration } : {}),
    });
    return { ...saved, result };
  } finally {
    ae.dispose();
  }
}

/**
 * The scores of the held-back samples (already in random order), at most CALIBRATION_SCORES,
 * and for sensor windows (`withSpread`: only the likelihood's prior uses it) the spread of the
 * scores of samples picked evenly over all of the training data.
 */
async function calibrate(
  ae: Autoencoder,
  data: TrainingData,
  heldBack: Uint32Array,
  score: HeldBackScorer,
  errorStandards: ErrorStandards | undefined,
  withSpread: boolean,
): Promise<ScoreCalibration | undefined> {
  const size = data.raw.length / data.count;
  const scoreSamples = (picked: ArrayLike<number>) => {
    const raw = new Float32Array(picked.length * size);
    for (let k = 0; k < picked.length; k++) {
      const i = picked[k]!;
      raw.set(data.raw.subarray(i * size, (i + 1) * size), k * size);
    }
    return score(ae, raw, picked.length, errorStandards);
  };
  const out = await scoreSamples(heldBack.subarray(0, CALIBRATION_SCORES));
  const scores = Array.from(out.scores, Number);
  if (scores.length === 0) return undefined;
  const calibration: ScoreCalibration = out.newest
    ? { count: scores.length, scores, newest: Array.from(out.newest, Number) }
    : { count: scores.length, scores };
  if (!withSpread) return calibration;
  const n = Math.min(SPREAD_SCORES, data.count);
  const all = await scoreSamples(
    Array.from({ length: n }, (_, k) => Math.floor((k * data.count) / n)),
  );
  const spread = { scores: sdOf(all.scores), ...(all.newest ? { newest: sdOf(all.newest) } : {}) };
  return { ...calibration, spread };
}

const sdOf = (xs: ArrayLike<number>): number => Math.sqrt(sampleMoments(xs).variance);
