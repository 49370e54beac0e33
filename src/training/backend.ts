import * as tf from '@tensorflow/tfjs';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import { logger } from '../observability/logger';
import { registerWasmTrainingKernels } from './wasm-conv-grad';

/**
 * The one place where the TensorFlow.js backend is chosen. Everything else imports
 * `@tensorflow/tfjs` and calls {@link initBackend} first.
 */

export const backendNames = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];
export type BackendRequest = BackendName | 'auto';

/** The order `auto` tries: native GPU, native CPU, WASM (SIMD), plain JS. */
const autoOrder: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

let chosen: BackendName | undefined;
let pending: Promise<BackendName> | undefined;

/** How to load each backend; `hint` is what a user can do when it fails. */
const loaders: Record<BackendName, { load: () => Promise<void>; hint: string }> = {
  'tensorflow-gpu': {
    load: async () => {
      // The native bindings register the 'tensorflow' backend with tfjs-core on require.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, may be absent
      require('@tensorflow/tfjs-node-gpu');
      await activate('tensorflow');
    },
    hint: 'install @tensorflow/tfjs-node-gpu (needs CUDA + cuDNN matching its libtensorflow), or set AESTREAM_BACKEND=auto',
  },
  tensorflow: {
    load: async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, may be absent
      require('@tensorflow/tfjs-node');
      await activate('tensorflow');
    },
    hint: 'install @tensorflow/tfjs-node (needs a prebuilt libtensorflow for this platform), or set AESTREAM_BACKEND=auto',
  },
  wasm: {
    load: async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when chosen
      require('@tensorflow/tfjs-backend-wasm');
      // Threads need SharedArrayBuffer workers, which the Node build cannot start.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      registerWasmTrainingKernels();
      await activate('wasm');
    },
    hint: 'reinstall @tensorflow/tfjs-backend-wasm (its .wasm files must be next to its dist/), or set AESTREAM_BACKEND=cpu',
  },
  cpu: {
    load: async () => {
      await activate('cpu');
    },
    hint: '@tensorflow/tfjs is broken; reinstall it',
  },
};

async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}

/** What the environment asks for: AESTREAM_BACKEND wins over the pipeline's `model.backend`. */
export function requestedBackend(configured: BackendRequest = 'auto'): BackendRequest {
  const fromEnv = process.env.AESTREAM_BACKEND?.trim();
  if (!fromEnv) return configured;
  if (fromEnv === 'auto' || (backendNames as readonly string[]).includes(fromEnv)) {
    return fromEnv as BackendRequest;
  }
  throw new AeError(
    ErrorCodes.BACKEND_UNAVAILABLE,
    `AESTREAM_BACKEND=${fromEnv} is not a backend; use one of auto, ${backendNames.join(', ')}`,
  );
}

/**
 * Chooses and activates the TensorFlow.js backend once per process and logs the choice.
 * `auto` tries tfjs-node-gpu, tfjs-node, WASM with SIMD, then CPU. A backend asked for by
 * name that cannot load fails with AE_ERR_BACKEND_UNAVAILABLE and what to do about it.
 * Later calls return the backend already chosen (a different explicit request fails).
 *
 * @example
 * const backend = await initBackend(config.model.backend); // 'wasm' on this machine
 */
export async function initBackend(configured: BackendRequest = 'auto'): Promise<BackendName> {
  const request = requestedBackend(configured);
  if (pending === undefined) pending = choose(request);
  const name = await pending;
  if (request !== 'auto' && request !== name) {
    throw new AeError(
      ErrorCodes.BACKEND_UNAVAILABLE,
      `backend '${name}' is already active in this process; '${request}' was requested after it`,
    );
  }
  return name;
}

async function choose(request: BackendRequest): Promise<BackendName> {
  const candidates = request === 'auto' ? autoOrder : [request];
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      await loaders[name].load();
      chosen = name;
      logger.info(
        { backend: name, tfBackend: tf.getBackend(), requested: request },
        'tfjs backend selected',
      );
      return name;
    } catch (err) {
      failures.push(`${name}: ${firstLine(messageOf(err))}`);
      if (request !== 'auto') {
        pending = undefined;
        throw new AeError(
          ErrorCodes.BACKEND_UNAVAILABLE,
          `backend '${name}' cannot load (${firstLine(messageOf(err))}); ${loaders[name].hint}`,
          { cause: err },
        );
      }
    }
  }
  pending = undefined;
  throw new AeError(ErrorCodes.BACKEND_UNAVAILABLE, `no backend loads: ${failures.join('; ')}`);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** The backend chosen by {@link initBackend}, for metrics and logs; undefined before. */
export function currentBackend(): BackendName | undefined {
  return chosen;
}
