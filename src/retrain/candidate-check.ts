import type { AcceptConfig } from './retrain-config';

/** What the check needs of a model: reconstructions of raw frames, in raw units. */
export interface Reconstructor {
  reconstruct(raw: Float32Array, n: number): Promise<Float32Array>;
}

/** A recent frame with the current model's verdict on it. */
export interface RecentFrame {
  data: Float32Array;
  anomaly: boolean;
}

export interface CandidateCheck {
  accepted: boolean;
  /** Why it was rejected (empty when accepted). */
  reasons: string[];
  /** Mean error of each model on the held-back frames (common units, see below). */
  heldBack: { frames: number; current: number; candidate: number; limit: number };
  /** Shares of the recent frames each model flags. */
  recent: {
    frames: number;
    /** Share of the recent frames each model flags by rule 2. */
    currentRate: number;
    candidateRate: number;
    limit: number;
    /** Share the current model's thresholds flagged when they were scored (for the log). */
    verdictRate: number;
  };
}

/**
 * Per-frame mean squared reconstruction error in common units: input and reconstruction
 * both scaled by `scale` (the candidate's normalization), so that two models with
 * different normalizations are compared on the same scale.
 */
async function errorsOf(
  model: Reconstructor,
  frames: readonly Float32Array[],
  scale: (raw: Float32Array) => Float32Array,
): Promise<Float64Array> {
  const out = new Float64Array(frames.length);
  if (frames.length === 0) return out;
  const size = (frames[0] as Float32Array).length;
  const chunk = 256;
  for (let from = 0; from < frames.length; from += chunk) {
    const part = frames.slice(from, from + chunk);
    const raw = new Float32Array(part.length * size);
    part.forEach((f, i) => raw.set(f, i * size));
    const x = scale(raw);
    const y = scale(await model.reconstruct(raw, part.length));
    for (let i = 0; i < part.length; i++) {
      let sum = 0;
      for (let k = i * size; k < (i + 1) * size; k++) {
        const e = (x[k] as number) - (y[k] as number);
        sum += e * e;
      }
      out[from + i] = sum / size;
    }
  }
  return out;
}

const mean = (v: Float64Array): number => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);

function quantile(v: Float64Array, q: number): number {
  const s = Float64Array.from(v).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Infinity;
}

/**
 * Decides whether a candidate model may replace the current one. Two rules:
 *
 * 1. Held-back normal data (frames never trained on): the candidate's mean reconstruction
 *    error must be at most (1 + tolerance) × the current model's, both measured in the
 *    candidate's normalized units on the same frames; a non-finite error rejects.
 * 2. Recent frames (the newest frames the current model scored): each model flags a frame
 *    whose error is above the `recentQuantile` of its own held-back errors; the candidate
 *    may flag at most the share the current model flags + `rateSlack`. A candidate whose
 *    errors on what just streamed by are out of line with its errors on the held-back data,
 *    more than the current model's are, would raise more alarms and is not better.
 *
 * @example
 * const check = await checkCandidate({ current, candidate, heldBack, recent, scale, accept: config.retrain.accept });
 * if (!check.accepted) logger.warn({ reasons: check.reasons }, 'candidate rejected');
 */
export async function checkCandidate(args: {
  current: Reconstructor;
  candidate: Reconstructor;
  heldBack: readonly Float32Array[];
  recent: readonly RecentFrame[];
  scale: (raw: Float32Array) => Float32Array;
  accept: AcceptConfig;
}): Promise<CandidateCheck> {
  const { accept, scale } = args;
  const reasons: string[] = [];
  const curHeld = await errorsOf(args.current, args.heldBack, scale);
  const candHeld = await errorsOf(args.candidate, args.heldBack, scale);
  const current = mean(curHeld);
  const candidate = mean(candHeld);
  const limit = current * (1 + accept.tolerance);
  if (args.heldBack.length === 0) reasons.push('no held-back frames to validate on');
  else if (!Number.isFinite(candidate))
    reasons.push('candidate reconstruction error on held-back frames is not finite');
  else if (candidate > limit) {
    reasons.push(
      `held-back error ${candidate.toPrecision(4)} > ${limit.toPrecision(4)} (current ${current.toPrecision(4)} + ${Math.round(accept.tolerance * 100)}%)`,
    );
  }

  // Rule 2: each model flags a recent frame when its error is above the recentQuantile of
  // its OWN held-back errors; the same rule for both, so the small-sample bias of the
  // quantile (about 1/(n+1) for the maximum of n held-back errors) cancels out.
  const recentFrames = args.recent.map((r) => r.data);
  const verdictRate = args.recent.filter((r) => r.anomaly).length / Math.max(1, args.recent.length);
  const flagRate = async (model: Reconstructor, held: Float64Array): Promise<number> => {
    if (recentFrames.length === 0 || held.length === 0) return 0;
    const cut = quantile(held, accept.recentQuantile);
    const errors = await errorsOf(model, recentFrames, scale);
    return errors.filter((e) => !(e <= cut)).length / errors.length;
  };
  const currentRate = await flagRate(args.current, curHeld);
  const candidateRate = Number.isFinite(candidate) ? await flagRate(args.candidate, candHeld) : 0;
  const rateLimit = currentRate + accept.rateSlack;
  if (candidateRate > rateLimit) {
    reasons.push(
      `would flag ${(candidateRate * 100).toFixed(1)}% of the recent frames > ${(rateLimit * 100).toFixed(1)}% (current ${(currentRate * 100).toFixed(1)}% + ${(accept.rateSlack * 100).toFixed(1)} points)`,
    );
  }
  return {
    accepted: reasons.length === 0,
    reasons,
    heldBack: { frames: args.heldBack.length, current, candidate, limit },
    recent: {
      frames: args.recent.length,
      currentRate,
      candidateRate,
      limit: rateLimit,
      verdictRate,
    },
  };
}
