import * as tf from '@tensorflow/tfjs';
import { type Architecture, buildModel, inputShapeOf, LATENT_LAYER } from './architecture';
import type { Normalization } from './normalization';

/**
 * An autoencoder: its architecture, its tfjs model and the input scaling it was trained
 * with. Built fresh by {@link Autoencoder.create} or loaded from the model store.
 *
 * @example
 * const ae = Autoencoder.create(arch, { kind: 'range', min: 0, max: 255 }, 42);
 * const latent = tf.tidy(() => ae.encode(batch)); // [n, latent]
 */
export class Autoencoder {
  private encoderModel: tf.LayersModel | undefined;
  private forwardModel: tf.LayersModel | undefined;

  constructor(
    readonly architecture: Architecture,
    readonly model: tf.LayersModel,
    public normalization: Normalization,
  ) {}

  /** A new, untrained autoencoder with weights initialised from `seed`. */
  static create(arch: Architecture, normalization: Normalization, seed: number): Autoencoder {
    return new Autoencoder(arch, buildModel(arch, seed), normalization);
  }

  /** Per-sample input (and output) shape, without the batch axis. */
  get inputShape(): number[] {
    return inputShapeOf(this.architecture);
  }

  /** Reconstructs a batch of normalized inputs [n, ...inputShape]. */
  reconstruct(x: tf.Tensor): tf.Tensor {
    // apply() rather than predict(): predict slices the batch into chunks of 32 and
    // concatenates them again, which made conv inference on WASM ~3x slower.
    return this.model.apply(x, { training: false }) as tf.Tensor;
  }

  /** The latent vectors [n, latent] of a batch of normalized inputs (dimensionality reduction). */
  encode(x: tf.Tensor): tf.Tensor2D {
    if (this.encoderModel === undefined) {
      // A view on the same layers, so it always uses the current weights.
      this.encoderModel = tf.model({
        inputs: this.model.inputs,
        outputs: this.model.getLayer(LATENT_LAYER).output as tf.SymbolicTensor,
      });
    }
    return this.encoderModel.apply(x, { training: false }) as tf.Tensor2D;
  }

  /**
   * Reconstruction and latent code of a batch from ONE forward pass: the encoder runs once
   * and both the bottleneck and the decoder output are read from it (what the detector's
   * reconstruction and latent outputs need; no second model run).
   */
  forward(x: tf.Tensor): { reconstruction: tf.Tensor; latent: tf.Tensor2D } {
    if (this.forwardModel === undefined) {
      this.forwardModel = tf.model({
        inputs: this.model.inputs,
        outputs: [
          this.model.outputs[0] as tf.SymbolicTensor,
          this.model.getLayer(LATENT_LAYER).output as tf.SymbolicTensor,
        ],
      });
    }
    const [reconstruction, latent] = this.forwardModel.apply(x, { training: false }) as [
      tf.Tensor,
      tf.Tensor2D,
    ];
    return { reconstruction, latent };
  }

  /** Size of the latent vector (the bottleneck's units). */
  get latentSize(): number {
    const arch = this.architecture;
    return arch.kind === 'dense-ae' ? (arch.hidden[arch.hidden.length - 1] as number) : arch.latent;
  }

  /** Frees the weights. */
  dispose(): void {
    this.model.dispose();
  }
}
