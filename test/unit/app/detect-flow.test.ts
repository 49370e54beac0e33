import { memoryPipeline } from '../../helpers/pipeline-config';
import { waitFor } from '../../helpers/wait-for';
import { lastValueFrom, from, toArray } from 'rxjs';
import { createAvroCodec } from '../../../src/codecs/avro-codec';
import type { AnomalyEvent, Frame, SensorFrame } from '../../../src/core/records';
import { AnomalyEventSink } from '../../../src/outputs/anomaly-event-sink';
import { ScoreSink } from '../../../src/outputs/score-sink';
import type { ActiveModel } from '../../../src/inference/active-model';
import { detectFlow } from '../../../src/operators/detect-flow';
import { detectorMetrics } from '../../../src/observability/metrics';
import { register } from 'prom-client';
import { createThresholdRegistry } from '../../../src/thresholds/threshold-registry';
import {
  MemoryDlq,
  MemoryMessages,
  MemoryPoints,
  MemoryTopic,
  type MemoryRecord,
} from '../../../src/connectors/kafka/memory-io';

/** A model stand-in: the score is the largest absolute value in the window. */
const maxAbsModel: Pick<ActiveModel, 'version' | 'scorer'> = {
  version: 'v-test',
  scorer: {
    async score(raw, n) {
      const size = raw.length / n;
      const scores = new Float32Array(n);
      const top = [];
      for (let f = 0; f < n; f++) {
        let best = 0;
        let index = 0;
        for (let i = 0; i < size; i++) {
          const v = Math.abs(raw[f * size + i]);
          if (v > best) [best, index] = [v, i];
        }
        scores[f] = best;
        top.push([{ index, error: best }]);
      }
      return { scores, top };
    },
    async scoreWithOutputs(raw, n) {
      const { scores, top } = await this.score(raw, n);
      return { scores, top, reconstruction: Float32Array.from(raw), latent: scores, latentSize: 1 };
    },
  },
};

function setup() {
  const config = memoryPipeline('flowtest', {
    frame: { features: 2, window: 4 },
    batch: { maxSize: 8, maxWaitMs: 1 },
  });
  const codec = createAvroCodec<SensorFrame>('SensorFrame');
  const eventCodec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
  const dlq = new MemoryDlq();
  const messages = new MemoryMessages();
  const points = new MemoryPoints();
  const registry = createThresholdRegistry(config.threshold);
  const parts = {
    config,
    codec: codec as never,
    dlq,
    model: () => maxAbsModel,
    judge: () => registry,
    sinks: [
      new AnomalyEventSink<Frame>(messages, eventCodec, config.name),
      new ScoreSink<Frame>(points, config.name),
    ],
  };
  const frame = (source: string, t: number, values: number[]): Buffer =>
    codec.encode({ source, time: 1_000_000 + t, values, seq: null, attributes: {} });
  return { config, codec, eventCodec, dlq, messages, points, parts, frame };
}

describe('detectFlow (in-memory parts)', () => {
  it('scores windows per source, emits events for anomalies, dead-letters bad frames, and acks everything', async () => {
    const { parts, frame, dlq, messages, points, eventCodec, codec } = setup();
    const records: MemoryRecord[] = [];
    const topic = new MemoryTopic('flow.frames', 1);
    const push = (key: string, value: Buffer) =>
      records.push(topic.record(key, value, { ...codec.headers }));
    for (let t = 0; t < 10; t++) {
      push('a', frame('a', t, [0.1, 0.2]));
      push('b', frame('b', t, t === 6 ? [5, 0.1] : [0.3, 0.1])); // one spike in b
    }
    push('a', Buffer.from([0xff, 0xff, 0xff])); // not Avro
    push('a', frame('a', 99, [NaN, 1])); // NaN
    push('b', frame('b', 99, [1, 2, 3])); // wrong length

    const batches = await lastValueFrom(from(records).pipe(detectFlow(parts), toArray()));
    const judged = batches.flat();

    // 10 readings per source, window 4, stride 1: every reading gets a window, the first
    // three padded (partial: scored, never judged), so every valid frame has a score point.
    expect(judged.filter((j) => j.key === 'a')).toHaveLength(10);
    expect(judged.filter((j) => j.key === 'b')).toHaveLength(10);
    expect(judged.filter((j) => j.partial).map((j) => j.verdict)).toEqual(
      Array(6).fill('warming-up'),
    );
    expect(points.points.filter((p) => p.measurement === 'score')).toHaveLength(20);

    // The spike at t=6 is in b's windows ending at t=6..9: four anomalies, each an event.
    const anomalies = judged.filter((j) => j.verdict === 'anomaly');
    expect(anomalies.map((j) => (j.last.value as SensorFrame).time - 1_000_000)).toEqual([
      6, 7, 8, 9,
    ]);
    const events = messages.messages.map((m) => eventCodec.decode(m.value, m.headers as never));
    expect(events).toHaveLength(4);
    expect(events[0]).toMatchObject({
      source: 'b',
      pipeline: 'flowtest',
      modelVersion: 'v-test',
      score: 5,
      threshold: 1,
    });
    expect(events.map((e) => e.id)).toEqual(
      anomalies.map((j) => `flow.frames-0-${j.last.record.offset}`),
    );
    expect(messages.messages.every((m) => m.key === 'b')).toBe(true);

    expect(dlq.letters.map((l) => l.reason).sort()).toEqual([
      'AE_ERR_AVRO_DECODE',
      'AE_ERR_FRAME_SHAPE',
      'AE_ERR_NON_FINITE',
    ]);

    // Nothing lost: every record, warm-up readings and dead letters included, acked exactly once.
    expect(records.map((r) => r.acks)).toEqual(records.map(() => 1));
  });

  it('acks a batch only after every sink has acknowledged it', async () => {
    const { parts, frame, messages, points, codec } = setup();
    let openPoints!: () => void;
    points.gate = new Promise((resolve) => (openPoints = resolve));
    const topic = new MemoryTopic('flow.frames', 1);
    const records = Array.from({ length: 4 }, (_, t) =>
      topic.record('a', frame('a', t, [0.1, 0.1]), { ...codec.headers }),
    );
    const done = lastValueFrom(from(records).pipe(detectFlow(parts), toArray()));
    // The batch reaches the sinks: the event sink has nothing to write, InfluxDB is held.
    await waitFor(() => points.held > 0, { what: 'the score write to be held' });
    expect(points.points).toHaveLength(0);
    expect(records.map((r) => r.acks)).toEqual([0, 0, 0, 0]);
    openPoints();
    await done;
    expect(records.map((r) => r.acks)).toEqual([1, 1, 1, 1]);
    expect(messages.messages).toHaveLength(0);
  });

  it('ends with the sink error and leaves the records unacked when a sink fails', async () => {
    const { parts, frame, codec } = setup();
    const failing = { name: 'broken', write: async () => Promise.reject(new Error('influx down')) };
    const topic = new MemoryTopic('flow.frames', 1);
    const records = Array.from({ length: 4 }, (_, t) =>
      topic.record('a', frame('a', t, [0.1, 0.1]), { ...codec.headers }),
    );
    await expect(
      lastValueFrom(from(records).pipe(detectFlow({ ...parts, sinks: [...parts.sinks, failing] }))),
    ).rejects.toThrow('influx down');
    expect(records.map((r) => r.acks)).toEqual([0, 0, 0, 0]);
  });

  it('counts on /metrics every record read, dead letters included, and the end-to-end time of each frame scored', async () => {
    const { parts, frame, codec } = setup();
    const pipeline = parts.config.name;
    const metrics = detectorMetrics();
    const sample = async (metric: string, name = metric) =>
      (await register.getSingleMetric(metric)!.get()).values
        .filter(
          (v) =>
            v.labels.pipeline === pipeline &&
            ((v as { metricName?: string }).metricName ?? name) === name,
        )
        .reduce((sum, v) => sum + v.value, 0);
    const before = {
      in: await sample('aestream_frames_in_total'),
      e2e: await sample('aestream_end_to_end_seconds', 'aestream_end_to_end_seconds_count'),
    };
    const topic = new MemoryTopic('flow.frames', 1);
    const records = Array.from({ length: 6 }, (_, t) =>
      topic.record('a', frame('a', t, [0.1, 0.1]), { ...codec.headers }),
    );
    records.push(topic.record('a', Buffer.from([0xff]), { ...codec.headers })); // a dead letter
    await lastValueFrom(from(records).pipe(detectFlow({ ...parts, metrics }), toArray()));
    expect((await sample('aestream_frames_in_total')) - before.in).toBe(7);
    expect(
      (await sample('aestream_end_to_end_seconds', 'aestream_end_to_end_seconds_count')) -
        before.e2e,
    ).toBe(6);
  });
});
