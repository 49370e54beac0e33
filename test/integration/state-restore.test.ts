import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import type { SensorFrame } from '../../src/core/records';
import { scoreHeldBack } from '../../src/inference/held-back-scores';
import { trainFromFile } from '../../src/registry/train-and-store';
import {
  assigned,
  logEntries,
  stopDetector,
  type DetectorProcess,
} from '../helpers/detector-process';
import {
  committedAtLeast,
  pipelineFixture,
  type PipelineFixture,
} from '../helpers/pipeline-fixture';
import { expectReferenceEvents, spawnReference } from '../helpers/state-runs';
import { waitFor } from '../helpers/wait-for';

const SOURCES = 50;
const READINGS = 800; // per source: 40,000 frames
const WINDOW = 16;

/**
 * Exactness of the state changelog: the same frames through one uninterrupted detector,
 * and through detectors that are SIGKILLed and restarted at 25 %, scaled out from 1 to 3
 * at 50 % and back to 1 at 75 %, give the same events (ids, scores, thresholds, verdicts),
 * no padded window after a source's first, and a score for every frame.
 */
describe('state restored across a crash, scale-out and scale-in (real Kafka and InfluxDB)', () => {
  let f: PipelineFixture;
  let frames: SensorFrame[];
  beforeAll(async () => {
    f = await pipelineFixture('staterestore', {
      partitions: { input: 6, anomalies: 3, dlq: 1 },
      influx: true,
      topics: { refevents: 3 },
      yaml: {
        input: { kafka: { commitIntervalMs: 300 } },
        frame: { window: WINDOW },
        // One engine for every process: `auto` times the engines at start, and under load
        // two processes can pick different ones (scores then differ in float32 rounding).
        model: { engine: 'onnx', train: { epochs: 3, validation: 0.4 } },
        // Thresholds start from the model's 2,000+ held-back scores, then learn per source.
        threshold: { kind: 'spot', risk: 1e-3, calibration: 2000, perKey: true },
      },
    });
    // Training data: the sources' normal behaviour (no anomalies), one column.
    const normal = new SyntheticSource({
      seed: 11,
      sources: 1,
      length: 6000,
      anomaliesPerSource: 0,
    });
    const csv = join(f.dir, 'normal.csv');
    writeFileSync(
      csv,
      ['value', ...[...normal.frames()].map((x) => String(x.values[0]))].join('\n'),
    );
    await trainFromFile(f.config, { data: csv, scoreHeldBack: scoreHeldBack(f.config.model) });
    const gen = new SyntheticSource({
      seed: 12,
      sources: SOURCES,
      length: READINGS,
      anomaliesPerSource: 2,
    });
    frames = [...gen.frames()]; // time order, sources interleaved
  }, 180_000);
  afterAll(() => f?.teardown());

  /** The `count` and `partial` score points a pipeline wrote. */
  async function points(pipeline: string): Promise<{ scored: number; partial: number }> {
    const q = async (field: string) => {
      const rows = await f.influx
        .query<{ n: number }>(
          `SELECT count("${field}") AS n FROM score WHERE pipeline = '${pipeline}'`,
        )
        .catch(() => []);
      return rows[0]?.n ?? 0;
    };
    return { scored: await q('error'), partial: await q('partial') };
  }

  const stop = async (p: DetectorProcess) => expect(await stopDetector(p)).toBe(0);

  it('emits the same events as one uninterrupted detector', async () => {
    const quarter = frames.length / 4;
    // The reference reads the same input as it arrives, one detector process throughout.
    const { name: refName, process: reference } = spawnReference(f);

    await f.produce(frames.slice(0, 2 * quarter));
    const first = f.spawn();
    await committedAtLeast(f, quarter, 'a quarter of the frames committed');
    first.child.kill('SIGKILL');
    await first.exited;
    const restarted = f.spawn();
    await committedAtLeast(f, 2 * quarter, 'half of the frames committed');

    // Scale out to 3 while the third quarter arrives.
    const more = [f.spawn(), f.spawn()];
    await f.produce(frames.slice(2 * quarter, 3 * quarter));
    await waitFor(() => more.every((p) => assigned(p).length > 0), {
      what: 'the new detectors to get partitions',
      timeoutMs: 120_000,
    });
    await committedAtLeast(f, 3 * quarter, 'three quarters committed');

    // Scale in to 1: the remaining detector takes the others' partitions over and scores
    // the last quarter on all of them.
    await Promise.all(more.map(stop));
    await f.produce(frames.slice(3 * quarter));
    await committedAtLeast(f, frames.length, 'every frame committed');
    await committedAtLeast(f, frames.length, 'the reference to commit every frame', {
      group: `${f.group}-ref`,
    });
    await stop(restarted);
    await stop(reference);

    // Every event of the interrupted run, duplicates of redone frames included.
    expect(await expectReferenceEvents(f)).toBeGreaterThan(20);
    // Every frame scored at least once; only each source's first W-1 readings were padded.
    expect(await points(f.name)).toEqual({
      scored: frames.length,
      partial: SOURCES * (WINDOW - 1),
    });
    expect(await points(refName)).toEqual({
      scored: frames.length,
      partial: SOURCES * (WINDOW - 1),
    });
    // Each takeover read the state: after the crash, by the new detectors, after the scale-in.
    const restored = (p: DetectorProcess) =>
      logEntries(p)
        .filter((l) => l.msg === 'state restored')
        .map((l) => Number(l.sources));
    expect(restored(restarted).length).toBeGreaterThanOrEqual(2); // more with several rebalances
    expect(restored(restarted).every((n) => n > 0)).toBe(true);
    for (const p of more) expect(restored(p)[0]).toBeGreaterThan(0);
  }, 600_000);
});
