/**
 * Quality figures of a labelled series, from row labels (1 = anomalous) and row
 * predictions (1 = flagged): point-wise precision/recall/F1 without point adjustment,
 * event-wise recall, composite F1 (Garg et al. 2021: event-wise recall with point-wise
 * precision), the false-alarm rate on normal rows, and point-adjusted F1 (inflated; for
 * comparison with the literature only). A ratio whose denominator is 0 is null (e.g.
 * recall of a series without anomalies), never a made-up 0 or 1.
 */

/** Maximal runs of anomalous rows, as [start, end) row ranges. */
export function segmentsOf(labels: ArrayLike<number>): Array<[number, number]> {
  const segments: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      segments.push([start, i]);
      start = -1;
    }
  }
  if (start >= 0) segments.push([start, labels.length]);
  return segments;
}

/** The counts behind every figure; counts of several series add up to pooled figures. */
export interface SeriesCounts {
  rows: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  segments: number;
  /** Segments with at least one flagged row. */
  segmentsFound: number;
  /** True positives and false negatives once every found segment counts as fully flagged. */
  adjustedTp: number;
  adjustedFn: number;
}

export interface SeriesFigures {
  pointPrecision: number | null;
  pointRecall: number | null;
  pointF1: number | null;
  eventRecall: number | null;
  compositeF1: number | null;
  falseAlarmRate: number | null;
  /** Inflated by construction (a random detector reaches about 0.76 on SMD). */
  pointAdjustedF1: number | null;
}

/**
 * Counts of one series.
 *
 * @example countSeries([0, 1, 1, 0], [0, 0, 1, 1]) // tp 1, fp 1, fn 1, tn 1, 1 segment found
 */
export function countSeries(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
): SeriesCounts {
  if (labels.length !== predictions.length) {
    throw new RangeError(
      `countSeries: ${labels.length} labels but ${predictions.length} predictions`,
    );
  }
  const c = { ...zeroCounts(), rows: labels.length };
  for (let i = 0; i < labels.length; i++) {
    const flagged = predictions[i] ? 1 : 0;
    if (labels[i]) {
      if (flagged) c.tp++;
      else c.fn++;
    } else if (flagged) c.fp++;
    else c.tn++;
  }
  for (const [start, end] of segmentsOf(labels)) {
    c.segments++;
    let hit = false;
    for (let i = start; i < end && !hit; i++) hit = Boolean(predictions[i]);
    if (hit) {
      c.segmentsFound++;
      c.adjustedTp += end - start;
    } else c.adjustedFn += end - start;
  }
  return c;
}

function zeroCounts(): SeriesCounts {
  return {
    rows: 0,
    tp: 0,
    fp: 0,
    fn: 0,
    tn: 0,
    segments: 0,
    segmentsFound: 0,
    adjustedTp: 0,
    adjustedFn: 0,
  };
}

/** The sum of several series' counts (pooled figures weigh every row and segment alike). */
export function addCounts(all: readonly SeriesCounts[]): SeriesCounts {
  const sum = zeroCounts();
  for (const c of all)
    for (const k of Object.keys(sum) as Array<keyof SeriesCounts>) sum[k] += c[k];
  return sum;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

/** Harmonic mean; 0 when either side is 0, null when recall is undefined. */
function f1(precision: number | null, recall: number | null): number | null {
  if (recall === null) return null;
  if (recall === 0 || precision === null || precision === 0) return 0;
  return (2 * precision * recall) / (precision + recall);
}

/** The figures of counts (one series or pooled). */
export function figuresOf(c: SeriesCounts): SeriesFigures {
  const pointPrecision = ratio(c.tp, c.tp + c.fp);
  const pointRecall = ratio(c.tp, c.tp + c.fn);
  const eventRecall = ratio(c.segmentsFound, c.segments);
  // Point adjustment only adds true positives: the flagged normal rows stay false positives.
  const adjustedPrecision = ratio(c.adjustedTp, c.adjustedTp + c.fp);
  const adjustedRecall = ratio(c.adjustedTp, c.adjustedTp + c.adjustedFn);
  return {
    pointPrecision,
    pointRecall,
    pointF1: f1(pointPrecision, pointRecall),
    eventRecall,
    compositeF1: f1(pointPrecision, eventRecall),
    falseAlarmRate: ratio(c.fp, c.fp + c.tn),
    pointAdjustedF1: f1(adjustedPrecision, adjustedRecall),
  };
}
