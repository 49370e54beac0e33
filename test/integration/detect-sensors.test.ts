import { windowsOf } from '../../src/operators/sensor-windows';
import { firstReadings } from '../../src/app/demo';
import { matchEvents } from '../../src/eval/event-matching';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { trainAndStore } from '../../src/registry/train-and-store';
import { startDetector } from '../../src/app/detect';
import { waitFor } from '../helpers/wait-for';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/**
 * `aestream detect` through the real broker and InfluxDB: 20,000 sensor frames from 10
 * sources with 30 injected anomalies (spikes, level shifts, drifts, noise bursts).
 */
describe('aestream detect (real Kafka and InfluxDB)', () => {
  const window = 32;
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('detect', {
      influx: true,
      yaml: {
        frame: { features: 2, window },
        model: { hidden: [32, 8], train: { epochs: 40, seed: 42 } },
        batch: { maxSize: 256, maxWaitMs: 20 },
        threshold: { kind: 'spot', risk: 1.0e-5, calibration: 600, level: 0.9 },
      },
    });
  });
  afterAll(() => f?.teardown());

  it('finds at least 25 of 30 injected anomalies with at most 10 false events, and writes a score point for every frame', async () => {
    const { config, name, topics } = f;
    // 10 sources x 2,600 readings: the first 600 train the model and are not streamed, the
    // next 632 calibrate the thresholds, the 30 anomalies come after that.
    const train = 600;
    const gen = new SyntheticSource({
      seed: 11,
      sources: 10,
      length: 2600,
      features: 2,
      seasons: [
        { period: 240, amplitude: 1 },
        { period: 40, amplitude: 0.3 },
      ],
      noise: 0.08,
      anomaliesPerSource: 3,
      magnitude: 2.5,
      warmup: train + window + 600 + 50,
    });
    expect(gen.anomalies).toHaveLength(30);

    const { raw, count } = windowsOf(
      gen.sources.map((source) => firstReadings(gen.series(source), train)),
      { window, stride: 1, features: 2 },
    );
    await trainAndStore(config, { raw, count, source: 'synthetic seed 11' });

    const frames = [...gen.frames()].filter((x) => (x.seq ?? 0) >= train);
    expect(frames).toHaveLength(20_000);
    await f.produce(frames);

    const detector = f.track(
      await startDetector(config, { metricsPort: 0, reportIntervalMs: 1_000 }),
    );

    // Every valid frame ends with a score point (the first W-1 of each source in a padded window).
    const countPoints = () => f.points();
    const failed = detector.done.then(() => {
      throw new Error('the detector stopped before scoring every frame');
    });
    await Promise.race([
      failed,
      waitFor(async () => (await countPoints()) >= 20_000, {
        what: '20,000 score points in InfluxDB',
        timeoutMs: 240_000,
        intervalMs: 500,
      }),
    ]);
    failed.catch(() => undefined);
    expect(await countPoints()).toBe(20_000);

    // Points and events are acked together, so the anomaly topic is complete now.
    const events = await f.events();

    const match = matchEvents(gen.anomalies, events, window * 60_000);
    console.log(
      `[detect] ${match.found}/${match.injected} anomalies found, ${match.events} events, ${match.falseEvents} false`,
    );
    expect(match.found).toBeGreaterThanOrEqual(25);
    expect(match.falseEvents).toBeLessThanOrEqual(10);
    // Event ids are the input coordinates: unique, and dedupe-able on redelivery.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    // Observability: Prometheus counters, readiness, and the pipeline measurement in InfluxDB.
    const metrics = await (await fetch(`http://127.0.0.1:${detector.metricsPort}/metrics`)).text();
    expect(metrics).toContain(`aestream_frames_scored_total{pipeline="${name}"} 20000`);
    expect(metrics).toContain(`aestream_anomalies_total{pipeline="${name}"} ${events.length}`);
    expect(metrics).toMatch(
      new RegExp(
        `aestream_consumer_lag\\{pipeline="${name}",topic="${topics.input}",partition="0"\\} \\d+`,
      ),
    );
    expect((await fetch(`http://127.0.0.1:${detector.metricsPort}/readyz`)).status).toBe(200);
    await waitFor(
      async () =>
        (
          await f.influx.query<{ scored: number }>(
            `SELECT sum("scored_per_s") AS "scored" FROM "pipeline"`,
          )
        )[0]?.scored > 0,
      { what: 'pipeline figures in InfluxDB', timeoutMs: 30_000, intervalMs: 500 },
    );
    const [figures] = await f.influx.query<{ backend: string; engine: string }>(
      `SELECT last("backend") AS "backend", last("engine") AS "engine" FROM "pipeline"`,
    );
    expect(figures.backend).toBe(detector.model.backend);
    expect(figures.engine).toBe(detector.model.engine);
    expect(events.every((e) => e.pipeline === name && e.modelVersion === 'v000001')).toBe(true);
  });
});
