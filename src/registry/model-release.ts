import { createHash } from 'node:crypto';
import type { ModelRelease } from '../core/records';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import type { Architecture } from '../training/architecture';
import type { ModelStore, StoredModel } from './model-store';
import type { Normalization } from '../training/normalization';

/**
 * Model releases: a stored model version as one Avro record for the `aestream.models`
 * topic (compacted, keyed by pipeline), and back into a store. The artifact is a bundle of
 * the version's files (metadata.json, model.json, weights.bin, model.onnx); its sha256 is
 * in the release, and the store checks every file's hash again when it loads the version.
 */

const BUNDLE_FORMAT = 'aestream-model-bundle/1';

interface Bundle {
  format: string;
  files: Record<string, string>;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** "v000003" (or "v3", "3") → 3. */
export function versionNumber(label: string): number {
  const n = Number(label.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1) {
    throw new AeError(
      ErrorCodes.MODEL_CORRUPT,
      `model release version '${label}' is not a version number`,
    );
  }
  return n;
}

const RELEASE_KIND = { robust: 'ROBUST', standard: 'ZSCORE', minmax: 'MINMAX' } as const;

function releaseNormalization(norm: Normalization): ModelRelease['normalization'] {
  return norm.kind === 'range'
    ? { kind: 'MINMAX', offset: [norm.min], scale: [norm.max - norm.min] }
    : { kind: RELEASE_KIND[norm.kind], offset: [...norm.center], scale: [...norm.scale] };
}

/**
 * The release of a stored version, artifact inline.
 *
 * @example const release = await packRelease(new ModelStore('models/sensors'), 3, 'sensors'); codec.encode(release)
 */
export async function packRelease(
  store: ModelStore,
  version: number,
  pipeline: string,
): Promise<ModelRelease> {
  const files = await store.files(version);
  const metadata = JSON.parse(Buffer.from(files['metadata.json']).toString('utf8')) as {
    architecture: Architecture;
    inputShape: number[];
    normalization: Normalization;
    training: { count: number; range?: { from: string | number; to: string | number } };
    validation: Record<string, number>;
    createdAt: string;
  };
  const bundle: Bundle = {
    format: BUNDLE_FORMAT,
    files: Object.fromEntries(
      Object.entries(files).map(([name, data]) => [name, Buffer.from(data).toString('base64')]),
    ),
  };
  const bytes = Buffer.from(JSON.stringify(bundle));
  const { kind, ...architecture } = metadata.architecture;
  const time = (v: string | number | undefined) => (typeof v === 'number' && v > 1e11 ? v : null);
  return {
    pipeline,
    version: `v${String(version).padStart(6, '0')}`,
    createdAt: Date.parse(metadata.createdAt),
    architecture: `${kind} ${JSON.stringify(architecture)}`,
    inputShape: metadata.inputShape,
    normalization: releaseNormalization(metadata.normalization),
    trainingFrom: time(metadata.training.range?.from),
    trainingTo: time(metadata.training.range?.to),
    trainingSize: metadata.training.count,
    metrics: Object.fromEntries(
      Object.entries(metadata.validation).filter(([, v]) => Number.isFinite(v)),
    ),
    artifact: { bytes, uri: null },
    sha256: sha256(bytes),
  };
}

/**
 * Installs a release into a store and loads it, refusing it with a clear error when its
 * artifact does not match its hash, a file is missing or altered, its architecture does not
 * fit the pipeline (`expect`), or its weights hold NaN. The running model is not touched:
 * the caller swaps only after this resolved.
 *
 * @example const stored = await importRelease(release, store, architectureOf(config.frame, config.model))
 */
export async function importRelease(
  release: ModelRelease,
  store: ModelStore,
  expect: Architecture,
): Promise<StoredModel> {
  const version = versionNumber(release.version);
  const bytes = release.artifact.bytes;
  if (!bytes) {
    throw new AeError(
      ErrorCodes.MODEL_CORRUPT,
      `model release ${release.version}: artifact by URI (${release.artifact.uri ?? 'none'}) is not supported yet; publish it inline`,
    );
  }
  const actual = sha256(bytes);
  if (actual !== release.sha256) {
    throw new AeError(
      ErrorCodes.MODEL_CORRUPT,
      `model release ${release.version}: artifact sha256 ${actual.slice(0, 12)}… does not match the release (${release.sha256.slice(0, 12)}…)`,
    );
  }
  let bundle: Bundle;
  try {
    bundle = JSON.parse(bytes.toString('utf8')) as Bundle;
  } catch (err) {
    throw new AeError(
      ErrorCodes.MODEL_CORRUPT,
      `model release ${release.version}: artifact is not a model bundle (${messageOf(err)})`,
    );
  }
  if (bundle.format !== BUNDLE_FORMAT || typeof bundle.files !== 'object') {
    throw new AeError(
      ErrorCodes.MODEL_CORRUPT,
      `model release ${release.version}: unknown artifact format ${String(bundle.format)}`,
    );
  }
  const files = Object.fromEntries(
    Object.entries(bundle.files).map(([name, b64]) => [name, Buffer.from(b64, 'base64')]),
  );
  const { installed } = await store.install(version, files);
  try {
    return await store.load({ version, expect });
  } catch (err) {
    // Never leave a refused release in the store, where the next start would pick it.
    if (installed) await store.quarantine(version).catch(() => undefined);
    throw err;
  }
}
