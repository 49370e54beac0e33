import type { FrameConfig } from '../core/frame-config';
import { type ModelConfig, scoreKindOf } from '../training/model-config';
import { architectureOf } from '../training/architecture';
import { initBackend, type BackendName } from '../training/backend';
import type { InferenceEngine } from './engine';
import { createEngine } from './inference-engine';
import { ModelStore, type StoredModel } from '../registry/model-store';
import { createScorer, type Scorer } from './scorer';
import { modelLayoutOf, type StandardScore } from './scoring';
import { AeError, ErrorCodes } from '../core/errors';

/** The model a detector scores with: a version, its scorer and what runs it. */
export interface ActiveModel {
  /** Stamped on every score and event, e.g. "v000003". */
  readonly version: string;
  readonly scorer: Scorer;
  readonly engine: string;
  readonly backend: BackendName;
  readonly stored: StoredModel;
  dispose(): Promise<void>;
}

/** The version label of a stored model version number. */
export const versionLabel = (version: number): string => `v${String(version).padStart(6, '0')}`;

/**
 * Opens a pipeline's model for scoring: the latest version in its store (or `version`),
 * refused when it does not fit the pipeline's frame and model sections; the engine the
 * pipeline asks for (auto: the fastest that loads); the scorer with the model's own
 * normalization. Throws AE_ERR_MODEL_NOT_FOUND (pointing to `aestream train`) when the store
 * is empty.
 *
 * @example const model = await openModel(config.frame, config.model); await model.scorer.score(x, n)
 */
export async function openModel(
  frame: FrameConfig,
  model: ModelConfig,
  options: { version?: number; store?: string } = {},
): Promise<ActiveModel> {
  const backend = await initBackend(model.backend);
  const arch = architectureOf(frame, model);
  const stored = await new ModelStore(options.store ?? model.store).load({
    expect: arch,
    ...(options.version !== undefined ? { version: options.version } : {}),
  });
  return activate(stored, model, backend);
}

/**
 * The standardized score `model.score` asks for (none for `mean`), with the model's error
 * standards; refused when the model was stored without them (trained before they existed).
 */
function standardScoreOf(stored: StoredModel, model: ModelConfig): StandardScore | undefined {
  const kind = scoreKindOf(model);
  if (kind === 'mean') return undefined;
  const standards = stored.metadata.errorStandards;
  if (standards === undefined) {
    throw new AeError(
      ErrorCodes.MODEL_INCOMPATIBLE,
      `model ${stored.path} has no error standards for model.score ${kind}: retrain it (aestream train) or set model.score: mean`,
    );
  }
  return { kind, standards };
}

/** An ActiveModel over a model already loaded (a fresh release, a just-trained model). */
export async function activate(
  stored: StoredModel,
  model: ModelConfig,
  backend: BackendName,
): Promise<ActiveModel> {
  let engine: InferenceEngine;
  let standard: StandardScore | undefined;
  try {
    standard = standardScoreOf(stored, model);
    engine = await createEngine(model.engine, stored);
  } catch (err) {
    stored.autoencoder.dispose();
    throw err;
  }
  const scorer = createScorer(
    engine,
    stored.metadata.normalization,
    modelLayoutOf(stored.metadata.architecture, model),
    model.error,
    model.topK,
    standard,
  );
  return {
    version: versionLabel(stored.version),
    scorer,
    engine: engine.name,
    backend,
    stored,
    async dispose() {
      await engine.dispose();
      stored.autoencoder.dispose();
    },
  };
}
