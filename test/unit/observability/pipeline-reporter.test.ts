import type { IPoint } from 'influx';
import { AeError, ErrorCodes } from '../../../src/core/errors';
import { DlqSink } from '../../../src/outputs/dlq-sink';
import { MemoryTopic } from '../../../src/connectors/kafka/memory-io';
import { detectorMetrics } from '../../../src/observability/metrics';
import { startPipelineReporter } from '../../../src/observability/pipeline-reporter';

/** What Grafana reads of a detector besides its scores: the `pipeline`, `dlq` and `model` points. */
describe('pipeline reporter', () => {
  it('goes on reporting after a tick whose figures could not be read', async () => {
    const pipeline = `reporter-throw-${Date.now()}`;
    const points: IPoint[] = [];
    let reads = 0;
    const stop = startPipelineReporter(
      pipeline,
      { writePoints: async (p) => void points.push(...p) },
      {
        lag: async () => [],
        model: () => {
          reads++;
          if (reads === 1) throw new Error('model slot being swapped');
          return { version: 'v000001', engine: 'onnx', backend: 'wasm' };
        },
      },
      5,
    );
    while (points.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await stop();
    expect(reads).toBeGreaterThan(1);
    expect(points.filter((p) => p.measurement === 'model')[0]!.fields).toMatchObject({
      event: 'loaded',
    });
  });

  it('reports figures, dead letters per reason since it started, and model loads and swaps', async () => {
    const pipeline = `reporter-${Date.now()}`;
    const dlqTopic = `${pipeline}.dlq`;
    const dlq = new DlqSink({ topic: dlqTopic, send: async () => undefined });
    const record = new MemoryTopic(`${pipeline}.frames`, 1).record('k', Buffer.from([1]), {});
    // A dead letter from before the detector started is not reported as its own.
    await dlq.send(record, new AeError(ErrorCodes.AVRO_DECODE, 'old'));

    const points: IPoint[] = [];
    let model = { version: 'v000001', engine: 'onnx', backend: 'wasm' };
    const metrics = detectorMetrics();
    const stop = startPipelineReporter(
      pipeline,
      { writePoints: async (p) => void points.push(...p) },
      { lag: async () => [{ partition: 0, lag: 7 }], model: () => model, dlqTopic },
      60_000,
    );
    metrics.framesIn.inc({ pipeline }, 10);
    metrics.batchSize.observe({ pipeline }, 4);
    metrics.inferenceSeconds.observe({ pipeline, engine: 'onnx' }, 0.002);
    metrics.endToEndSeconds.observe({ pipeline }, 0.5);
    metrics.endToEndSeconds.observe({ pipeline }, 1.5);
    await dlq.send(record, new AeError(ErrorCodes.AVRO_DECODE, 'bad bytes'));
    await dlq.send(record, new AeError(ErrorCodes.AVRO_DECODE, 'bad bytes'));
    await dlq.send(record, new AeError(ErrorCodes.NON_FINITE, 'NaN'));
    // Another pipeline's dead letters stay out.
    await new DlqSink({ topic: 'other.dlq', send: async () => undefined }).send(
      record,
      new AeError(ErrorCodes.FRAME_SHAPE, 'other'),
    );
    model = { version: 'v000002', engine: 'onnx', backend: 'wasm' };
    await stop();

    const of = (m: string) => points.filter((p) => p.measurement === m);
    expect(of('pipeline')).toHaveLength(1);
    expect(of('pipeline')[0]!.tags).toEqual({ pipeline, model: 'v000002' });
    expect(of('pipeline')[0]!.fields).toMatchObject({
      lag: 7,
      batch_size: 4,
      backend: 'wasm',
      engine: 'onnx',
    });
    expect(of('pipeline')[0]!.fields!.e2e_ms).toBeCloseTo(1000, 6);
    expect(of('pipeline')[0]!.fields!.inference_ms).toBeCloseTo(2, 6);
    expect(
      of('dlq')
        .map((p) => [p.tags!.reason, p.fields!.records])
        .sort(),
    ).toEqual([
      ['AE_ERR_AVRO_DECODE', 2],
      ['AE_ERR_NON_FINITE', 1],
    ]);
    expect(of('model').map((p) => [p.tags!.model, p.fields!.event, p.fields!.previous])).toEqual([
      ['v000002', 'loaded', ''],
    ]);
  });

  it('writes a model point when another model is in use, and dead letters only once', async () => {
    const pipeline = `reporter-swap-${Date.now()}`;
    const dlqTopic = `${pipeline}.dlq`;
    const dlq = new DlqSink({ topic: dlqTopic, send: async () => undefined });
    const record = new MemoryTopic(`${pipeline}.frames`, 1).record('k', Buffer.from([1]), {});
    const writes: IPoint[][] = [];
    let model = { version: 'v000003', engine: 'tfjs', backend: 'cpu' };
    const stop = startPipelineReporter(
      pipeline,
      { writePoints: async (p) => void writes.push([...p]) },
      { lag: async () => null, model: () => model, dlqTopic },
      10,
    );
    await dlq.send(record, new AeError(ErrorCodes.AVRO_DECODE, 'x'));
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    const all = () => writes.flat();
    await until(() => all().some((p) => p.measurement === 'dlq'));
    model = { version: 'v000004', engine: 'tfjs', backend: 'cpu' };
    await until(() => all().filter((p) => p.measurement === 'model').length === 2);
    await stop();

    const models = all().filter((p) => p.measurement === 'model');
    expect(models.map((p) => [p.tags!.model, p.fields!.event, p.fields!.previous])).toEqual([
      ['v000003', 'loaded', ''],
      ['v000004', 'swapped', 'v000003'],
    ]);
    expect(models[1]!.fields).toMatchObject({ engine: 'tfjs', backend: 'cpu' });
    expect(all().filter((p) => p.measurement === 'dlq')).toHaveLength(1);
    // No lag known: no lag field rather than a made-up 0.
    expect(all().find((p) => p.measurement === 'pipeline')!.fields).not.toHaveProperty('lag');
  });
});
