/**
 * Area under the ROC curve: the probability that a randomly chosen positive scores higher
 * than a randomly chosen negative (ties count one half). Computed exactly from ranks
 * (Mann-Whitney U) in O(n log n); shared by the image and NAB evaluations.
 *
 * @example
 * auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]) // 0.75
 */
export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = scores.length;
  if (positive.length !== n) throw new RangeError(`auroc: ${n} scores, ${positive.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let rankSumPositive = 0;
  let positives = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const averageRank = (i + j) / 2 + 1; // ranks are 1-based; ties share their mean rank
    for (let k = i; k <= j; k++) {
      if (positive[order[k] as number]) {
        rankSumPositive += averageRank;
        positives++;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new RangeError('auroc needs at least one positive and one negative');
  }
  return (rankSumPositive - (positives * (positives + 1)) / 2) / (positives * negatives);
}
