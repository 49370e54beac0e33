import type { InferenceEngine } from './inference-engine';
import { normalize, type Normalization } from './normalization';
import { type BatchScores, type ContributionLayout, type ErrorKind, scoreBatch } from './scoring';

/** Scores raw frames: normalize, reconstruct on an engine, reconstruction error + top-k. */
export interface Scorer {
  score(raw: ArrayLike<number>, n: number): Promise<BatchScores>;
}

/**
 * @example
 * const scorer = createScorer(engine, stored.metadata.normalization, layoutOf(arch, 7), 'mse', 3);
 * const { scores, top } = await scorer.score(pixels, 64);
 */
export function createScorer(
  engine: InferenceEngine,
  normalization: Normalization,
  layout: ContributionLayout,
  error: ErrorKind = 'mse',
  topK = 3,
): Scorer {
  return {
    async score(raw, n) {
      const x = normalize(normalization, raw);
      const y = await engine.reconstruct(x, n);
      return scoreBatch(x, y, n, layout, error, topK);
    },
  };
}
