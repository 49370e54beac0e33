import type { NabFile } from './nab-corpus';
import { NAB_PROFILES } from './nab-profiles';
import { normalizeNabScore, scoreNabCorpus } from './nab-scorer';
import { addCounts, figuresOf, type SeriesCounts, type SeriesFigures } from './series-metrics';

/**
 * Honest selection among detector variants (pipeline files) already run on the same
 * data: each group (a NAB category, an SMD machine) is held out in turn, the variant that
 * scores best on the other groups is chosen, and the held-out group is scored with that
 * choice. The held-out scores together estimate what the selection procedure gets on
 * data it did not see.
 */

export interface HeldOut {
  group: string;
  chosen: string;
  /** The chosen variant's score on the other groups (what it was chosen by). */
  trainScore: number;
}

/** Per variant: each file's counts, by file name. */
export type SeriesVariants = ReadonlyMap<string, ReadonlyMap<string, SeriesCounts>>;

/**
 * Leave one file (machine) out over `evaluate series` results, choosing by pooled point F1.
 *
 * @example seriesLeaveOneOut(new Map([['dense', denseCounts], ['conv1d', convCounts]]))
 */
export function seriesLeaveOneOut(
  variants: SeriesVariants,
  criterion: keyof SeriesFigures = 'pointF1',
): { folds: HeldOut[]; pooled: SeriesFigures } {
  const names = [...variants.keys()];
  const files = [...variants.get(names[0]!)!.keys()];
  const folds: HeldOut[] = [];
  const held: SeriesCounts[] = [];
  for (const file of files) {
    let best = { name: names[0]!, score: -Infinity };
    for (const name of names) {
      const counts = [...variants.get(name)!].filter(([f]) => f !== file).map(([, c]) => c);
      const score = figuresOf(addCounts(counts))[criterion] ?? -Infinity;
      if (score > best.score) best = { name, score };
    }
    folds.push({ group: file, chosen: best.name, trainScore: best.score });
    held.push(variants.get(best.name)!.get(file)!);
  }
  return { folds, pooled: figuresOf(addCounts(held)) };
}

/**
 * Leave one NAB category out, for the standard profile: the variant and its corpus-optimized
 * threshold are chosen on the other categories, then the held-out category is scored at that
 * threshold. `score` is the normalized score of all held-out raw scores together.
 */
export function nabLeaveOneOut(
  files: readonly NabFile[],
  variants: ReadonlyMap<string, ReadonlyMap<string, Float64Array>>,
): { folds: Array<HeldOut & { threshold: number; heldOut: number }>; score: number } {
  const profile = NAB_PROFILES.find((p) => p.name === 'standard')!;
  const categoryOf = (name: string) => name.split('/')[0]!;
  const categories = [...new Set(files.map((f) => categoryOf(f.name)))];
  const inputsOf = (variant: string, keep: (f: NabFile) => boolean) =>
    files.filter(keep).map((f) => ({
      name: f.name,
      scores: variants.get(variant)!.get(f.name)!,
      windows: f.windows,
    }));
  const folds: Array<HeldOut & { threshold: number; heldOut: number }> = [];
  let raw = 0;
  for (const category of categories) {
    let best = { name: '', score: -Infinity, threshold: 0 };
    for (const name of variants.keys()) {
      const r = scoreNabCorpus(
        inputsOf(name, (f) => categoryOf(f.name) !== category),
        profile,
      );
      if (r.normalized > best.score) best = { name, score: r.normalized, threshold: r.threshold };
    }
    const held = scoreNabCorpus(
      inputsOf(best.name, (f) => categoryOf(f.name) === category),
      profile,
      best.threshold,
    );
    raw += held.raw;
    folds.push({
      group: category,
      chosen: best.name,
      trainScore: best.score,
      threshold: best.threshold,
      heldOut: held.normalized,
    });
  }
  const windows = files.reduce((s, f) => s + f.windows.length, 0);
  return { folds, score: normalizeNabScore(raw, windows, profile) };
}
