import { AeError, ErrorCodes, messageOf } from '../errors';
import { checkBatch } from './batch-check';
import type { InferenceEngine } from './inference-engine';

type Ort = typeof import('onnxruntime-node');

function loadOrt(): Ort {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional dependency
    return require('onnxruntime-node') as Ort;
  } catch (err) {
    throw new AeError(
      ErrorCodes.BACKEND_UNAVAILABLE,
      `onnx engine needs onnxruntime-node (${messageOf(err).split('\n')[0]}); install it or set model.engine: tfjs`,
      { cause: err },
    );
  }
}

/**
 * The onnxruntime engine on the model's ONNX export. Uses the CUDA execution provider
 * when AESTREAM_ONNX_CUDA=1 and the runtime has it, else the CPU provider.
 *
 * @example
 * const engine = await createOnnxEngine(stored.onnx, [28, 28, 1]);
 */
export async function createOnnxEngine(
  onnx: Uint8Array,
  inputShape: number[],
): Promise<InferenceEngine> {
  const ort = loadOrt();
  const size = inputShape.reduce((a, b) => a * b, 1);
  const providers = process.env.AESTREAM_ONNX_CUDA === '1' ? ['cuda', 'cpu'] : ['cpu'];
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnx, {
      executionProviders: providers,
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
    });
  } catch (err) {
    throw new AeError(
      ErrorCodes.MODEL_CORRUPT,
      `onnxruntime cannot open the model: ${messageOf(err)}`,
      { cause: err },
    );
  }
  return {
    name: 'onnx',
    device: providers[0] as string,
    async reconstruct(x: Float32Array, n: number): Promise<Float32Array> {
      checkBatch(x, n, size);
      const result = await session.run({ input: new ort.Tensor('float32', x, [n, ...inputShape]) });
      const out = result.output;
      if (out === undefined) throw new Error('onnx model has no output named "output"');
      return out.data as Float32Array;
    },
    async dispose(): Promise<void> {
      await session.release();
    },
  };
}
