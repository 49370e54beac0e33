/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { detectInMemory } from '../../../src/app/in-memory-detector';
import { parsePipeline } from '../../../src/config/load-pipeline';
import type { AnomalyEvent, SensorFrame } from '../../../src/core/records';
import { scoreHeldBack } from '../../../src/inference/held-back-scores';
import { windowsOf } from '../../../src/operators/sensor-windows';
import { ModelStore } from '../../../src/registry/model-store';
import { trainAndStore } from '../../../src/registry/train-and-store';
import { gaussian, seeded } from '../thresholds/random';
import { tempDir } from '../../helpers/temp-dir';

/** Two channels: a daily-like cycle and its quadrature, with a little noise. */
function readings(seed: number, n: number): number[][] {
  const noise = gaussian(seeded(seed), 2 * n, 0, 0.05);
  return Array.from({ length: n }, (_, t) => [
    Math.sin((2 * Math.PI * t) / 40) + noise[2 * t]!,
    Math.cos((2 * Math.PI * t) / 40) + noise[2 * t + 1]!,
  ]);
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const pipeline = (store: string, calibrate: string) =>
  parsePipeline(
    `
name: calibrated-start
input: { kafka: { brokers: '127.0.0.1:9092', topic: cs.frames, group: cs }, schema: schemas/sensor-frame.avsc }
frame: { kind: sensor, features: 2, window: 16, stride: 1 }
model: { kind: dense-ae, hidden: [16, 4], store: ${store}, engine: onnx, train: { epochs: 25, batchSize: 64, patience: 5, seed: 1 } }
batch: { maxSize: 64, maxWaitMs: 5 }
threshold: { kind: spot, risk: 1.0e-4, calibration: 500, level: 0.9, perKey: true, calibrate: ${calibrate} }
output: { kafka: { topic: cs.anomalies }, dlq: { topic: cs.dlq } }
`,
    'calibrated-start.yaml',
  );

describe('a detector started on a trained model', () => {
  const store = tempDir('aestream-calibrated-');
  const config = pipeline(store, 'model');

  beforeAll(async () => {
    const { raw, count } = windowsOf([readings(1, 6000)], { window: 16, stride: 1, features: 2 });
    await trainAndStore(
      config,
      { raw, count, source: 'synthetic' },
      {
        scoreHeldBack: scoreHeldBack(config.model),
      },
    );
  }, 300_000);

  /** A new source: 60 normal readings, a spike on both channels at reading 40. */
  const frames = (): SensorFrame[] =>
    readings(7, 60).map((values, seq) => ({
      source: 'new-pump',
      time: Date.UTC(2026, 0, 1) + seq * 1000,
      values: seq === 40 ? values.map((v) => v + 3) : values,
      seq,
      attributes: {},
    }));

  it("stores the scores of its held-back windows on the scale of the detector's scores", async () => {
    const stored = await new ModelStore(store).load();
    const calibration = stored.metadata.calibration!;
    stored.autoencoder.dispose();
    // 10 % of the 5,985 windows are held back (model.train.validation).
    expect(calibration.count).toBe(calibration.scores.length);
    expect(calibration.count).toBeGreaterThan(550);
    expect(calibration.scores.every((s) => Number.isFinite(s) && s >= 0)).toBe(true);
    // The detector's scores of unseen normal windows are distributed like them.
    const live: number[] = [];
    const normal = readings(11, 600).map((values, seq) => ({
      source: 'other',
      time: Date.UTC(2026, 0, 1) + seq * 1000,
      values,
      seq,
      attributes: {},
    }));
    await detectInMemory(config, normal, {
      onScored: (batch) => batch.forEach((j) => j.partial || live.push(j.score)),
    });
    expect(median(live) / median(calibration.scores)).toBeGreaterThan(0.7);
    expect(median(live) / median(calibration.scores)).toBeLessThan(1.4);
    // The spread of the scores over all training windows is that of unseen normal windows.
    const mean = live.reduce((a, b) => a + b, 0) / live.length;
    const sd = Math.sqrt(live.reduce((a, b) => a + (b - mean) ** 2, 0) / (live.length - 1));
    expect(calibration.spread!.scores / sd).toBeGreaterThan(0.6);
    expect(calibration.spread!.scores / sd).toBeLessThan(1.6);
  }, 120_000);

  it('flags an anomaly in the first windows of a new source, and nothing else', async () => {
    const events: AnomalyEvent[] = [];
    await detectInMemory(config, frames(), { onEvent: (e) => events.push(e) });
    // The first full window ends at reading 15; the spike at 40 is in windows 40 to 55.
    const at = events.map((e) => (e.eventTime - Date.UTC(2026, 0, 1)) / 1000);
    expect(at.length).toBeGreaterThan(0);
    for (const t of at) expect(t).toBeGreaterThanOrEqual(40);
    expect(at).toContain(40);
  }, 120_000);

  it('with calibrate: source, a new source is blind until it has calibrated', async () => {
    const events: AnomalyEvent[] = [];
    await detectInMemory(pipeline(store, 'source'), frames(), {
      onEvent: (e) => events.push(e),
    });
    expect(events).toHaveLength(0);
  }, 120_000);
});
