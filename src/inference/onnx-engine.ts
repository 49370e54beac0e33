import { AeError, ErrorCodes, messageOf } from '../core/errors';
import { checkBatch } from './batch-check';
import type { InferenceEngine, EngineOutput } from './engine';

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

export interface OnnxEngineOptions {
  /** A fresh export with a `latent` output, for models stored before the export had one. */
  reexport?: () => Uint8Array;
}

/**
 * The onnxruntime engine on the model's ONNX export. Uses the CUDA execution provider
 * when AESTREAM_ONNX_CUDA=1 and the runtime has it, else the CPU provider. One
 * `session.run` gives both graph outputs, `output` (the reconstruction) and `latent`.
 *
 * @example
 * const engine = await createOnnxEngine(stored.onnx, [28, 28, 1]);
 */
export async function createOnnxEngine(
  onnx: Uint8Array,
  inputShape: number[],
  options: OnnxEngineOptions = {},
): Promise<InferenceEngine> {
  const ort = loadOrt();
  const size = inputShape.reduce((a, b) => a * b, 1);
  const providers = process.env.AESTREAM_ONNX_CUDA === '1' ? ['cuda', 'cpu'] : ['cpu'];
  const open = async (bytes: Uint8Array): Promise<import('onnxruntime-node').InferenceSession> => {
    try {
      return await ort.InferenceSession.create(bytes, {
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
  };
  let session = await open(onnx);
  if (!session.outputNames.includes('latent') && options.reexport) {
    await session.release();
    session = await open(options.reexport());
  }
  const hasLatent = session.outputNames.includes('latent');
  const runSession = async (x: Float32Array, n: number) => {
    checkBatch(x, n, size);
    const result = await session.run({ input: new ort.Tensor('float32', x, [n, ...inputShape]) });
    const out = result.output;
    if (out === undefined) throw new Error('onnx model has no output named "output"');
    return { reconstruction: out.data as Float32Array, latent: result.latent };
  };
  return {
    name: 'onnx',
    device: providers[0] as string,
    async reconstruct(x: Float32Array, n: number): Promise<Float32Array> {
      return (await runSession(x, n)).reconstruction;
    },
    async run(x: Float32Array, n: number): Promise<EngineOutput> {
      if (!hasLatent) {
        throw new AeError(
          ErrorCodes.MODEL_INCOMPATIBLE,
          'this ONNX model has no "latent" output; re-export it (aestream train) or set model.engine: tfjs',
        );
      }
      const { reconstruction, latent } = await runSession(x, n);
      return { reconstruction, latent: (latent as { data: Float32Array }).data };
    },
    async dispose(): Promise<void> {
      await session.release();
    },
  };
}
