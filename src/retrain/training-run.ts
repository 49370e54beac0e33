import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { messageOf } from '../core/errors';
import { activate, versionLabel, type ActiveModel } from '../inference/active-model';
import { logger } from '../observability/logger';
import { counter } from '../observability/metrics';
import type { ModelRelease } from '../core/records';
import { packRelease, versionNumber } from '../registry/model-release';
import { ModelStore } from '../registry/model-store';
import { scoreHeldBack } from '../inference/held-back-scores';
import { trainAndStore, type TrainedVersion } from '../registry/train-and-store';
import { architectureOf } from '../training/architecture';
import type { ModelSection } from '../training/model-config';
import { normalize } from '../training/normalization';
import { checkCandidate, type CandidateCheck } from './candidate-check';
import type { RetrainConfig } from './retrain-config';
import type { TrainingSet, TrainingTrigger, TrainRequest } from './training-set';

/**
 * The stores and publishing of a pipeline's training runs: candidates are staged in
 * `<store>/.candidates`, and a version that joins the store is published as its packed release.
 */
export function storeTargets(
  storeDir: string,
  pipeline: string,
  publish: (release: ModelRelease) => Promise<void>,
): Pick<TrainingRun, 'store' | 'staging' | 'publish'> {
  const store = new ModelStore(storeDir);
  return {
    store,
    staging: new ModelStore(join(storeDir, '.candidates')),
    publish: async (version) => publish(await packRelease(store, version, pipeline)),
  };
}

/** The outcome of one training run, as logged and handed to `onTraining`. */
export interface TrainingReport {
  trigger: TrainingTrigger;
  /** Why it was triggered, in words. */
  why: string;
  outcome: 'published' | 'rejected' | 'skipped' | 'failed';
  /** Version label of the published release. */
  version?: string;
  /** The model the candidate was compared with (and warm-started from). */
  base: string;
  samples: { train: number; heldBack: number; recent: number };
  /** Why it was rejected, skipped or failed. */
  reasons: string[];
  check?: CandidateCheck;
  /** Validation loss of the training run (normalized MSE, the release's metrics.loss). */
  loss?: number;
  epochs?: number;
  seconds: number;
}

/** The slice of a pipeline file a training run reads. */
export interface RetrainSection extends ModelSection {
  readonly retrain: RetrainConfig;
  readonly input: { readonly kafka: { readonly topic: string } };
}

/** What a training run works with. */
export interface TrainingRun {
  config: RetrainSection;
  /** The model scored with now (the candidate's base; the newest version when it is promoted). */
  current(): ActiveModel;
  /** Candidates are trained here, and quarantined here when rejected. */
  staging: ModelStore;
  /** The pipeline's store, which an accepted candidate joins as the next version. */
  store: ModelStore;
  /** Publishes the release of a version just installed in the store. */
  publish(version: number): Promise<void>;
  /** Makes an accepted candidate, opened from the store, the current model. */
  install(next: ActiveModel): void;
}

/**
 * One training run: a candidate trained on `set` (warm-started from the current model),
 * checked against it (src/retrain/candidate-check.ts); accepted, it becomes the next
 * version of the store, is published and installed; rejected, it is quarantined with its
 * reasons. Never throws: a failure is a report with outcome `failed`.
 */
export async function runTraining(
  run: TrainingRun,
  request: TrainRequest,
  set: TrainingSet,
  why: string,
): Promise<TrainingReport> {
  const rc = run.config.retrain;
  const kind = request.trigger ?? 'manual';
  const base = run.current();
  const { train, heldBack, recent } = set;
  const report: TrainingReport = {
    trigger: kind,
    why,
    outcome: 'skipped',
    base: base.version,
    samples: { train: train.length, heldBack: heldBack.length, recent: recent.length },
    reasons: [],
    seconds: 0,
  };
  if (train.length < rc.minSamples) {
    report.reasons.push(`${train.length} training frames < retrain.minSamples ${rc.minSamples}`);
    return report;
  }
  if (heldBack.length === 0) {
    report.reasons.push('no held-back frames to validate on yet');
    return report;
  }
  const pipeline = run.config.name;
  logger.info(
    { pipeline, trigger: kind, why, base: base.version, samples: report.samples },
    'retraining',
  );
  let staged: number | null = null;
  try {
    const trained = await trainCandidate(run, base, set, kind);
    staged = trained.version;
    report.loss = trained.result.valLoss;
    report.epochs = trained.result.epochs;
    const check = await checkAgainst(run, base, trained.version, set);
    report.check = check;
    if (!check.accepted) {
      report.outcome = 'rejected';
      report.reasons.push(...check.reasons);
      staged = null;
      await quarantine(run.staging, trained.version, {
        trigger: kind,
        why,
        base: base.version,
        reasons: check.reasons,
        check,
      });
      return report;
    }
    const next = await promote(run, trained.version, check);
    staged = null;
    await run.publish(next);
    report.outcome = 'published';
    report.version = versionLabel(next);
    const expect = architectureOf(run.config.frame, run.config.model);
    const stored = await run.store.load({ version: next, expect });
    run.install(await activate(stored, run.config.model, base.backend));
    return report;
  } catch (err) {
    report.outcome = 'failed';
    report.reasons.push(messageOf(err));
    if (staged !== null) await run.staging.quarantine(staged).catch(() => undefined);
    return report;
  }
}

/** Trains a candidate into the staging store, warm-started from `base` when configured. */
async function trainCandidate(
  run: TrainingRun,
  base: ActiveModel,
  set: TrainingSet,
  kind: TrainingTrigger,
): Promise<TrainedVersion> {
  const { config } = run;
  const { train } = set;
  const size = (train[0] as Float32Array).length;
  const raw = new Float32Array(train.length * size);
  train.forEach((f, i) => raw.set(f, i * size));
  return trainAndStore(
    config,
    { raw, count: train.length, source: `retrain:${kind}:${config.input.kafka.topic}` },
    {
      store: run.staging.dir,
      epochs: config.retrain.epochs,
      seed: config.model.train.seed,
      scoreHeldBack: scoreHeldBack(config.model),
      ...(config.retrain.warmStart ? { warmFrom: base.stored.autoencoder } : {}),
    },
  );
}

/** The staged candidate checked against `base` on the held-back and recent frames. */
async function checkAgainst(
  run: TrainingRun,
  base: ActiveModel,
  version: number,
  set: TrainingSet,
): Promise<CandidateCheck> {
  const expect = architectureOf(run.config.frame, run.config.model);
  const candidate = await activate(
    await run.staging.load({ version, expect }),
    run.config.model,
    base.backend,
  );
  try {
    const reconstructor = (m: ActiveModel) => ({
      reconstruct: async (x: Float32Array, n: number) =>
        (await m.scorer.scoreWithOutputs(x, n)).reconstruction,
    });
    const norm = candidate.stored.metadata.normalization;
    return await checkCandidate({
      current: reconstructor(base),
      candidate: reconstructor(candidate),
      heldBack: set.heldBack,
      recent: set.recent,
      scale: (x) => normalize(norm, x),
      accept: run.config.retrain.accept,
    });
  } finally {
    await candidate.dispose().catch(() => undefined);
  }
}

/** A rejected candidate, kept with its reasons for a post-mortem; never in the store, never published. */
async function quarantine(staging: ModelStore, version: number, why: object): Promise<void> {
  const kept = await staging.quarantine(version).catch(() => null);
  if (!kept) return;
  await fs
    .writeFile(join(kept, 'rejected.json'), JSON.stringify(why, null, 2) + '\n')
    .catch(() => undefined);
}

/**
 * Moves an accepted candidate from staging into the store as its next version, with the
 * check's figures in its metadata; returns that version.
 */
async function promote(run: TrainingRun, staged: number, check: CandidateCheck): Promise<number> {
  const files = await run.staging.files(staged);
  const next =
    Math.max((await run.store.versions()).at(-1) ?? 0, versionNumber(run.current().version)) + 1;
  const metadata = JSON.parse(
    Buffer.from(files['metadata.json'] as Uint8Array).toString('utf8'),
  ) as { version: number; validation: Record<string, number> };
  metadata.version = next;
  metadata.validation = {
    ...metadata.validation,
    heldBackError: check.heldBack.candidate,
    heldBackErrorBase: check.heldBack.current,
    recentFlagRate: check.recent.candidateRate,
  };
  files['metadata.json'] = Buffer.from(JSON.stringify(metadata, null, 2) + '\n');
  await run.store.install(next, files);
  await fs.rm(run.staging.pathOf(staged), { recursive: true, force: true });
  return next;
}

/** Logs a finished run and counts it (and a rejection by its rule). */
export function reportTraining(pipeline: string, r: TrainingReport): void {
  counter(
    'aestream_retrain_runs_total',
    'Training runs of the retrainer, by trigger and outcome.',
    ['pipeline', 'trigger', 'outcome'],
  ).inc({ pipeline, trigger: r.trigger, outcome: r.outcome });
  if (r.outcome === 'rejected') {
    const rejections = counter(
      'aestream_retrain_rejected_total',
      'Rejected retraining candidates, by the rule that rejected them.',
      ['pipeline', 'rule'],
    );
    for (const reason of r.reasons) {
      rejections.inc({
        pipeline,
        rule: reason.startsWith('would flag') ? 'recent-rate' : 'held-back',
      });
    }
  }
  const fields = {
    pipeline,
    trigger: r.trigger,
    why: r.why,
    base: r.base,
    samples: r.samples,
    outcome: r.outcome,
    ...(r.version ? { version: r.version } : {}),
    ...(r.reasons.length ? { reasons: r.reasons } : {}),
    ...(r.check ? { heldBack: r.check.heldBack, recent: r.check.recent } : {}),
    ...(r.loss !== undefined ? { loss: r.loss } : {}),
    seconds: r.seconds,
  };
  if (r.outcome === 'published') logger.info(fields, 'retraining published a release');
  else logger.warn(fields, `retraining ${r.outcome}`);
}
