import { createAvroCodec } from '../../../src/codecs/avro-codec';
import { frameSchema } from '../../../src/core/frame-config';
import type { Frame } from '../../../src/core/records';
import { warmUp } from '../../../src/operators/warm-up';
import type { DetectFlowConfig } from '../../../src/operators/detect-flow';
import { createThresholdRegistry } from '../../../src/thresholds/threshold-registry';

/** A model scoring every frame 0.5; records the size of each batch it scored. */
function recordingModel() {
  const batches: number[] = [];
  const scorer = {
    score: async (_x: Float32Array, n: number) => {
      batches.push(n);
      return { scores: new Float32Array(n).fill(0.5), top: Array.from({ length: n }, () => []) };
    },
  };
  return { model: { version: 'v1', scorer } as never, batches };
}

const config = (frame: unknown): DetectFlowConfig => ({
  name: 'warm',
  frame: frameSchema.parse(frame),
  batch: { maxSize: 16, maxWaitMs: 20 },
  model: { engine: 'onnx' },
  output: {},
});

describe('warmUp', () => {
  it('runs full batches of synthetic sensor frames through the model, judged by the registry it was given only', async () => {
    const { model, batches } = recordingModel();
    const scratch = createThresholdRegistry({
      kind: 'static',
      value: 1,
      perKey: true,
      warmup: 'suppress',
      overrides: {},
    });
    const result = await warmUp(
      {
        config: config({ kind: 'sensor', features: 3, window: 4 }),
        codec: createAvroCodec<Frame>('SensorFrame'),
        model: () => model,
        judge: () => scratch,
      },
      5,
    );
    expect(result.frames).toBe(80);
    // Every frame scored (a padded window each at first), in full batches.
    expect(batches).toEqual([16, 16, 16, 16, 16]);
    const keys = scratch.list().map((t) => t.key);
    expect(keys).toHaveLength(16);
    expect(keys.every((k) => k.startsWith('warm-up-'))).toBe(true);
  });

  it('warms an image pipeline with raw images of its size', async () => {
    const { model, batches } = recordingModel();
    const result = await warmUp(
      {
        config: config({ kind: 'image', width: 4, height: 3 }),
        codec: createAvroCodec<Frame>('ImageFrame'),
        model: () => model,
        judge: () => ({ apply: () => null }),
      },
      2,
    );
    expect(result.frames).toBe(32);
    expect(batches).toEqual([16, 16]);
  });
});
