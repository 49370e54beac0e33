import { map, type OperatorFunction } from 'rxjs';
import type { ScoreJudge } from '../thresholds/threshold-registry';
import type { Judged, Scored, Verdict } from '../core/model-input';

/**
 * Judges every score of a batch against its source's threshold, in stream order (the
 * thresholds learn from what they judge, so order matters). A score judged while its
 * threshold calibrates (warm-up suppressed), or of a partial (padded) window, gets no
 * threshold and the verdict `warming-up`. Each scored input is judged in place.
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
    const judged = batch as Judged<F>[];
    for (const j of judged) {
      if (!Number.isFinite(j.score)) {
        // An overflowing reconstruction error: whatever the input was, it is not normal. Kept
        // out of the threshold's statistics; the score is clamped so the sinks can write it.
        setVerdict(j, Number.MAX_VALUE, null, 'anomaly', 1);
        continue;
      }
      // A padded window lacks context: its score must neither raise an event nor teach the threshold.
      const decision = j.partial ? null : registry.apply(j.key, j.score);
      if (decision === null) setVerdict(j, j.score, null, 'warming-up', 0);
      else setVerdict(j, j.score, decision.threshold, decision.verdict, decision.probability);
    }
    return judged;
  });
}

/** Judges a scored input in place (no copy per frame): it becomes the Judged record. */
function setVerdict<F>(
  j: Judged<F>,
  score: number,
  threshold: number | null,
  verdict: Verdict,
  probability: number,
): void {
  j.score = score;
  j.threshold = threshold;
  j.verdict = verdict;
  j.probability = probability;
}
