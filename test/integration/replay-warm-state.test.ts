import { startDetector } from '../../src/app/detect';
import { replay } from '../../src/app/replay';
import { parseRangeSpec } from '../../src/connectors/kafka/offset-range';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import type { AnomalyEvent, SensorFrame } from '../../src/core/records';
import {
  committedAtLeast,
  pipelineFixture,
  type PipelineFixture,
} from '../helpers/pipeline-fixture';

/**
 * `replay --warm-from state` on the real broker: production scores two stretches of a
 * stream, writing each source's state; a replay of the second stretch that starts from the
 * state written before it (windows, thresholds, likelihood, range and k-of-n) emits
 * production's events of that stretch, read no frame of the first one, and wrote nothing
 * for the frames it only warmed on.
 */
describe('replay --warm-from state (real Kafka)', () => {
  let f: PipelineFixture;
  let frames: SensorFrame[];
  beforeAll(async () => {
    f = await pipelineFixture('replaystate', {
      partitions: { input: 3, anomalies: 1, dlq: 1 },
      model: true,
      yaml: {
        model: { engine: 'onnx' },
        rules: { likelihood: { history: 100, short: 2 }, range: { tolerance: 0.05 } },
        threshold: { kind: 'spot', risk: 1e-2, calibration: 100, perKey: true },
        output: { events: { rule: 'k-of-n', k: 2, n: 3 } },
      },
    });
    const gen = new SyntheticSource({ seed: 31, sources: 6, length: 900, anomaliesPerSource: 4 });
    frames = [...gen.frames()];
  }, 120_000);
  afterAll(() => f?.teardown());

  /** Runs production over what is in the topic, to its end. */
  async function produce(part: SensorFrame[], upTo: number): Promise<void> {
    await f.produce(part);
    const detector = f.track(await startDetector(f.config, { metricsPort: null }));
    await committedAtLeast(f, upTo, 'production to commit every frame', { timeoutMs: 60_000 });
    await detector.stop();
  }

  it('judges the range as production did, from the state it had before the range', async () => {
    const cut = Math.floor((frames.length * 2) / 3);
    await produce(frames.slice(0, cut), cut);
    const { ends } = await f.offsets();
    await produce(frames.slice(cut), frames.length);

    const from = parseRangeSpec(ends.map((o, p) => `${p}:${o}`).join(','), '--from');
    // Event ids are the input coordinates: <topic>-<partition>-<offset>.
    const inRange = (e: AnomalyEvent) => {
      const [, p, o] = /-(\d+)-(\d+)$/.exec(e.id)!;
      return Number(o) >= ends[Number(p)]!;
    };
    const production = new Map((await f.events()).filter(inRange).map((e) => [e.id, e]));
    expect(production.size).toBeGreaterThan(3);

    const replayed: AnomalyEvent[] = [];
    const summary = await replay(f.config, {
      from,
      to: parseRangeSpec('now', '--to'),
      warmFromState: true,
      runId: 'from-state',
      onEvent: (e) => replayed.push(e),
    });
    // Every source started from its state: nothing of the first stretch was read again.
    expect(summary.thresholdStart).toMatch(/^6 sources' state from/);
    expect(summary.warmup).toBeLessThan(cut / 10);
    expect(replayed.map((e) => e.id).sort()).toEqual([...production.keys()].sort());
    for (const e of replayed) {
      const p = production.get(e.id)!;
      expect(e.score).toBeCloseTo(p.score, 9);
      expect(e.threshold).toBeCloseTo(p.threshold, 9);
    }

    // Without the state, the same range starts cold and judges otherwise.
    const cold: AnomalyEvent[] = [];
    await replay(f.config, {
      from,
      to: parseRangeSpec('now', '--to'),
      runId: 'cold',
      onEvent: (e) => cold.push(e),
    });
    expect(cold.map((e) => e.id).sort()).not.toEqual([...production.keys()].sort());
  }, 180_000);
});

/**
 * A replay of a whole topic without state, on a model that stored its held-back scores:
 * each source's likelihood history starts from those scores in the replay as it did in
 * production, so the replay emits production's events.
 */
describe('replay of a likelihood pipeline from the start (real Kafka)', () => {
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('replayseed', {
      partitions: { input: 2, anomalies: 1, dlq: 1 },
      yaml: {
        model: { engine: 'onnx' },
        rules: { likelihood: { history: 200, newest: true } },
        threshold: { kind: 'static', value: 0.2 },
      },
    });
  }, 120_000);
  afterAll(() => f?.teardown());

  it("judges each source's first windows as production did", async () => {
    await f.train({ calibrate: true, value: (i) => Math.sin(i / 5) + 0.1 * Math.sin(i * 1.3) });
    const gen = new SyntheticSource({ seed: 7, sources: 4, length: 400, anomaliesPerSource: 3 });
    const frames = [...gen.frames()];
    await f.produce(frames);
    const detector = f.track(await startDetector(f.config, { metricsPort: null }));
    await committedAtLeast(f, frames.length, 'production to commit every frame', {
      timeoutMs: 60_000,
    });
    await detector.stop();
    const production = new Map((await f.events()).map((e) => [e.id, e]));
    // Production judged from each source's first full window: some events come before the
    // 100 scores a source without a calibrated start waits for.
    const early = [...production.values()].filter((e) => Number(/-(\d+)$/.exec(e.id)![1]) < 200);
    expect(early.length).toBeGreaterThan(0);

    const replayed: AnomalyEvent[] = [];
    await replay(f.config, {
      from: parseRangeSpec('earliest', '--from'),
      to: parseRangeSpec('now', '--to'),
      runId: 'seeded',
      onEvent: (e) => replayed.push(e),
    });
    expect(replayed.map((e) => e.id).sort()).toEqual([...production.keys()].sort());
    for (const e of replayed) expect(e.score).toBeCloseTo(production.get(e.id)!.score, 9);
  }, 180_000);
});
