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
 *   added back into its receptive field (the shipped kernel is a slow direct loop).
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

interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface BackpropFilterAttrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

interface BackpropInputAttrs extends ConvAttrs {
  inputShape: [number, number, number, number];
}

/**
 * The receptive fields of a convolution, as both kernels walk them: `n` output positions
 * (batch, outH, outW), `taps` filter taps (kH, kW) each, and for every position and tap the
 * offset of its first channel in the NHWC input, or -1 where it falls in the padding.
 */
interface Fields {
  n: number;
  taps: number;
  inChannels: number;
  outChannels: number;
  offsets: Int32Array;
}

/** The shapes of a model's layers recur every step: the fields of the last few are kept. */
const fieldsCache = new Map<string, Fields>();
const FIELDS_CACHED = 8;

function fieldsOf(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
): Fields {
  const key = JSON.stringify([
    xShape,
    filterShape,
    attrs.strides,
    attrs.pad,
    attrs.dimRoundingMode,
  ]);
  const cached = fieldsCache.get(key);
  if (cached !== undefined) return cached;
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
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
  const { top, left } = info.padInfo;
  const n = batchSize * outHeight * outWidth;
  const taps = filterHeight * filterWidth;
  const offsets = new Int32Array(n * taps);
  const rowStride = inWidth * inChannels;
  const batchStride = inHeight * rowStride;
  let t = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iw0 = ow * strideWidth - left;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = ih0 + kh * dilationHeight;
          const rowInside = ih >= 0 && ih < inHeight;
          for (let kw = 0; kw < filterWidth; kw++, t++) {
            const iw = iw0 + kw * dilationWidth;
            offsets[t] =
              rowInside && iw >= 0 && iw < inWidth
                ? b * batchStride + ih * rowStride + iw * inChannels
                : -1;
          }
        }
      }
    }
  }
  const fields = { n, taps, inChannels, outChannels, offsets };
  if (fieldsCache.size >= FIELDS_CACHED) fieldsCache.delete(fieldsCache.keys().next().value!);
  fieldsCache.set(key, fields);
  return fields;
}

/** a · b on the backend's BatchMatMul, both row-major (no transpose flags: see cols below). */
function matMulWasm(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (matMul === undefined) throw new Error('wasm backend has no BatchMatMul kernel');
  return matMul.kernelFunc({
    inputs: { a, b },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as tf.TensorInfo;
}

function conv2DBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${attrs.dataFormat}`);
  }
  const xShape = x.shape as [number, number, number, number];
  const { n, taps, inChannels, outChannels, offsets } = fieldsOf(xShape, attrs.filterShape, attrs);
  const k = taps * inChannels;

  // makeOutput may grow the WASM heap, which detaches earlier views: take views after it.
  // cols is written transposed, [K, N]: the WASM BatchMatMul is ~10x slower with a
  // transpose flag than on plain row-major operands.
  const cols = backend.makeOutput([1, k, n], 'float32');
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const cs = backend.typedArrayFromHeap(cols) as Float32Array;
  for (let row = 0, t = 0; row < n; row++) {
    let o = row;
    for (let tap = 0; tap < taps; tap++, t++) {
      const src = offsets[t] as number;
      if (src >= 0) {
        for (let c = 0; c < inChannels; c++, o += n) cs[o] = xs[src + c] as number;
      } else {
        for (let c = 0; c < inChannels; c++, o += n) cs[o] = 0;
      }
    }
  }

  // dy is already laid out as [N, outC]; a TensorInfo with a new shape is a free reshape.
  const dy3: tf.TensorInfo = { dataId: dy.dataId, shape: [1, n, outChannels], dtype: dy.dtype };
  const product = matMulWasm(backend, cols, dy3);
  backend.disposeData(cols.dataId);
  return { dataId: product.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
}

/**
 * Conv2DBackpropInput (the gradient of a convolution with respect to its input, and the
 * forward pass of a transposed convolution) as col2im: `cols = dy · filterᵀ`
 * [N, kH·kW·inC] on the backend's BatchMatMul, then each row added back into the
 * receptive field it came from, instead of the shipped kernel's direct loop.
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
  const filterShape = filter.shape as [number, number, number, number];
  const { n, taps, inChannels, outChannels, offsets } = fieldsOf(
    attrs.inputShape,
    filterShape,
    attrs,
  );
  const k = taps * inChannels;

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
  const cols = matMulWasm(backend, dy3, fT);
  backend.disposeData(fT.dataId);
  const out = backend.makeOutput([...attrs.inputShape], 'float32');
  const cs = backend.typedArrayFromHeap(cols) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  for (let t = 0, o = 0; t < offsets.length; t++, o += inChannels) {
    const dst = offsets[t] as number;
    if (dst >= 0) for (let c = 0; c < inChannels; c++) dx[dst + c] += cs[o + c] as number;
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

/**
 * Registers `ours` in place of the shipped kernel of its name and returns the shipped one
 * (undefined when there is none, or `ours` is already in place). The shipped kernel's
 * setup, which binds its WASM function, still runs at backend init: ours calls it.
 */
function replaceShipped(ours: tf.KernelConfig): tf.KernelConfig | undefined {
  const shipped = tf.getKernel(ours.kernelName, 'wasm');
  if (shipped?.kernelFunc === ours.kernelFunc) return undefined;
  if (shipped === undefined) {
    tf.registerKernel(ours);
    return undefined;
  }
  tf.unregisterKernel(ours.kernelName, 'wasm');
  const { setupFunc, disposeFunc } = shipped;
  tf.registerKernel({
    ...ours,
    ...(setupFunc ? { setupFunc } : {}),
    ...(disposeFunc ? { disposeFunc } : {}),
  });
  return shipped;
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
  shippedBackpropInput = replaceShipped(wasmBackpropInputKernel) ?? shippedBackpropInput;
  // Ours multiplies with the shipped BatchMatMul: without it, nothing to replace.
  if (tf.getKernel('BatchMatMul', 'wasm') !== undefined) {
    shippedBatchMatMul = replaceShipped(wasmBatchMatMulKernel) ?? shippedBatchMatMul;
  }
}
