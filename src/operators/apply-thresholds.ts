import { map, type OperatorFunction } from 'rxjs';
import type { ScoreJudge } from '../thresholds/threshold-registry';
import type { Judged, Scored, Verdict } from '../core/model-input';

/**
 * Judges every score of a batch against its source's threshold, in stream order (the
 * thresholds learn from what they judge, so order matters). A score judged while its
 * threshold calibrates (warm-up suppressed), or of a partial (padded) window, gets no
 * threshold and the verdict `warming-up`.
 *
 * @example scored$.pipe(applyThresholds(createThresholdRegistry(config.threshold)))
 */
export function applyThresholds<F>(
  judge: () => ScoreJudge,
): OperatorFunction<Scored<F>[], Judged<F>[]> {
  return map((batch) => {
    const registry = judge();
    // One model scores a whole batch: a swap lands between batches.
    if (batch.length > 0) registry.useModel?.(batch[0]!.modelVersion);
    return batch.map((scored) => {
      if (!Number.isFinite(scored.score)) {
        // An overflowing reconstruction error: whatever the input was, it is not normal. Kept
        // out of the threshold's statistics; the score is clamped so the sinks can write it.
        return judged(scored, Number.MAX_VALUE, null, 'anomaly', 1);
      }
      // A padded window lacks context: its score must neither raise an event nor teach the threshold.
      const decision = scored.partial ? null : registry.apply(scored.key, scored.score);
      return decision === null
        ? judged(scored, scored.score, null, 'warming-up', 0)
        : judged(scored, scored.score, decision.threshold, decision.verdict, decision.probability);
    });
  });
}

/** A scored input with its verdict; fields spelled out, not spread (a spread per frame was slow). */
function judged<F>(
  s: Scored<F>,
  score: number,
  threshold: number | null,
  verdict: Verdict,
  probability: number,
): Judged<F> {
  return {
    key: s.key,
    data: s.data,
    last: s.last,
    covered: s.covered,
    partial: s.partial,
    score,
    contributions: s.contributions,
    modelVersion: s.modelVersion,
    reconstruction: s.reconstruction,
    latent: s.latent,
    threshold,
    verdict,
    probability,
  };
}
