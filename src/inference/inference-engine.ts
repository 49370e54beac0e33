import { messageOf } from '../core/errors';
import { logger } from '../observability/logger';
import { inputSizeOf } from '../training/architecture';
import type { StoredModel } from '../registry/model-store';
import type { InferenceEngine } from './engine';
import { createOnnxEngine } from './onnx-engine';
import { exportOnnx } from '../training/onnx-export';
import { createTfjsEngine } from './tfjs-engine';

/**
 * Models stored before the ONNX export had a `latent` output are re-exported from their
 * (hash-checked) weights when opened, so every version gives latent vectors.
 */
function onnxEngineOf(stored: StoredModel): Promise<InferenceEngine> {
  const ae = stored.autoencoder;
  return createOnnxEngine(stored.onnx, ae.inputShape, {
    reexport: () => exportOnnx(ae.model),
  });
}

export type EngineRequest = 'auto' | 'tfjs' | 'onnx';

/**
 * Opens the engine a pipeline asks for on a stored model. `auto` opens every engine that
 * loads, times each on the same batch of 32 frames, keeps the fastest and logs the pick.
 *
 * @example
 * const engine = await createEngine('auto', await store.load());
 * const y = await engine.reconstruct(x, 32);
 */
export async function createEngine(
  request: EngineRequest,
  stored: StoredModel,
): Promise<InferenceEngine> {
  if (request === 'tfjs') return createTfjsEngine(stored.autoencoder);
  if (request === 'onnx') return onnxEngineOf(stored);
  const candidates: InferenceEngine[] = [await createTfjsEngine(stored.autoencoder)];
  try {
    candidates.push(await onnxEngineOf(stored));
  } catch (err) {
    logger.info({ reason: messageOf(err) }, 'onnx engine unavailable, using tfjs');
  }
  if (candidates.length === 1) return candidates[0] as InferenceEngine;
  const size = inputSizeOf(stored.autoencoder.architecture);
  const probe = new Float32Array(32 * size).map((_, i) => (i % 97) / 97);
  const timings: Array<{ engine: InferenceEngine; ms: number }> = [];
  for (const engine of candidates) {
    await engine.reconstruct(probe, 32); // warm-up
    const started = performance.now();
    for (let i = 0; i < 3; i++) await engine.reconstruct(probe, 32);
    timings.push({ engine, ms: (performance.now() - started) / 3 });
  }
  timings.sort((a, b) => a.ms - b.ms);
  const [fastest, ...rest] = timings as [(typeof timings)[0], ...typeof timings];
  for (const r of rest) await r.engine.dispose();
  logger.info(
    {
      engine: fastest.engine.name,
      device: fastest.engine.device,
      msPerBatch32: timings.map((t) => [t.engine.name, +t.ms.toFixed(3)]),
    },
    'inference engine selected',
  );
  return fastest.engine;
}
