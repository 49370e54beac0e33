import type { InferenceEngine } from './engine';
import { denormalize, normalize, type Normalization } from '../training/normalization';
import {
  type BatchScores,
  type ContributionLayout,
  type ErrorKind,
  scoreBatch,
  type StandardScore,
} from './scoring';
import { SpareArray } from './spare-array';

/** Scores with what the same forward pass produced besides them. */
export interface BatchOutputs extends BatchScores {
  /** The reconstructed frames in raw units (readings, 0-255 intensities), row-major. */
  reconstruction: Float32Array;
  /** The latent vectors, row-major, `latentSize` values per frame. */
  latent: Float32Array;
  latentSize: number;
}

/** Scores raw frames: normalize, reconstruct on an engine, reconstruction error (standardized with `standard`) + top-k. */
export interface Scorer {
  score(raw: ArrayLike<number>, n: number): Promise<BatchScores>;
  /**
   * Like `score`, from the same single forward pass also the reconstructions (denormalized
   * into the input's units) and the latent vectors: the detector's reconstruction and
   * latent outputs.
   */
  scoreWithOutputs(raw: ArrayLike<number>, n: number): Promise<BatchOutputs>;
}

/**
 * @example
 * const scorer = createScorer(engine, stored.metadata.normalization, layoutOf(arch, 7), 'mse', 3);
 * const { scores, top } = await scorer.score(pixels, 64);
 * const { reconstruction, latent } = await scorer.scoreWithOutputs(pixels, 64);
 */
export function createScorer(
  engine: InferenceEngine,
  normalization: Normalization,
  layout: ContributionLayout,
  error: ErrorKind = 'mse',
  topK = 3,
  standard?: StandardScore,
): Scorer {
  // The normalized batch is only needed during a call: one array is reused from call to
  // call (a fresh one per batch was the largest allocation of the image detector).
  const spare = new SpareArray();
  return {
    async score(raw, n) {
      const x = normalize(normalization, raw, spare.take(raw.length));
      const y = await engine.reconstruct(x, n);
      const scores = scoreBatch(x, y, n, layout, error, topK, standard);
      spare.give(x);
      return scores;
    },
    async scoreWithOutputs(raw, n) {
      const x = normalize(normalization, raw, spare.take(raw.length));
      const { reconstruction: y, latent } = await engine.run(x, n);
      const scores = scoreBatch(x, y, n, layout, error, topK, standard);
      spare.give(x);
      // Assigned, not spread: a spread would read `top`, which is made only when read.
      return Object.assign(scores, {
        reconstruction: denormalize(normalization, y),
        latent,
        latentSize: latent.length / n,
      });
    },
  };
}
