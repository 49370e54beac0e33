import * as tf from '@tensorflow/tfjs';
import { AeError, ErrorCodes } from '../core/errors';
import { LATENT_LAYER } from './architecture';

/**
 * Exports our autoencoders to ONNX from their layers and weights, for onnxruntime.
 * Only our own layer set is supported (InputLayer, Dense, Conv2D, Conv2DTranspose,
 * Flatten, Reshape with relu / sigmoid / linear activations); anything else is refused.
 * The temporal conv AE is a 1×W×D image to ONNX: 1×k Conv / ConvTranspose between Reshape
 * and Flatten.
 *
 * tfjs is channels-last (NHWC) and ONNX convolutions are channels-first (NCHW): the graph
 * transposes into NCHW before the first convolution and back before Flatten and at the
 * output, so the ONNX model takes and returns exactly the tensors the tfjs model does.
 *
 * The protobuf encoding is written by hand (a few message types, field numbers from
 * onnx/onnx.proto), which keeps the dependency list short.
 */

// ---- minimal protobuf writer --------------------------------------------------------

function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Buffer.from(out);
}
const key = (field: number, wire: number): Buffer => varint((field << 3) | wire);
const pbInt = (field: number, v: number): Buffer => Buffer.concat([key(field, 0), varint(v)]);
const pbBytes = (field: number, b: Buffer): Buffer =>
  Buffer.concat([key(field, 2), varint(b.length), b]);
const pbStr = (field: number, s: string): Buffer => pbBytes(field, Buffer.from(s, 'utf8'));
const pbMsg = (field: number, parts: Buffer[]): Buffer => pbBytes(field, Buffer.concat(parts));

// ONNX enums
const FLOAT = 1;
const INT64 = 7;
const ATTR_INTS = 7;
const ATTR_INT = 2;

interface Attr {
  name: string;
  ints?: number[];
  int?: number;
}

function attribute(a: Attr): Buffer[] {
  const parts = [pbStr(1, a.name)];
  if (a.ints !== undefined) {
    for (const v of a.ints) parts.push(pbInt(8, v));
    parts.push(pbInt(20, ATTR_INTS));
  } else {
    parts.push(pbInt(3, a.int ?? 0), pbInt(20, ATTR_INT));
  }
  return parts;
}

function node(op: string, inputs: string[], output: string, attrs: Attr[] = []): Buffer[] {
  return [
    ...inputs.map((i) => pbStr(1, i)),
    pbStr(2, output),
    pbStr(3, output),
    pbStr(4, op),
    ...attrs.map((a) => pbMsg(5, attribute(a))),
  ];
}

function tensor(name: string, dims: number[], data: Float32Array | BigInt64Array): Buffer[] {
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return [
    ...dims.map((d) => pbInt(1, d)),
    pbInt(2, data instanceof Float32Array ? FLOAT : INT64),
    pbStr(8, name),
    pbBytes(9, raw),
  ];
}

function valueInfo(name: string, shape: Array<number | string>): Buffer[] {
  const dims = shape.map((d) => pbMsg(1, [typeof d === 'number' ? pbInt(1, d) : pbStr(2, d)]));
  const tensorType = [pbInt(1, FLOAT), pbMsg(2, dims)];
  return [pbStr(1, name), pbMsg(2, [pbMsg(1, tensorType)])];
}

// ---- graph construction -------------------------------------------------------------

/** Padding of a tfjs 'same' convolution from `inSize` to ceil(inSize / stride). */
function samePads(inSize: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/** NHWC [kh, kw, a, b] → ONNX [b, a, kh, kw] (Conv: a=in, b=out; ConvTranspose: a=out, b=in). */
function toOnnxKernel(w: tf.Tensor): { dims: number[]; data: Float32Array } {
  return tf.tidy(() => {
    const t = tf.transpose(w, [3, 2, 0, 1]);
    return { dims: t.shape, data: t.dataSync() as Float32Array };
  });
}

/**
 * Encodes a trained model as an ONNX ModelProto (opset 17) with a dynamic batch axis:
 * input `input`, output `output`, both with the tfjs model's per-sample shapes, and a
 * second output `latent` [N, latent size]: the bottleneck layer's activations, so one
 * run gives the reconstruction and the latent vector.
 *
 * @example
 * const bytes = exportOnnx(autoencoder.model);
 * const session = await ort.InferenceSession.create(bytes);
 */
export function exportOnnx(model: tf.LayersModel): Uint8Array {
  const nodes: Buffer[] = [];
  const inits: Buffer[] = [];
  let cur = 'input';
  let n = 0;
  let channelsFirst = false;
  let latent: { name: string; units: number } | undefined;
  const fresh = (base: string): string => `${base}_${n++}`;
  const emit = (op: string, inputs: string[], attrs: Attr[] = [], base = op): string => {
    const out = fresh(base.toLowerCase());
    nodes.push(pbMsg(1, node(op, inputs, out, attrs)));
    return out;
  };
  const init = (name: string, dims: number[], data: Float32Array | BigInt64Array): string => {
    inits.push(pbMsg(5, tensor(name, dims, data)));
    return name;
  };
  const toNchw = (): void => {
    if (!channelsFirst) cur = emit('Transpose', [cur], [{ name: 'perm', ints: [0, 3, 1, 2] }]);
    channelsFirst = true;
  };
  const toNhwc = (): void => {
    if (channelsFirst) cur = emit('Transpose', [cur], [{ name: 'perm', ints: [0, 2, 3, 1] }]);
    channelsFirst = false;
  };
  const activation = (layer: tf.layers.Layer): void => {
    const act = (layer.getConfig() as { activation?: string }).activation ?? 'linear';
    if (act === 'relu') cur = emit('Relu', [cur]);
    else if (act === 'sigmoid') cur = emit('Sigmoid', [cur]);
    else if (act !== 'linear') unsupported(layer, `activation ${act}`);
  };

  const inputShape = (model.inputs[0] as tf.SymbolicTensor).shape.slice(1) as number[];
  const outputShape = (model.outputs[0] as tf.SymbolicTensor).shape.slice(1) as number[];

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const weights = layer.getWeights();
    const config = layer.getConfig() as Record<string, unknown>;
    const inShape = (layer.input as tf.SymbolicTensor).shape;
    switch (cls) {
      case 'InputLayer':
        break;
      case 'Dense': {
        const [w, b] = weights as [tf.Tensor, tf.Tensor];
        const wName = init(`${layer.name}_W`, w.shape, w.dataSync() as Float32Array);
        const bName = init(`${layer.name}_B`, b.shape, b.dataSync() as Float32Array);
        cur = emit('Gemm', [cur, wName, bName]);
        activation(layer);
        if (layer.name === LATENT_LAYER) latent = { name: cur, units: w.shape[1] as number };
        break;
      }
      case 'Conv2D':
      case 'Conv2DTranspose': {
        const [w, b] = weights as [tf.Tensor, tf.Tensor];
        const [k1, k2] = config.kernelSize as [number, number];
        const [s1, s2] = config.strides as [number, number];
        const h = inShape[1] as number;
        const wd = inShape[2] as number;
        let pads = [0, 0, 0, 0];
        if (config.padding === 'same') {
          // ConvTranspose pads are those of the forward conv it inverts (h·s → h).
          const [t, bt] = cls === 'Conv2D' ? samePads(h, k1, s1) : samePads(h * s1, k1, s1);
          const [l, r] = cls === 'Conv2D' ? samePads(wd, k2, s2) : samePads(wd * s2, k2, s2);
          pads = [t, l, bt, r];
        } else if (config.padding !== 'valid')
          unsupported(layer, `padding ${String(config.padding)}`);
        const kernel = toOnnxKernel(w);
        toNchw();
        const wName = init(`${layer.name}_W`, kernel.dims, kernel.data);
        const bName = init(`${layer.name}_B`, b.shape, b.dataSync() as Float32Array);
        cur = emit(
          cls === 'Conv2D' ? 'Conv' : 'ConvTranspose',
          [cur, wName, bName],
          [
            { name: 'kernel_shape', ints: [k1, k2] },
            { name: 'strides', ints: [s1, s2] },
            { name: 'pads', ints: pads },
            { name: 'dilations', ints: [1, 1] },
          ],
        );
        activation(layer);
        break;
      }
      case 'Flatten':
        toNhwc();
        cur = emit('Flatten', [cur], [{ name: 'axis', int: 1 }]);
        break;
      case 'Reshape': {
        // The target shape is channels-last, so the data must be too.
        toNhwc();
        const target = config.targetShape as number[];
        const shapeName = init(
          `${layer.name}_shape`,
          [target.length + 1],
          BigInt64Array.from([-1, ...target].map(BigInt)),
        );
        cur = emit('Reshape', [cur, shapeName]);
        channelsFirst = false;
        break;
      }
      default:
        unsupported(layer, `layer class ${cls}`);
    }
  }
  if (inputShape.length === 3 && outputShape.length === 3) toNhwc();
  nodes.push(pbMsg(1, node('Identity', [cur], 'output')));
  if (latent) nodes.push(pbMsg(1, node('Identity', [latent.name], 'latent')));

  const graph = [
    ...nodes,
    pbStr(2, model.name),
    ...inits,
    pbMsg(11, valueInfo('input', ['N', ...inputShape])),
    pbMsg(12, valueInfo('output', ['N', ...outputShape])),
    ...(latent ? [pbMsg(12, valueInfo('latent', ['N', latent.units]))] : []),
  ];
  const modelProto = Buffer.concat([
    pbInt(1, 8), // IR version 8 (ONNX 1.10+)
    pbStr(2, 'aestream'),
    pbMsg(7, graph),
    pbMsg(8, [pbStr(1, ''), pbInt(2, 17)]),
  ]);
  return new Uint8Array(modelProto.buffer, modelProto.byteOffset, modelProto.byteLength);
}

function unsupported(layer: tf.layers.Layer, what: string): never {
  throw new AeError(
    ErrorCodes.MODEL_INCOMPATIBLE,
    `ONNX export supports our autoencoder layers only; layer '${layer.name}' has ${what}`,
  );
}
