import { scoreKindOf, type ModelConfig } from '../training/model-config';
import type { HeldBackScorer } from '../registry/train-and-store';
import { createScorer } from './scorer';
import { modelLayoutOf } from './scoring';
import { createTfjsEngine } from './tfjs-engine';

/** Batch size of the calibration pass. */
const BATCH = 256;

/**
 * Scores held-back samples with a just-trained model through the detector's own scorer
 * (normalization, reconstruction, error), so the calibration stored with the model is on the
 * scale of the scores its thresholds will judge.
 *
 * @example
 * await trainAndStore(config, data, { scoreHeldBack: scoreHeldBack(config.model) });
 */
export function scoreHeldBack(model: ModelConfig): HeldBackScorer {
  return async (ae, raw, count, standards) => {
    const kind = scoreKindOf(model);
    // Without standards the detector refuses a standardized score: nothing to calibrate.
    if (kind !== 'mean' && standards === undefined) return { scores: [] };
    const engine = await createTfjsEngine(ae);
    const scorer = createScorer(
      engine,
      ae.normalization,
      modelLayoutOf(ae.architecture, model),
      model.error,
      model.topK,
      kind === 'mean' ? undefined : { kind, standards: standards! },
    );
    const size = raw.length / count;
    const scores = new Float64Array(count);
    let newest: Float64Array | undefined;
    for (let from = 0; from < count; from += BATCH) {
      const to = Math.min(count, from + BATCH);
      const batch = await scorer.score(raw.subarray(from * size, to * size), to - from);
      scores.set(batch.scores, from);
      if (batch.newest) (newest ??= new Float64Array(count)).set(batch.newest, from);
    }
    await engine.dispose();
    return newest ? { scores, newest } : { scores };
  };
}
