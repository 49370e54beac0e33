/**
 * Runs a model on batches of normalized frames. Engines take and return plain
 * Float32Arrays (row-major, `n` frames), so scoring and the detector do not care which
 * runtime computed the reconstruction.
 */
export interface InferenceEngine {
  readonly name: 'tfjs' | 'onnx';
  /** Where it runs, for metrics: the tfjs backend, or the ONNX execution provider. */
  readonly device: string;
  /** Reconstructions of `n` frames. */
  reconstruct(x: Float32Array, n: number): Promise<Float32Array>;
  /**
   * Reconstructions and latent vectors of `n` frames from one forward pass (row-major,
   * `n` x input size and `n` x latentSize).
   */
  run(x: Float32Array, n: number): Promise<EngineOutput>;
  dispose(): Promise<void>;
}

/** What one forward pass gives: the reconstruction and the bottleneck of every frame. */
export interface EngineOutput {
  reconstruction: Float32Array;
  latent: Float32Array;
}
