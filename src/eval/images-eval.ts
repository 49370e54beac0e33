import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AeError, ErrorCodes } from '../core/errors';
import { readIdxFile } from '../connectors/files/idx-file';
import { auroc } from './auroc';

/**
 * The data and report of `aestream evaluate images`, the one-class protocol on an image
 * dataset in IDX files (MNIST, Fashion-MNIST): per class, the pipeline's model is trained
 * on the training images of that class, the whole test set streams through the detector,
 * and its scores are measured by how well they separate the other classes (anomalies) from
 * the class (AUROC); its verdicts by the share of each flagged.
 */

/** One split of an MNIST-layout folder: images [count, height, width] and their labels. */
export interface Split {
  file: string;
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

function findFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new AeError(
    ErrorCodes.DATA_INVALID,
    `${dir} has no ${stem}(.gz) (expected the four IDX files of MNIST layout)`,
  );
}

/** Reads `<prefix>-images-idx3-ubyte(.gz)` and its labels from an MNIST-layout folder. */
export function readSplit(dir: string, prefix: 'train' | 't10k'): Split {
  const file = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const img = readIdxFile(file);
  const lab = readIdxFile(findFile(dir, `${prefix}-labels-idx1-ubyte`));
  const [count, height, width] = img.shape as [number, number, number];
  if (img.shape.length !== 3 || lab.shape.length !== 1 || lab.shape[0] !== count) {
    throw new AeError(
      ErrorCodes.DATA_INVALID,
      `${dir}: ${prefix} images [${img.shape.join(', ')}] and labels [${lab.shape.join(', ')}] do not match`,
    );
  }
  return { file, images: img.data, labels: lab.data, count, height, width };
}

/** The classes of a split's labels, ascending. */
export function classesOf(split: Split): number[] {
  return [...new Set(split.labels)].sort((a, b) => a - b);
}

/**
 * The images of class `cls` (at most `max`, the first in file order; 0 = all), as raw
 * 0-255 training samples.
 */
export function imagesOfClass(
  split: Split,
  cls: number,
  max = 0,
): { raw: Float32Array; count: number } {
  const size = split.height * split.width;
  const idx: number[] = [];
  for (let i = 0; i < split.count && (max <= 0 || idx.length < max); i++) {
    if (split.labels[i] === cls) idx.push(i);
  }
  const raw = new Float32Array(idx.length * size);
  idx.forEach((src, j) => raw.set(split.images.subarray(src * size, (src + 1) * size), j * size));
  return { raw, count: idx.length };
}

/** The outcome of one class: its model, AUROC and what the threshold flagged. */
export interface ImageClassResult {
  cls: number;
  trainImages: number;
  /** Test images of this class (normal) and of the others (anomalous). */
  testNormal: number;
  testAnomalous: number;
  /** AUROC of the detector's scores, anomalous = another class. */
  auroc: number;
  /** Shares of anomalous and normal test images judged `anomaly`. */
  flaggedAnomalous: number;
  flaggedNormal: number;
  /** Test images judged while the threshold calibrated (never flagged). */
  warmingUp: number;
  /** Test images the detector gave no score (dead letters). */
  unscored: number;
  modelVersion: string;
  epochs: number;
  valLoss: number;
  trainSeconds: number;
  streamSeconds: number;
}

export interface ImagesEvalReport {
  pipeline: string;
  data: string;
  protocol: string;
  /** The pipeline's model section (architecture and training) the figures belong to. */
  model: Record<string, unknown>;
  threshold: Record<string, unknown>;
  engine: string;
  backend: string;
  classes: ImageClassResult[];
  meanAuroc: number;
  meanFlaggedAnomalous: number;
  meanFlaggedNormal: number;
  seconds: number;
}

export const IMAGES_PROTOCOL =
  "one-class: the pipeline's model trained on the training images of one class (as aestream train does), " +
  'the whole test set streamed through the detector (as aestream detect runs it); ' +
  'AUROC of the scores with the other classes as anomalies, and the shares of anomalous and normal images judged anomalies';

/**
 * The figures of one class from the detector's score and verdict of every test image
 * (`scores` NaN where it gave none; `verdicts` 1 = anomaly, 2 = warming-up, 0 = normal).
 */
export function classFigures(
  cls: number,
  labels: ArrayLike<number>,
  scores: Float64Array,
  verdicts: Uint8Array,
): Pick<
  ImageClassResult,
  | 'testNormal'
  | 'testAnomalous'
  | 'auroc'
  | 'flaggedAnomalous'
  | 'flaggedNormal'
  | 'warmingUp'
  | 'unscored'
> {
  const n = labels.length;
  // An image without a score ranks lowest: it counts as the detector missing it.
  const ranked = Float64Array.from(scores, (s) => (Number.isNaN(s) ? -Number.MAX_VALUE : s));
  const positive = Array.from(labels, (l) => l !== cls);
  let anomalous = 0;
  let flaggedAnomalous = 0;
  let flaggedNormal = 0;
  let warmingUp = 0;
  let unscored = 0;
  for (let i = 0; i < n; i++) {
    if (positive[i]) anomalous++;
    if (verdicts[i] === 1) {
      if (positive[i]) flaggedAnomalous++;
      else flaggedNormal++;
    }
    if (verdicts[i] === 2) warmingUp++;
    if (Number.isNaN(scores[i]!)) unscored++;
  }
  return {
    testNormal: n - anomalous,
    testAnomalous: anomalous,
    auroc: auroc(ranked, positive),
    flaggedAnomalous: flaggedAnomalous / Math.max(anomalous, 1),
    flaggedNormal: flaggedNormal / Math.max(n - anomalous, 1),
    warmingUp,
    unscored,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The per-class table with the mean row, as printed and written to report.md. */
export function formatImagesTable(report: ImagesEvalReport): string {
  const rows = report.classes.map(
    (c) =>
      `| ${c.cls} | ${c.trainImages} | ${c.auroc.toFixed(4)} | ${pct(c.flaggedAnomalous)} | ${pct(c.flaggedNormal)} | ` +
      `${c.warmingUp} | ${c.epochs} | ${c.trainSeconds.toFixed(0)} | ${c.streamSeconds.toFixed(0)} |`,
  );
  return [
    '| class | train images | **AUROC** | anomalous flagged | normal flagged | warming up | epochs | train s | stream s |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    `| **mean (${report.classes.length})** | | **${report.meanAuroc.toFixed(4)}** | ${pct(report.meanFlaggedAnomalous)} | ${pct(report.meanFlaggedNormal)} | | | | |`,
  ].join('\n');
}

/** Writes `report.md` and `results.json` under `outDir`; returns the report's path. */
export function writeImagesReport(outDir: string, report: ImagesEvalReport): string {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(report, null, 2) + '\n');
  const path = join(outDir, 'report.md');
  writeFileSync(
    path,
    [
      `# One-class AUROC: ${report.data}`,
      '',
      `pipeline ${report.pipeline}; model ${JSON.stringify(report.model)}; threshold ${JSON.stringify(report.threshold)}`,
      `engine ${report.engine}, backend ${report.backend}; ${report.seconds.toFixed(0)} s`,
      '',
      `Protocol: ${report.protocol}.`,
      '',
      formatImagesTable(report),
      '',
    ].join('\n'),
  );
  return path;
}
