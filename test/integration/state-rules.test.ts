import { SyntheticSource } from '../../src/connectors/synthetic-source';
import type { SensorFrame } from '../../src/core/records';
import { logEntries, stopDetector, type DetectorProcess } from '../helpers/detector-process';
import {
  committedAtLeast,
  pipelineFixture,
  type PipelineFixture,
} from '../helpers/pipeline-fixture';
import { expectReferenceEvents, spawnReference } from '../helpers/state-runs';

/**
 * The score rules and event rules of the shipped presets (univariate: likelihood with its
 * daily memory and profile, and range with window medians; demo: k-of-n events) survive a SIGKILL: the
 * restarted detector continues each source's likelihood history, daily memory and profile, ranges and recent verdicts from
 * the changelog, so its events are those of a detector that never stopped.
 */
describe('score and event rules restored after a SIGKILL (real Kafka)', () => {
  let f: PipelineFixture;
  let frames: SensorFrame[];
  beforeAll(async () => {
    f = await pipelineFixture('staterules', {
      partitions: { input: 3, anomalies: 2, dlq: 1 },
      model: { rows: 3000, epochs: 3 },
      topics: { refevents: 2 },
      yaml: {
        input: { kafka: { commitIntervalMs: 300 } },
        // One engine for every process (`auto` may pick another one under load).
        model: { engine: 'onnx' },
        rules: {
          likelihood: { history: 200, short: 2, suppress: 10, daily: true, profile: true },
          range: { tolerance: 0.05, median: true },
        },
        threshold: { kind: 'spot', risk: 1e-2, calibration: 100, perKey: true },
        output: { events: { rule: 'k-of-n', k: 2, n: 3 } },
      },
    });
    // Readings 5 minutes apart: 700 span 2.4 days, so the daily memory judges the last 1.4.
    const gen = new SyntheticSource({
      seed: 21,
      sources: 12,
      length: 700,
      anomaliesPerSource: 3,
      intervalMs: 300_000,
    });
    frames = [...gen.frames()];
  }, 120_000);
  afterAll(() => f?.teardown());

  const stop = async (p: DetectorProcess) => expect(await stopDetector(p)).toBe(0);

  it('emits the events, scores and thresholds of an uninterrupted detector', async () => {
    const quarter = Math.floor(frames.length / 4);
    // The reference reads the same input as it arrives, one detector process throughout.
    const { process: reference } = spawnReference(f);
    await f.produce(frames.slice(0, 2 * quarter));
    const first = f.spawn();
    await committedAtLeast(f, quarter, 'a quarter of the frames committed', { timeoutMs: 120_000 });
    first.child.kill('SIGKILL');
    await first.exited;
    const restarted = f.spawn();
    await f.produce(frames.slice(2 * quarter));
    await committedAtLeast(f, frames.length, 'every frame committed', { timeoutMs: 120_000 });
    await committedAtLeast(f, frames.length, 'the reference to commit every frame', {
      group: `${f.group}-ref`,
      timeoutMs: 120_000,
    });
    await stop(restarted);
    await stop(reference);

    // Every event of the interrupted run, duplicates of redone frames included.
    expect(await expectReferenceEvents(f)).toBeGreaterThan(5);
    // The restart read every source's state back, rules included.
    const restored = logEntries(restarted).filter((l) => l.msg === 'state restored');
    expect(restored.length).toBeGreaterThanOrEqual(1);
    expect(Number(restored[0]!.sources)).toBeGreaterThan(0);
  }, 300_000);
});
