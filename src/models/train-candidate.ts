import type { PipelineConfig } from '../config/pipeline-schema';
import { architectureOf } from './architecture';
import { Autoencoder } from './autoencoder';
import { initBackend } from './backend';
import { ModelStore } from './model-store';
import { fitRange, fitRobust, normalize } from './normalization';
import type { TrainingData } from './training-data';
import type { TrainedVersion } from './train-from-file';
import { type EpochReport, trainAutoencoder, trainOptionsOf } from './trainer';

export interface CandidateOptions {
  /** Store the candidate is saved to (a staging store: it is not published yet). */
  store: string;
  epochs: number;
  seed: number;
  /** The current model's network: its weights are the starting point (warm start). */
  warmFrom?: Autoencoder;
  extraValidation?: Record<string, number>;
  onEpoch?: (report: EpochReport) => void;
}

/**
 * Trains a retraining candidate: like `trainAndStore`, but optionally warm-started from
 * the current model's weights. The normalization is refitted on the new data (robust per
 * feature for sensors, [0, 1] for images); the weights map normalized inputs to
 * normalized outputs, so they remain a good start when the data's level or scale moved:
 * the refit removes the shift and the network sees what it knows.
 *
 * @example const v = await trainCandidate(config, data, { store: staging, epochs: 10, seed: 7, warmFrom: current.stored.autoencoder });
 */
export async function trainCandidate(
  config: Readonly<PipelineConfig>,
  data: TrainingData,
  opts: CandidateOptions,
): Promise<TrainedVersion> {
  const backend = await initBackend(config.model.backend);
  const arch = architectureOf(config.frame, config.model);
  const norm = arch.kind === 'dense-ae' ? fitRobust(data.raw, arch.features) : fitRange(data.raw);
  const x = normalize(norm, data.raw);
  const train = { ...trainOptionsOf(config.model), epochs: opts.epochs, seed: opts.seed };
  const ae = Autoencoder.create(arch, norm, train.seed);
  try {
    if (opts.warmFrom) {
      const weights = opts.warmFrom.model.getWeights();
      // setWeights copies the values into the new model's own variables.
      ae.model.setWeights(weights);
    }
    const result = await trainAutoencoder(ae, x, data.count, {
      ...train,
      ...(opts.onEpoch ? { onEpoch: opts.onEpoch } : {}),
    });
    const saved = await new ModelStore(opts.store).save(ae, {
      pipeline: config.name,
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
        warmStart: opts.warmFrom ? 1 : 0,
        ...opts.extraValidation,
      },
    });
    return { ...saved, result };
  } finally {
    ae.dispose();
  }
}
