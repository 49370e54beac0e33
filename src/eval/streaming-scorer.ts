/**
 * What NAB's detector mode needs of a detector: one anomaly score in [0, 1] per row, in
 * stream order, computed only from that row and the rows before it.
 */
export interface StreamingScorer {
  score(value: number, timestamp: number): number;
}

/** Makes a fresh scorer for each file; `probation` is the number of warm-up rows. */
export type StreamingScorerFactory = (info: {
  name: string;
  rows: number;
  probation: number;
}) => StreamingScorer;
