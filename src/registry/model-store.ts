import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import { type Architecture, architectureMismatches, inputShapeOf } from '../training/architecture';
import { Autoencoder } from '../training/autoencoder';
import { type ErrorStandards, isValidErrorStandards } from '../training/error-standards';
import { isValidNormalization, type Normalization } from '../training/normalization';
import { exportOnnx } from '../training/onnx-export';

/**
 * The versioned model store: one folder per version under the pipeline's `model.store`:
 *
 * ```
 * models/images/v000003/
 *   model.json      tfjs topology + weights manifest
 *   weights.bin     tfjs weights
 *   model.onnx      the same network for onnxruntime
 *   metadata.json   architecture, input shape, normalization, training, validation, hashes
 * ```
 *
 * A version is written to a temporary folder and renamed into place, so readers never
 * see half a model. Loading checks every file against its sha256 and the architecture
 * against the pipeline's, and refuses with AE_ERR_MODEL_CORRUPT / AE_ERR_MODEL_INCOMPATIBLE.
 */

export const METADATA_FORMAT = 1;
const FILES = ['model.json', 'weights.bin', 'model.onnx'] as const;

export interface TrainingInfo {
  /** Where the training data came from (file path, topic range, ...). */
  source: string;
  /** Samples the model was trained on (without the validation share). */
  count: number;
  /** First and last sample time or index of the training data, when known. */
  range?: { from: string | number; to: string | number };
  epochs?: number;
  seed?: number;
  denoise?: number;
  /** Corruption of a denoising autoencoder's training inputs (`model.denoise`). */
  corruption?: { noise: 'gaussian' | 'masking'; level: number };
  backend?: string;
  samplesPerSecond?: number;
}

/**
 * The model's scores on held-back normal samples, computed by the detector's scorer right
 * after training: thresholds start every new source calibrated from them.
 */
export interface ScoreCalibration {
  /** Held-back samples scored. */
  count: number;
  /** Their scores in random order (at most CALIBRATION_SCORES of them). */
  scores: number[];
  /** Sensor windows: the scores of their newest readings alone, in the same order. */
  newest?: number[];
  /**
   * The sd of the scores (and newest-reading scores) of windows spread evenly over all the
   * training data, trained on or held back: every condition training saw, where the
   * held-back windows are the last ones in order.
   */
  spread?: ScoreSpread;
}

export interface ScoreSpread {
  scores: number;
  newest?: number;
}

export interface ModelMetadata {
  format: number;
  version: number;
  pipeline?: string;
  architecture: Architecture;
  inputShape: number[];
  normalization: Normalization;
  /** Residual spread on held-back windows (sensor models), for standardized scores. */
  errorStandards?: ErrorStandards;
  training: TrainingInfo;
  validation: Record<string, number>;
  calibration?: ScoreCalibration;
  createdAt: string;
  /** sha256 of each file of the version. */
  files: Record<string, string>;
  /** sha256 over the file hashes, architecture and normalization: the identity of a release. */
  contentHash: string;
}

export interface StoredModel {
  version: number;
  path: string;
  metadata: ModelMetadata;
  autoencoder: Autoencoder;
  /** The ONNX encoding of the same network, for the onnx engine. */
  onnx: Uint8Array;
}

export interface SaveInfo {
  pipeline?: string;
  errorStandards?: ErrorStandards;
  training: TrainingInfo;
  validation: Record<string, number>;
  calibration?: ScoreCalibration;
}

const sha256 = (data: Uint8Array | string): string =>
  createHash('sha256').update(data).digest('hex');

function contentHashOf(
  files: Record<string, string>,
  arch: Architecture,
  norm: Normalization,
  standards?: ErrorStandards,
): string {
  const names = Object.keys(files).sort();
  return sha256(
    names.map((n) => `${n}:${files[n]}`).join('\n') +
      `\n${JSON.stringify(arch)}\n${JSON.stringify(norm)}` +
      (standards ? `\n${JSON.stringify(standards)}` : ''),
  );
}

const folderOf = (version: number): string => `v${String(version).padStart(6, '0')}`;

/** Serialises a tfjs model to model.json + weights.bin bytes (no tfjs-node file:// handler needed). */
export async function modelArtifacts(
  model: tf.LayersModel,
): Promise<{ modelJson: string; weights: Uint8Array }> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (captured === undefined) throw new Error('tfjs did not hand over the model artifacts');
  const data = captured.weightData;
  const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
  const weights = Buffer.concat(buffers.map((b) => Buffer.from(b)));
  const modelJson = JSON.stringify({
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    modelTopology: captured.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: captured.weightSpecs ?? [] }],
  });
  return { modelJson, weights: new Uint8Array(weights) };
}

export class ModelStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Version numbers present in the store, ascending. */
  async versions(): Promise<number[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    return names
      .map((n) => /^v(\d{6,})$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  /** Folder of a version. */
  pathOf(version: number): string {
    return join(this.dir, folderOf(version));
  }

  /**
   * Writes the autoencoder as the next version and returns it.
   *
   * @example
   * const { version, path } = await store.save(ae, { training: { source: 'x.csv', count: 5000 }, validation: { loss: 0.01 } });
   */
  async save(
    ae: Autoencoder,
    info: SaveInfo,
  ): Promise<{ version: number; path: string; metadata: ModelMetadata }> {
    const { modelJson, weights } = await modelArtifacts(ae.model);
    const onnx = exportOnnx(ae.model);
    const contents: Record<string, Uint8Array | string> = {
      'model.json': modelJson,
      'weights.bin': weights,
      'model.onnx': onnx,
    };
    const files: Record<string, string> = {};
    for (const name of FILES) files[name] = sha256(contents[name] as Uint8Array | string);
    await fs.mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(tmp);
    try {
      for (const name of FILES) await fs.writeFile(join(tmp, name), contents[name] as Uint8Array);
      // Two writers may race for the same number: the loser of the rename takes the next one.
      for (let attempt = 0; ; attempt++) {
        const version = ((await this.versions()).at(-1) ?? 0) + 1;
        const metadata: ModelMetadata = {
          format: METADATA_FORMAT,
          version,
          ...(info.pipeline !== undefined ? { pipeline: info.pipeline } : {}),
          architecture: ae.architecture,
          inputShape: inputShapeOf(ae.architecture),
          normalization: ae.normalization,
          ...(info.errorStandards ? { errorStandards: info.errorStandards } : {}),
          training: info.training,
          validation: info.validation,
          ...(info.calibration ? { calibration: info.calibration } : {}),
          createdAt: new Date().toISOString(),
          files,
          contentHash: contentHashOf(files, ae.architecture, ae.normalization, info.errorStandards),
        };
        await fs.writeFile(join(tmp, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n');
        try {
          await fs.rename(tmp, this.pathOf(version));
          return { version, path: this.pathOf(version), metadata };
        } catch (err) {
          if (attempt >= 5) throw err;
        }
      }
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Loads the latest version, or `version`. With `expect`, a model whose architecture
   * differs is refused with AE_ERR_MODEL_INCOMPATIBLE naming each difference; damaged
   * files are refused with AE_ERR_MODEL_CORRUPT naming the file.
   */
  async load(opts: { version?: number; expect?: Architecture } = {}): Promise<StoredModel> {
    const versions = await this.versions();
    const version = opts.version ?? versions.at(-1);
    if (version === undefined) {
      throw new AeError(
        ErrorCodes.MODEL_NOT_FOUND,
        `no model in ${this.dir}; train one with: aestream train -p <pipeline.yaml> --data <file>`,
      );
    }
    if (!versions.includes(version)) {
      throw new AeError(
        ErrorCodes.MODEL_NOT_FOUND,
        `model version ${version} not in ${this.dir} (has: ${versions.join(', ') || 'none'})`,
      );
    }
    const path = this.pathOf(version);
    const corrupt = (what: string, cause?: unknown): AeError =>
      new AeError(ErrorCodes.MODEL_CORRUPT, `model ${path}: ${what}`, { cause });

    let metadata: ModelMetadata;
    try {
      metadata = JSON.parse(
        await fs.readFile(join(path, 'metadata.json'), 'utf8'),
      ) as ModelMetadata;
    } catch (err) {
      throw corrupt(`metadata.json unreadable (${messageOf(err)})`, err);
    }
    if (metadata.format !== METADATA_FORMAT) {
      throw new AeError(
        ErrorCodes.MODEL_INCOMPATIBLE,
        `model ${path}: metadata format ${String(metadata.format)}, this aestream reads ${METADATA_FORMAT}`,
      );
    }
    if (
      typeof metadata.architecture !== 'object' ||
      typeof metadata.files !== 'object' ||
      typeof metadata.normalization !== 'object'
    ) {
      throw corrupt('metadata.json lacks architecture, normalization or file hashes');
    }
    if (opts.expect !== undefined) {
      const diff = architectureMismatches(opts.expect, metadata.architecture);
      if (diff.length > 0) {
        throw new AeError(
          ErrorCodes.MODEL_INCOMPATIBLE,
          `model ${path} does not fit the pipeline: ${diff.join('; ')}`,
        );
      }
    }
    const contents: Record<string, Buffer> = {};
    for (const name of FILES) {
      try {
        contents[name] = await fs.readFile(join(path, name));
      } catch (err) {
        throw corrupt(`${name} missing or unreadable`, err);
      }
      const actual = sha256(contents[name] as Buffer);
      if (actual !== metadata.files[name]) {
        throw corrupt(
          `${name} sha256 ${actual.slice(0, 12)}… does not match metadata (${String(metadata.files[name]).slice(0, 12)}…)`,
        );
      }
    }
    if (
      contentHashOf(
        metadata.files,
        metadata.architecture,
        metadata.normalization,
        metadata.errorStandards,
      ) !== metadata.contentHash
    ) {
      throw corrupt('content hash does not match (metadata.json was altered)');
    }
    if (!isValidNormalization(metadata.normalization))
      throw corrupt('normalization has invalid numbers');
    const arch = metadata.architecture;
    if (
      metadata.errorStandards !== undefined &&
      (arch.kind === 'conv-ae' || !isValidErrorStandards(metadata.errorStandards, arch.features))
    )
      throw corrupt('error standards do not fit the model or have invalid numbers');

    let model: tf.LayersModel;
    try {
      const json = JSON.parse((contents['model.json'] as Buffer).toString('utf8')) as {
        modelTopology: object;
        weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
      };
      const w = contents['weights.bin'] as Buffer;
      const weightData = w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer;
      model = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
          weightData,
        }),
      );
    } catch (err) {
      throw corrupt(`tfjs cannot load it (${messageOf(err)})`, err);
    }
    const finite = tf.tidy(() =>
      model.getWeights().every((t) => tf.all(tf.isFinite(t)).dataSync()[0] === 1),
    );
    if (!finite) {
      model.dispose();
      throw corrupt('weights contain NaN or Infinity');
    }
    const shape = (model.inputs[0] as tf.SymbolicTensor).shape.slice(1);
    if (JSON.stringify(shape) !== JSON.stringify(inputShapeOf(metadata.architecture))) {
      model.dispose();
      throw corrupt(`model input ${JSON.stringify(shape)} differs from its metadata`);
    }
    const c = contents['model.onnx'] as Buffer;
    return {
      version,
      path,
      metadata,
      autoencoder: new Autoencoder(metadata.architecture, model, metadata.normalization),
      onnx: new Uint8Array(c.buffer, c.byteOffset, c.byteLength),
    };
  }

  /**
   * Installs a version received from elsewhere (a model release) under its own number:
   * the files are written to a temporary folder and renamed into place, so a reader never
   * sees half a version. An existing version of that number is left as it is (the same
   * release seen twice, or a store shared with the trainer); `load` then checks its hashes.
   */
  async install(
    version: number,
    files: Readonly<Record<string, Uint8Array>>,
  ): Promise<{ path: string; installed: boolean }> {
    const target = this.pathOf(version);
    if ((await this.versions()).includes(version)) return { path: target, installed: false };
    for (const name of [...FILES, 'metadata.json']) {
      if (!(name in files)) {
        throw new AeError(ErrorCodes.MODEL_CORRUPT, `model release v${version} lacks ${name}`);
      }
    }
    await fs.mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(tmp);
    try {
      for (const [name, data] of Object.entries(files)) {
        if (!/^[a-z.]+$/.test(name))
          throw new AeError(ErrorCodes.MODEL_CORRUPT, `model release file name ${name}`);
        await fs.writeFile(join(tmp, name), data);
      }
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      // Another writer won the race: its copy is checked by load like any other.
      if ((await this.versions()).includes(version)) return { path: target, installed: false };
      throw err;
    }
    return { path: target, installed: true };
  }

  /**
   * Moves a version out of the way (to `.rejected-vNNNNNN-<time>`), so that a release that
   * failed its checks is never picked as the latest at the next start.
   */
  async quarantine(version: number): Promise<string> {
    const to = join(this.dir, `.rejected-${folderOf(version)}-${Date.now()}`);
    await fs.rename(this.pathOf(version), to);
    return to;
  }

  /** The files of a stored version, as `install` takes them. */
  async files(version: number): Promise<Record<string, Uint8Array>> {
    const out: Record<string, Uint8Array> = {};
    for (const name of [...FILES, 'metadata.json']) {
      out[name] = await fs.readFile(join(this.pathOf(version), name));
    }
    return out;
  }
}
