import * as tf from '@tensorflow/tfjs';
import type { FrameConfig } from '../core/frame-config';
import { AeError, ErrorCodes } from '../core/errors';
import type { ModelConfig } from './model-config';

/**
 * What a model is, independent of its weights: stored in every model version's metadata,
 * compared with the pipeline before a model is used, and enough to rebuild the layers.
 */
export type Architecture =
  | {
      kind: 'dense-ae';
      /** Readings per window (W) and values per reading (D); the model input is W·D flat. */
      window: number;
      features: number;
      hidden: number[];
    }
  | {
      kind: 'conv-ae';
      height: number;
      width: number;
      channels: number;
      filters: number[];
      latent: number;
      kernel: number;
    }
  | {
      kind: 'conv1d-ae';
      /** Readings per window (W) and values per reading (D); the model input is W·D flat. */
      window: number;
      features: number;
      filters: number[];
      latent: number;
      kernel: number;
    };

/** The architectures of sensor windows (W readings of D values, flat), as opposed to images. */
export type SensorArchitecture = Extract<Architecture, { kind: 'dense-ae' | 'conv1d-ae' }>;

/** Name of the bottleneck layer; `encode()` reads its output. */
export const LATENT_LAYER = 'latent';

/**
 * The architecture a pipeline asks for (its `frame` and `model` sections).
 *
 * @example
 * architectureOf(config.frame, config.model) // { kind: 'dense-ae', window: 64, features: 1, hidden: [32, 8] }
 */
export function architectureOf(frame: FrameConfig, model: ModelConfig): Architecture {
  if (model.kind === 'dense-ae') {
    if (frame.kind !== 'sensor') {
      throw new AeError(ErrorCodes.CONFIG_INVALID, 'model.kind dense-ae needs frame.kind sensor');
    }
    return {
      kind: 'dense-ae',
      window: frame.window,
      features: frame.features,
      hidden: [...model.hidden],
    };
  }
  const need = model.kind === 'conv1d-ae' ? 'sensor' : 'image';
  if (frame.kind !== need) {
    throw new AeError(
      ErrorCodes.CONFIG_INVALID,
      `model.kind ${model.kind} needs frame.kind ${need}`,
    );
  }
  const conv = { filters: [...model.filters], latent: model.latent, kernel: model.kernel };
  const arch: Architecture =
    frame.kind === 'sensor'
      ? { kind: 'conv1d-ae', window: frame.window, features: frame.features, ...conv }
      : {
          kind: 'conv-ae',
          height: frame.height,
          width: frame.width,
          channels: frame.channels,
          ...conv,
        };
  checkConvGeometry(arch);
  return arch;
}

/** The per-sample input shape of the model (without the batch axis). */
export function inputShapeOf(arch: Architecture): number[] {
  return arch.kind === 'conv-ae'
    ? [arch.height, arch.width, arch.channels]
    : [arch.window * arch.features];
}

/** Values per sample. */
export function inputSizeOf(arch: Architecture): number {
  return inputShapeOf(arch).reduce((a, b) => a * b, 1);
}

function checkConvGeometry(arch: Extract<Architecture, { kind: 'conv-ae' | 'conv1d-ae' }>): void {
  const step = 2 ** arch.filters.length;
  if (arch.kind === 'conv1d-ae') {
    if (arch.window % step !== 0) {
      throw new AeError(
        ErrorCodes.CONFIG_INVALID,
        `conv1d-ae with ${arch.filters.length} stride-2 convolutions needs frame.window divisible by ${step}, ` +
          `got ${arch.window}; use fewer model.filters or a window that is a multiple of ${step}`,
      );
    }
    return;
  }
  if (arch.height % step !== 0 || arch.width % step !== 0) {
    throw new AeError(
      ErrorCodes.CONFIG_INVALID,
      `conv-ae with ${arch.filters.length} stride-2 convolutions needs width and height divisible by ${step}, ` +
        `got ${arch.width}x${arch.height}; use fewer model.filters`,
    );
  }
}

/**
 * Builds the Keras-style functional model of an architecture. Weights are initialised
 * from `seed`, so the same seed gives the same untrained model.
 *
 * Dense: W·D → Dense(h₁, relu) … → Dense(bottleneck, linear, 'latent') → mirrored Dense(relu)
 * → Dense(W·D, linear) (robust-scaled sensor values are unbounded).
 * Conv: H×W×C → Conv(fᵢ, stride 2, relu)… → Flatten → Dense(latent, 'latent') → Dense(relu)
 * → Reshape → ConvTranspose(fᵢ, stride 2, relu) mirrored … → ConvTranspose(C, stride 2,
 * sigmoid) (images are scaled to [0, 1]).
 * Conv1d: the same over time on a W·D window seen as 1×W×D (kernel 1×k, stride 1×2), with
 * a linear output, flattened back to W·D.
 *
 * @example
 * const model = buildModel({ kind: 'dense-ae', window: 64, features: 1, hidden: [32, 8] }, 42);
 */
export function buildModel(arch: Architecture, seed: number): tf.LayersModel {
  let n = 0;
  // One seed per layer: the same seed everywhere would give correlated initial weights.
  const kernelInitializer = () => tf.initializers.glorotUniform({ seed: seed + n++ });

  if (arch.kind === 'dense-ae') {
    const size = arch.window * arch.features;
    const input = tf.input({ shape: [size], name: 'input' });
    let h: tf.SymbolicTensor = input;
    const encoder = arch.hidden.slice(0, -1);
    const bottleneck = arch.hidden[arch.hidden.length - 1] as number;
    encoder.forEach((units, i) => {
      h = tf.layers
        .dense({
          units,
          activation: 'relu',
          name: `enc_${i}`,
          kernelInitializer: kernelInitializer(),
        })
        .apply(h) as tf.SymbolicTensor;
    });
    h = tf.layers
      .dense({ units: bottleneck, name: LATENT_LAYER, kernelInitializer: kernelInitializer() })
      .apply(h) as tf.SymbolicTensor;
    [...encoder].reverse().forEach((units, i) => {
      h = tf.layers
        .dense({
          units,
          activation: 'relu',
          name: `dec_${i}`,
          kernelInitializer: kernelInitializer(),
        })
        .apply(h) as tf.SymbolicTensor;
    });
    const output = tf.layers
      .dense({ units: size, name: 'output', kernelInitializer: kernelInitializer() })
      .apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output, name: 'dense_ae' });
  }

  if (arch.kind === 'conv1d-ae') {
    // Time runs along the width of a one-row image and the D values of a reading are its
    // channels, so each 1 x k convolution slides over time only.
    const { window, features } = arch;
    const input = tf.input({ shape: [window * features], name: 'input' });
    const grid = tf.layers
      .reshape({ targetShape: [1, window, features], name: 'in_reshape' })
      .apply(input) as tf.SymbolicTensor;
    const h = convStack(grid, [1, window, features], {
      ...arch,
      kernel: [1, arch.kernel],
      strides: [1, 2],
      // Scaled sensor values are unbounded.
      outActivation: 'linear',
      outName: 'dec_out',
      kernelInitializer,
    });
    const output = tf.layers.flatten({ name: 'output' }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output, name: 'conv1d_ae' });
  }

  const { height, width, channels } = arch;
  const input = tf.input({ shape: [height, width, channels], name: 'input' });
  const output = convStack(input, [height, width, channels], {
    ...arch,
    kernel: [arch.kernel, arch.kernel],
    strides: [2, 2],
    outActivation: 'sigmoid',
    outName: 'output',
    kernelInitializer,
  });
  return tf.model({ inputs: input, outputs: output, name: 'conv_ae' });
}

interface ConvStackOptions {
  filters: number[];
  latent: number;
  kernel: [number, number];
  strides: [number, number];
  outActivation: 'sigmoid' | 'linear';
  outName: string;
  kernelInitializer: () => ReturnType<typeof tf.initializers.glorotUniform>;
}

/**
 * The convolutional encoder, dense bottleneck and mirrored decoder on an [h, w, c] grid:
 * Conv(fᵢ, stride, relu)… → Flatten → Dense(latent, 'latent') → Dense(relu) → Reshape →
 * ConvTranspose(fᵢ, stride, relu) mirrored … → ConvTranspose(c, stride, outActivation).
 */
function convStack(
  input: tf.SymbolicTensor,
  [height, width, channels]: [number, number, number],
  o: ConvStackOptions,
): tf.SymbolicTensor {
  let h = input;
  o.filters.forEach((f, i) => {
    h = tf.layers
      .conv2d({
        filters: f,
        kernelSize: o.kernel,
        strides: o.strides,
        padding: 'same',
        activation: 'relu',
        name: `enc_conv_${i}`,
        kernelInitializer: o.kernelInitializer(),
      })
      .apply(h) as tf.SymbolicTensor;
  });
  const [sh, sw] = o.strides.map((s) => s ** o.filters.length) as [number, number];
  const small = [height / sh, width / sw, o.filters[o.filters.length - 1] as number];
  h = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .dense({ units: o.latent, name: LATENT_LAYER, kernelInitializer: o.kernelInitializer() })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .dense({
      units: small.reduce((a, b) => a * b, 1),
      activation: 'relu',
      name: 'dec_dense',
      kernelInitializer: o.kernelInitializer(),
    })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers.reshape({ targetShape: small, name: 'dec_reshape' }).apply(h) as tf.SymbolicTensor;
  const mirrored = [...o.filters].reverse().slice(1);
  mirrored.forEach((f, i) => {
    h = tf.layers
      .conv2dTranspose({
        filters: f,
        kernelSize: o.kernel,
        strides: o.strides,
        padding: 'same',
        activation: 'relu',
        name: `dec_deconv_${i}`,
        kernelInitializer: o.kernelInitializer(),
      })
      .apply(h) as tf.SymbolicTensor;
  });
  return tf.layers
    .conv2dTranspose({
      filters: channels,
      kernelSize: o.kernel,
      strides: o.strides,
      padding: 'same',
      activation: o.outActivation,
      name: o.outName,
      kernelInitializer: o.kernelInitializer(),
    })
    .apply(h) as tf.SymbolicTensor;
}

/**
 * Differences between two architectures, one readable line each (empty when they match):
 * what the model store reports when a stored model does not fit the pipeline.
 */
export function architectureMismatches(expected: Architecture, actual: Architecture): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of keys) {
    const e = JSON.stringify((expected as Record<string, unknown>)[key]);
    const a = JSON.stringify((actual as Record<string, unknown>)[key]);
    if (e !== a) out.push(`${key}: pipeline wants ${e ?? 'nothing'}, model has ${a ?? 'nothing'}`);
  }
  return out;
}
