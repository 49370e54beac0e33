import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Kernels that make convolutional autoencoders train on the WASM backend.
 * tfjs-backend-wasm 4.x has Conv2D and Conv2DBackpropInput but no Conv2DBackpropFilter,
 * the gradient of a convolution (and of a transposed convolution) with respect to its
 * filter; without it training fails on the first conv layer.
 *
 * - Conv2DBackpropFilter, the textbook im2col way: every receptive field of `x` is copied
 *   (one JS pass over the WASM heap, zero padding) into `cols`, laid out [K = kH·kW·inC,
 *   N = batch·outH·outW]; the backend's own BatchMatMul (XNNPACK, SIMD) then computes
 *   `cols · dy` = [K, outC], the filter gradient in tfjs' [kH, kW, inC, outC] layout.
 * - Conv2DBackpropInput, replaced by col2im: `dy · filterᵀ` on BatchMatMul, then each row
 *   added back into its receptive field (the shipped direct loop was ~half a step).
 * - BatchMatMul, wrapped to transpose operands explicitly (the shipped kernel is 5-10x
 *   slower with transpose flags, which every dense-layer gradient uses).
 *
 * All are checked against the CPU backend in test/unit/training/wasm-conv-grad.test.ts.
 */

type KernelArgs = {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
};

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${attrs.dataFormat}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const n = batchSize * outHeight * outWidth;
  const k = filterHeight * filterWidth * inChannels;

  // makeOutput may grow the WASM heap, which detaches earlier views: take views after it.
  // cols is written transposed, [K, N]: the WASM BatchMatMul is ~10x slower with a
  // transpose flag than on plain row-major operands.
  const cols = backend.makeOutput([1, k, n], 'float32');
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const cs = backend.typedArrayFromHeap(cols) as Float32Array;
  const rowStride = inWidth * inChannels;
  const batchStride = inHeight * rowStride;
  let row = 0;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * batchStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++, row++) {
        const iw0 = ow * strideWidth - left;
        let o = row;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = ih0 + kh * dilationHeight;
          const rowInside = ih >= 0 && ih < inHeight;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = iw0 + kw * dilationWidth;
            if (rowInside && iw >= 0 && iw < inWidth) {
              const src = xb + ih * rowStride + iw * inChannels;
              for (let c = 0; c < inChannels; c++, o += n) cs[o] = xs[src + c] as number;
            } else {
              for (let c = 0; c < inChannels; c++, o += n) cs[o] = 0;
            }
          }
        }
      }
    }
  }

  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (matMul === undefined) throw new Error('wasm backend has no BatchMatMul kernel');
  // dy is already laid out as [N, outC]; a TensorInfo with a new shape is a free reshape.
  const dy3: tf.TensorInfo = { dataId: dy.dataId, shape: [1, n, outChannels], dtype: dy.dtype };
  const product = matMul.kernelFunc({
    inputs: { a: cols, b: dy3 },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as tf.TensorInfo;
  backend.disposeData(cols.dataId);
  return { dataId: product.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
}

interface BackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * Conv2DBackpropInput (the gradient of a convolution with respect to its input, and the
 * forward pass of a transposed convolution) as col2im: `cols = dy · filterᵀ`
 * [N, kH·kW·inC] on the backend's BatchMatMul, then each row added back into the
 * receptive field it came from. The shipped WASM kernel is a direct loop that took
 * about half of a conv autoencoder's training step; this one is several times faster.
 */
function conv2DBackpropInputWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs.dy as tf.TensorInfo;
  const filter = args.inputs.filter as tf.TensorInfo;
  const attrs = args.attrs as unknown as BackpropInputAttrs;
  if (attrs.dataFormat !== 'NHWC') {
    if (shippedBackpropInput === undefined) throw new Error('Conv2DBackpropInput (wasm): NCHW');
    return shippedBackpropInput.kernelFunc(args as never) as tf.TensorInfo;
  }
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const n = batchSize * outHeight * outWidth;
  const k = filterHeight * filterWidth * inChannels;

  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (matMul === undefined) throw new Error('wasm backend has no BatchMatMul kernel');
  const dy3: tf.TensorInfo = { dataId: dy.dataId, shape: [1, n, outChannels], dtype: dy.dtype };
  // The filter transposed to [outC, K] by hand (it is small): see the note on cols above.
  const fT = backend.makeOutput([1, outChannels, k], 'float32');
  {
    const f = backend.typedArrayFromHeap(filter) as Float32Array;
    const t = backend.typedArrayFromHeap(fT) as Float32Array;
    for (let kk = 0; kk < k; kk++) {
      for (let co = 0; co < outChannels; co++) t[co * k + kk] = f[kk * outChannels + co] as number;
    }
  }
  const cols = matMul.kernelFunc({
    inputs: { a: dy3, b: fT },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as tf.TensorInfo;
  backend.disposeData(fT.dataId);
  const out = backend.makeOutput([...attrs.inputShape], 'float32');
  const cs = backend.typedArrayFromHeap(cols) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const rowStride = inWidth * inChannels;
  const batchStride = inHeight * rowStride;
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * batchStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iw0 = ow * strideWidth - left;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = ih0 + kh * dilationHeight;
          const rowInside = ih >= 0 && ih < inHeight;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = iw0 + kw * dilationWidth;
            if (rowInside && iw >= 0 && iw < inWidth) {
              const dst = xb + ih * rowStride + iw * inChannels;
              for (let c = 0; c < inChannels; c++) dx[dst + c] += cs[o + c] as number;
            }
            o += inChannels;
          }
        }
      }
    }
  }
  backend.disposeData(cols.dataId);
  return out;
}

let shippedBackpropInput: tf.KernelConfig | undefined;
let shippedBatchMatMul: tf.KernelConfig | undefined;

/**
 * BatchMatMul with the transpose flags resolved by an explicit Transpose first: the
 * shipped WASM kernel is ~5-10x slower on a transposed operand than on a row-major one,
 * and the gradients of every dense layer multiply with `transposeA` or `transposeB`.
 */
function batchMatMulWasm(args: KernelArgs): tf.TensorInfo {
  const shipped = shippedBatchMatMul as tf.KernelConfig;
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  if (!attrs.transposeA && !attrs.transposeB)
    return shipped.kernelFunc(args as never) as tf.TensorInfo;
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (transpose === undefined) return shipped.kernelFunc(args as never) as tf.TensorInfo;
  const backend = args.backend as BackendWasm;
  const temps: tf.TensorInfo[] = [];
  const swapLast = (t: tf.TensorInfo): tf.TensorInfo => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1] as number, perm[r - 2] as number];
    const out = transpose.kernelFunc({
      inputs: { x: t },
      backend,
      attrs: { perm },
    }) as tf.TensorInfo;
    temps.push(out);
    return out;
  };
  const a = attrs.transposeA
    ? swapLast(args.inputs.a as tf.TensorInfo)
    : (args.inputs.a as tf.TensorInfo);
  const b = attrs.transposeB
    ? swapLast(args.inputs.b as tf.TensorInfo)
    : (args.inputs.b as tf.TensorInfo);
  try {
    return shipped.kernelFunc({
      inputs: { a, b },
      backend,
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    } as never) as tf.TensorInfo;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** The missing kernel, added to the WASM backend. */
export const wasmBackpropFilterKernel: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc,
};

/** BatchMatMul that transposes explicitly (the shipped kernel still does the product). */
export const wasmBatchMatMulKernel: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMulWasm as unknown as tf.KernelFunc,
};

/** A faster replacement of the shipped kernel (which stays in use for NCHW). */
export const wasmBackpropInputKernel: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as tf.KernelFunc,
};

function setupOf(k: tf.KernelConfig): Partial<tf.KernelConfig> {
  return {
    ...(k.setupFunc ? { setupFunc: k.setupFunc } : {}),
    ...(k.disposeFunc ? { disposeFunc: k.disposeFunc } : {}),
  };
}

/**
 * Registers the WASM training kernels (idempotent): Conv2DBackpropFilter, which the backend
 * lacks, the faster Conv2DBackpropInput, and BatchMatMul with explicit transposes. Call
 * after requiring `@tensorflow/tfjs-backend-wasm` and before the backend is first activated
 * (kernel setup runs at activation); backend.ts does this.
 *
 * @example
 * require('@tensorflow/tfjs-backend-wasm');
 * registerWasmTrainingKernels();
 * await tf.setBackend('wasm');
 */
export function registerWasmTrainingKernels(): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined) {
    tf.registerKernel(wasmBackpropFilterKernel);
  }
  const current = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (current !== undefined && current.kernelFunc !== wasmBackpropInputKernel.kernelFunc) {
    shippedBackpropInput = current;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    // The shipped kernel's setup (binding its WASM function) must still run at backend
    // init: the replacement falls back to it for NCHW.
    tf.registerKernel({ ...wasmBackpropInputKernel, ...setupOf(current) });
  } else if (current === undefined) {
    tf.registerKernel(wasmBackpropInputKernel);
  }
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (matMul !== undefined && matMul.kernelFunc !== wasmBatchMatMulKernel.kernelFunc) {
    shippedBatchMatMul = matMul;
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel({ ...wasmBatchMatMulKernel, ...setupOf(matMul) });
  }
}
