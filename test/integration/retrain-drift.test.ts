import type { Frame, SensorFrame } from '../../src/core/records';
import { describeTraining } from '../../src/cli/retrain';
import type { Judged } from '../../src/core/model-input';
import { startDetector, type Detector } from '../../src/app/detect';
import { startRetrainer, type Retrainer, type TrainingReport } from '../../src/app/retrain';
import { seededRandom } from '../../src/core/seeded-random';
import { waitFor } from '../helpers/wait-for';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/**
 * Issue 7, "Done when" 1: with a detector and the retrainer running, the input's normal
 * level shifts. The retrainer's drift test fires, it trains on the new regime and
 * publishes a release; the detector swaps to it. Afterwards the detector's false events
 * on the new normal are near zero while an anomaly injected after the swap is still
 * caught, and every frame was scored exactly once across the swap.
 */
describe('aestream retrain follows a level shift (real Kafka)', () => {
  let f: PipelineFixture;
  let detector: Detector | undefined;
  let retrainer: Retrainer | undefined;
  beforeAll(async () => {
    f = await pipelineFixture('retrain', {
      partitions: 2,
      yaml: {
        model: { train: { epochs: 40, seed: 1, patience: 5 } },
        retrain: {
          trigger: { drift: true },
          reservoir: 1000,
          epochs: 20,
          minSamples: 100,
          drift: { window: 300, checkEvery: 50, sustain: 4, alpha: 0.001 },
        },
      },
    });
  });
  afterAll(async () => {
    await retrainer?.stop();
    await detector?.stop();
    await f?.teardown();
  });

  it('publishes a model for the new level; false events vanish, anomalies are still caught', async () => {
    const config = f.config;
    // The signal: a sine of period 20 readings, amplitude 1, a little noise, at `level`.
    const random = seededRandom(11);
    const reading = (t: number, level: number) =>
      level + Math.sin((2 * Math.PI * t) / 20) + 0.05 * (random() - 0.5) * Math.sqrt(12);
    await f.train({ rows: 1500, value: (t) => reading(t, 0) });

    const scoredBy = new Map<string, number>();
    const judged: Judged<Frame>[] = [];
    const idOf = (f: SensorFrame) => `${f.source}@${f.time}`;
    detector = await startDetector(config, {
      metricsPort: null,
      onScored: (batch) => {
        for (const j of batch) {
          judged.push(j);
          for (const c of j.covered) {
            const id = idOf(c.value as SensorFrame);
            scoredBy.set(id, (scoredBy.get(id) ?? 0) + 1);
          }
        }
      },
    });
    const trainings: TrainingReport[] = [];
    retrainer = await startRetrainer(config, { onTraining: (r) => trainings.push(r) });
    expect(retrainer.model.version).toBe('v000001');

    const sources = ['pump-1', 'pump-2'];
    const produced: SensorFrame[] = [];
    let t = 0;
    const start = Date.UTC(2026, 0, 1);
    /** `n` readings per source at `level`; `spike(source, i)` adds to reading i of the phase. */
    const produce = async (n: number, level: number, spike = (_s: string, _i: number) => 0) => {
      const frames: SensorFrame[] = [];
      for (let i = 0; i < n; i++, t++) {
        for (const source of sources) {
          frames.push({
            source,
            time: start + t * 60_000,
            values: [reading(t, level) + spike(source, i)],
            seq: t,
            attributes: {},
          });
        }
      }
      produced.push(...frames);
      await f.produce(frames);
      return frames;
    };
    const allScored = () => produced.every((f) => scoredBy.has(idOf(f)));
    const anomalyRate = (frames: SensorFrame[], skip = (_f: SensorFrame) => false) => {
      const ids = new Set(frames.filter((f) => !skip(f)).map(idOf));
      const mine = judged.filter(
        (j) =>
          !j.partial && j.verdict !== 'warming-up' && ids.has(idOf(j.last.value as SensorFrame)),
      );
      return {
        n: mine.length,
        rate: mine.filter((j) => j.verdict === 'anomaly').length / mine.length,
      };
    };

    // 1. The usual level: the model knows it.
    const before = await produce(600, 0);
    await waitFor(allScored, { what: 'phase 1 scored', timeoutMs: 60_000, intervalMs: 100 });
    expect(anomalyRate(before.slice(200)).rate).toBeLessThan(0.02);

    // 2. The level shifts by 3 and stays: the old model flags the new normal.
    const shifted = await produce(800, 3);
    await waitFor(allScored, { what: 'phase 2 scored', timeoutMs: 60_000, intervalMs: 100 });
    expect(anomalyRate(shifted.slice(100)).rate).toBeGreaterThan(0.9);

    // The retrainer's drift test fires; it trains on the new regime and publishes v000002.
    await waitFor(() => trainings.find((r) => r.outcome === 'published'), {
      what: 'the retrainer to publish a release',
      timeoutMs: 90_000,
      intervalMs: 200,
      state: () => ({ trainings, stats: retrainer?.stats() }),
    });
    const published = trainings.find((r) => r.outcome === 'published') as TrainingReport;
    expect(published.trigger).toBe('drift');
    expect(published.version).toBe('v000002');
    expect(published.check?.heldBack.candidate).toBeLessThan(published.check!.heldBack.current);
    await waitFor(() => detector!.model.version === 'v000002', {
      what: 'the detector to swap to v000002',
      timeoutMs: 60_000,
    });

    // 3. After the swap: the new normal, with one anomaly (a +4 bump of 5 readings) in pump-1.
    const bump = { from: 300, to: 305 };
    const after = await produce(600, 3, (s, i) =>
      s === 'pump-1' && i >= bump.from && i < bump.to ? 4 : 0,
    );
    await waitFor(allScored, { what: 'phase 3 scored', timeoutMs: 60_000, intervalMs: 100 });
    const bumpTimes = { from: after[2 * bump.from]!.time, to: after[2 * (bump.to + 16)]!.time };
    const nearBump = (f: SensorFrame) =>
      f.source === 'pump-1' && f.time >= bumpTimes.from && f.time < bumpTimes.to;
    const falseEvents = anomalyRate(after, nearBump);
    expect(falseEvents.n).toBeGreaterThan(1000);
    expect(falseEvents.rate).toBeLessThan(0.01);
    const caught = judged.filter(
      (j) => j.verdict === 'anomaly' && nearBump(j.last.value as SensorFrame),
    );
    expect(caught.length).toBeGreaterThan(0);
    expect(new Set(caught.map((j) => j.modelVersion))).toEqual(new Set(['v000002']));

    console.log(
      `[retrain] ${trainings.map(describeTraining).join('\n')}\n` +
        `[retrain] after the swap: ${(falseEvents.rate * 100).toFixed(2)}% of ${falseEvents.n} new-normal windows flagged; ` +
        `${caught.length} windows over the bump flagged`,
    );
    // Every frame scored exactly once across the swap, by one model or the other.
    expect(scoredBy.size).toBe(produced.length);
    expect([...scoredBy.values()].every((n) => n === 1)).toBe(true);
    const versions = new Set(judged.map((j) => j.modelVersion));
    expect(versions).toEqual(new Set(['v000001', 'v000002']));
  });
});
