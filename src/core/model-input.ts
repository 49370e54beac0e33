import type { Accepted } from './kafka-record';

/** One feature's (sensors) or one image region's share of a frame's error. */
export interface Contribution {
  /** Feature index (sensors) or region index, row-major over the region grid (images). */
  index: number;
  /**
   * Mean error over that feature's readings in the window (standardized by the feature's
   * usual error with a standardized `model.score`), or over that region's pixels.
   */
  error: number;
}

/** The judgement on one score. `warming-up` only while the threshold calibrates. */
export type Verdict = 'normal' | 'anomaly' | 'warming-up';

/**
 * What travels through the detector after decoding: one model input (a sensor window or
 * an image) with the records it accounts for, then its score, then its verdict. The
 * `covered` records are acked together once every sink has what this input produced.
 */
export interface ModelInput<F> {
  /** Source id: the threshold key and the event key. */
  key: string;
  /**
   * The flat model input, not yet normalized (W·D readings, or H·W·C pixel intensities
   * 0-255; for RAW_U8 images the frame's own bytes).
   */
  data: Float32Array | Uint8Array;
  /** The record that completed this input: its event time, offset and id are the input's. */
  last: Accepted<F>;
  /** Every record first accounted for by this input, `last` included. */
  covered: Accepted<F>[];
  /** A padded window of a source with fewer than W readings: scored, never judged. */
  partial?: boolean;
}

/** Contributions kept per batch, made for one input when asked (see `contributionsOf`). */
export interface BatchContributions {
  /** The top-k contributions of the batch's input `at`, largest first. */
  top(at: number): Contribution[];
}

export interface Scored<F> extends ModelInput<F> {
  score: number;
  /** Sensor windows: the same score of the newest reading alone (NaN when not scored). */
  newest?: number;
  /**
   * The largest contributions, largest first (top-k of the pipeline's model.topK), when
   * given one by one; the detector leaves them in `batchTop` instead: read them with
   * `contributionsOf`.
   */
  contributions: Contribution[];
  /** The batch's contributions and this input's place in it; null when `contributions` holds them. */
  batchTop?: BatchContributions | null;
  topAt?: number;
  modelVersion: string;
  /**
   * The model's rebuilt input in raw units (same layout as `data`) and the input's latent
   * vector, from the pass that gave the score; present when the pipeline outputs them.
   */
  reconstruction?: Float32Array;
  latent?: Float32Array;
}

export interface Judged<F> extends Scored<F> {
  threshold: number | null;
  verdict: Verdict;
  probability: number;
}

/** One output of the detector: takes a judged batch, resolves when it is durably written. */
export interface BatchSink<F> {
  readonly name: string;
  /**
   * Called with each batch as it is judged, in order, before any later batch is judged
   * (write may come later): a sink whose output depends on earlier batches decides here.
   */
  prepare?(batch: readonly Judged<F>[]): void;
  write(batch: readonly Judged<F>[]): Promise<void>;
}

/** No contributions: one frozen array shared by every input that has none of its own. */
export const NO_CONTRIBUTIONS: Contribution[] = Object.freeze([]) as unknown as Contribution[];

/**
 * A model input with the fields scoring and judging fill in already there, as placeholders
 * (score NaN, no verdict yet): inferBatch and applyThresholds complete it in place, so one
 * object per input goes through the detector and its shape never changes on the way.
 *
 * @example unjudged('pump-1', window, record, [record], false)
 */
export function unjudged<T, D extends Float32Array | Uint8Array>(
  key: string,
  data: D,
  last: T,
  covered: T[],
  partial: boolean,
) {
  return {
    key,
    data,
    last,
    covered,
    partial,
    score: NaN,
    newest: NaN,
    contributions: NO_CONTRIBUTIONS,
    batchTop: null as BatchContributions | null,
    topAt: 0,
    modelVersion: '',
    reconstruction: undefined as Float32Array | undefined,
    latent: undefined as Float32Array | undefined,
    threshold: null as number | null,
    verdict: 'warming-up' as Verdict,
    probability: 0,
  };
}

/**
 * A scored input's top contributions: from its batch's when the detector scored it (made
 * now: most inputs never need theirs, and k objects per input in flight cost the
 * young-generation collections), else its own `contributions`.
 *
 * @example contributionsOf(judged) // [{ index: 2, error: 0.41 }, ...]
 */
export function contributionsOf(
  s: Pick<Scored<unknown>, 'contributions' | 'batchTop' | 'topAt'>,
): Contribution[] {
  return s.batchTop ? s.batchTop.top(s.topAt ?? 0) : s.contributions;
}
