import { lastValueFrom, from, toArray } from 'rxjs';
import { createAvroCodec } from '../../../src/codecs/avro-codec';
import { imagePixels } from '../../../src/codecs/image-pixels';
import type { Frame, ImageFrame, SensorFrame } from '../../../src/core/records';
import { parsePipeline } from '../../../src/config/load-pipeline';
import { ConfigError } from '../../../src/core/errors';
import { LatentPointSink, LatentSink, type LatentVector } from '../../../src/outputs/latent-sink';
import {
  MemoryDlq,
  MemoryMessages,
  MemoryPoints,
  MemoryTopic,
  type MemoryRecord,
} from '../../../src/connectors/kafka/memory-io';
import { ReconstructionSink, reconstructedFrame } from '../../../src/outputs/reconstruction-sink';
import type { ActiveModel } from '../../../src/inference/active-model';
import { detectFlow } from '../../../src/operators/detect-flow';
import { createThresholdRegistry } from '../../../src/thresholds/threshold-registry';

const pipelineText = (stride: number, outputs = '') => `
name: outtest
input:
  kafka: { brokers: "127.0.0.1:9092", topic: out.frames, group: g }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 2, window: 4, stride: ${stride} }
model: { kind: dense-ae, hidden: [3], store: ./models/outtest }
batch: { maxSize: 8, maxWaitMs: 1 }
threshold: { kind: static, value: 1.0 }
output: { ${outputs} }
`;
const bothOutputs =
  'reconstruction: { topic: out.rebuilt }, latent: { topic: out.latent, influx: true }, influx: { url: "http://127.0.0.1:1" }';

/**
 * A model stand-in whose outputs are recognisable: reconstruction = 10 x input + 1,
 * latent = [window sum, window length], score = 0.
 */
const model: Pick<ActiveModel, 'version' | 'scorer'> = {
  version: 'v-out',
  scorer: {
    async score(_raw, n) {
      return { scores: new Float32Array(n), top: Array.from({ length: n }, () => []) };
    },
    async scoreWithOutputs(raw, n) {
      const size = raw.length / n;
      const latent = new Float32Array(2 * n);
      for (let f = 0; f < n; f++) {
        for (let i = 0; i < size; i++) latent[2 * f] += raw[f * size + i]!;
        latent[2 * f + 1] = size;
      }
      return {
        scores: new Float32Array(n),
        top: Array.from({ length: n }, () => []),
        reconstruction: Float32Array.from(raw, (v) => 10 * v + 1),
        latent,
        latentSize: 2,
      };
    },
  },
};

function run(stride: number, readings: number) {
  const config = parsePipeline(pipelineText(stride, bothOutputs), 'outtest.yaml', {
    env: {},
    baseDir: process.cwd(),
  });
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const latentCodec = createAvroCodec<LatentVector>('latent-vector.avsc');
  const rebuilt = new MemoryMessages();
  const latent = new MemoryMessages();
  const points = new MemoryPoints();
  const registry = createThresholdRegistry(config.threshold);
  const topic = new MemoryTopic('out.frames', 2);
  const records: MemoryRecord[] = [];
  for (let t = 0; t < readings; t++) {
    for (const source of ['a', 'b']) {
      const values = [t, source === 'a' ? 1 : -1];
      records.push(
        topic.record(
          source,
          codec.encode({ source, time: 1000 + t, values, seq: t, attributes: { s: source } }),
          { ...codec.headers },
        ),
      );
    }
  }
  const flow = from(records).pipe(
    detectFlow({
      config,
      codec: codec as never,
      dlq: new MemoryDlq(),
      model: () => model,
      judge: () => registry,
      sinks: [
        new ReconstructionSink<Frame>(rebuilt, codec as never, config.frame),
        new LatentSink<Frame>(latent, latentCodec, config.name),
        new LatentPointSink<Frame>(points, config.name),
      ],
    }),
    toArray(),
  );
  return { flow, records, rebuilt, latent, points, codec, latentCodec };
}

describe('reconstruction and latent outputs of the detector flow', () => {
  it('stride 1: one reconstructed frame and one latent vector per scored frame, from the scoring pass', async () => {
    const { flow, records, rebuilt, latent, points, codec, latentCodec } = run(1, 7);
    const judged = (await lastValueFrom(flow)).flat();
    expect(judged).toHaveLength(14); // every reading scored (the first three padded)
    expect(rebuilt.messages).toHaveLength(14);
    expect(latent.messages).toHaveLength(14);
    expect(points.points).toHaveLength(14);

    const frames = rebuilt.messages.map((m) => codec.decode(m.value, m.headers as never));
    for (const source of ['a', 'b']) {
      const mine = frames.filter((f) => f.source === source);
      // Each reading's own row of its window, rebuilt: 10 x value + 1, same time/seq/attributes.
      expect(mine.map((f) => f.values)).toEqual(
        Array.from({ length: 7 }, (_, t) => [10 * t + 1, source === 'a' ? 11 : -9]),
      );
      expect(mine.map((f) => [f.time, f.seq, f.attributes.s])).toEqual(
        Array.from({ length: 7 }, (_, t) => [1000 + t, t, source]),
      );
    }
    expect(
      rebuilt.messages.every(
        (m, i) => m.key === frames[i]!.source && m.timestamp === frames[i]!.time,
      ),
    ).toBe(true);

    const vectors = latent.messages.map((m) => latentCodec.decode(m.value, m.headers as never));
    for (const v of vectors) {
      expect(v.modelVersion).toBe('v-out');
      expect(v.pipeline).toBe('outtest');
      expect(v.vector).toEqual([expect.any(Number), 8]);
    }
    // Window of a at t=5 holds readings 2..5: sum (2+3+4+5) + 4 x 1.
    const a5 = vectors.find((v) => v.source === 'a' && v.eventTime === 1005)!;
    expect(a5.vector[0]).toBeCloseTo(18, 5);
    expect(a5.partial).toBe(false);
    expect(vectors.filter((v) => v.partial)).toHaveLength(6);
    expect(new Set(vectors.map((v) => v.id)).size).toBe(14);
    expect(points.points[0]).toMatchObject({
      measurement: 'latent',
      tags: { pipeline: 'outtest', model: 'v-out' },
    });
    expect(Object.keys(points.points[0]!.fields!)).toEqual(['z0', 'z1']);

    expect(records.every((r) => r.acks === 1)).toBe(true);
  });

  it('stride 2: a window covering two new readings gives both rebuilt rows, one latent vector', async () => {
    const config = parsePipeline(pipelineText(2, bothOutputs), 'x.yaml', {
      env: {},
      baseDir: process.cwd(),
    });
    expect(config.frame.kind === 'sensor' && config.frame.stride).toBe(2);
    const { flow, records, rebuilt, latent, codec } = run(2, 8);
    const judged = (await lastValueFrom(flow)).flat();
    const frames = rebuilt.messages.map((m) => codec.decode(m.value, m.headers as never));
    // Every reading is rebuilt exactly once, with its own values.
    expect(frames).toHaveLength(16);
    for (const f of frames) expect(f.values[0]).toBe(10 * (f.time - 1000) + 1);
    expect(latent.messages).toHaveLength(judged.length);
    expect(records.every((r) => r.acks === 1)).toBe(true);
  });

  it('a model swap between batches: each latent vector and rebuilt frame comes from the model its version names', async () => {
    const config = parsePipeline(pipelineText(1, bothOutputs), 'x.yaml', {
      env: {},
      baseDir: process.cwd(),
    });
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const latentCodec = createAvroCodec<LatentVector>('latent-vector.avsc');
    // Model vN rebuilds every value as N and has the latent vector [N]; it is swapped after each batch.
    const modelOf = (n: number): Pick<ActiveModel, 'version' | 'scorer'> => ({
      version: `v${n}`,
      scorer: {
        score: model.scorer.score,
        async scoreWithOutputs(raw, count) {
          return {
            scores: new Float32Array(count),
            top: Array.from({ length: count }, () => []),
            reconstruction: new Float32Array(raw.length).fill(n),
            latent: new Float32Array(count).fill(n),
            latentSize: 1,
          };
        },
      },
    });
    let current = 1;
    const rebuilt = new MemoryMessages();
    const latent = new MemoryMessages();
    const topic = new MemoryTopic('out.frames', 1);
    const records = Array.from({ length: 40 }, (_, t) =>
      topic.record(
        'a',
        codec.encode({ source: 'a', time: t, values: [t, t], seq: null, attributes: {} }),
        { ...codec.headers },
      ),
    );
    const registry = createThresholdRegistry(config.threshold);
    await lastValueFrom(
      from(records).pipe(
        detectFlow({
          config,
          codec: codec as never,
          dlq: new MemoryDlq(),
          model: () => modelOf(current),
          judge: () => registry,
          sinks: [
            new ReconstructionSink<Frame>(rebuilt, codec as never, config.frame),
            new LatentSink<Frame>(latent, latentCodec, config.name),
            { name: 'swap', write: async () => void current++ },
          ],
        }),
        toArray(),
      ),
    );
    expect(current).toBeGreaterThan(2); // several batches of at most 8, each on another model
    const vectors = latent.messages.map((m) => latentCodec.decode(m.value, m.headers as never));
    expect(vectors).toHaveLength(40);
    for (const v of vectors) expect(v.modelVersion).toBe(`v${v.vector[0]}`);
    const frames = rebuilt.messages.map((m) => codec.decode(m.value, m.headers as never));
    frames.forEach((f, i) => expect(`v${f.values[0]}`).toBe(vectors[i]!.modelVersion));
  });

  it('outputs off: the flow scores without asking for reconstructions or latents', async () => {
    const config = parsePipeline(pipelineText(1), 'x.yaml', { env: {}, baseDir: process.cwd() });
    const codec = createAvroCodec<SensorFrame>('SensorFrame');
    const topic = new MemoryTopic('out.frames', 1);
    const records = [0, 1].map((t) =>
      topic.record(
        'a',
        codec.encode({ source: 'a', time: t, values: [t, t], seq: null, attributes: {} }),
        { ...codec.headers },
      ),
    );
    let withOutputs = 0;
    const counting = {
      ...model,
      scorer: {
        ...model.scorer,
        scoreWithOutputs: async (r: ArrayLike<number>, n: number) => {
          withOutputs++;
          return model.scorer.scoreWithOutputs(r, n);
        },
      },
    };
    const registry = createThresholdRegistry(config.threshold);
    const judged = (
      await lastValueFrom(
        from(records).pipe(
          detectFlow({
            config,
            codec: codec as never,
            dlq: new MemoryDlq(),
            model: () => counting,
            judge: () => registry,
            sinks: [],
          }),
          toArray(),
        ),
      )
    ).flat();
    expect(judged).toHaveLength(2);
    expect(withOutputs).toBe(0);
    expect(judged[0]!.latent).toBeUndefined();
  });
});

describe('reconstructedFrame for images', () => {
  const pixels = Float32Array.from([0, 63.6, 128, 255, 300, -4]); // 3x2, one channel (clamped)
  const base = { source: 'cam', time: 5, width: 3, height: 2, channels: 1 };
  it.each(['RAW_U8', 'RAW_F32', 'PNG'] as const)(
    'keeps the input encoding %s and decodes back to the pixels',
    (encoding) => {
      const like: ImageFrame = { ...base, encoding, data: Buffer.alloc(0) };
      const out = reconstructedFrame(like, pixels) as ImageFrame;
      expect(out).toMatchObject({ ...base, encoding });
      const back = imagePixels(out);
      const expected = [0, 64, 128, 255, 255, 0];
      back.forEach((v, i) =>
        expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(encoding === 'RAW_F32' ? 0.5 : 0),
      );
    },
  );
});

describe('lint of the model outputs', () => {
  const lint = (outputs: string): string[] => {
    try {
      parsePipeline(pipelineText(1, outputs), 'x.yaml', { env: {}, baseDir: process.cwd() });
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.issues.map((i) => `${i.path}: ${i.message}`);
    }
  };
  it('refuses a reconstruction topic that is the input topic, and latent.influx without influx', () => {
    expect(
      lint('reconstruction: { topic: out.frames }, latent: { topic: out.latent, influx: true }'),
    ).toEqual([
      'output.reconstruction.topic: is the same topic as input.kafka.topic ("out.frames")',
      'output.latent.influx: needs output.influx (the latent measurement is written there)',
    ]);
    expect(lint('reconstruction: { topic: x }, latent: { topic: x }')).toEqual([
      'output.latent.topic: is the same topic as output.reconstruction.topic ("x")',
    ]);
    expect(lint(bothOutputs)).toEqual([]);
  });
});
