import type { Frame, SensorFrame } from '../../src/core/records';
import type { Judged } from '../../src/core/model-input';
import { startDetector } from '../../src/app/detect';
import { waitFor } from '../helpers/wait-for';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/**
 * Readings that wait in their source's window for later ones (no padding, or a stride over
 * 1) stay unacked until that window is scored, but must not count against
 * `input.kafka.maxInFlight`: only more input completes their windows, so a source that waited
 * for their acks would stall for good.
 */
describe('aestream detect with readings held in windows (real Kafka)', () => {
  const window = 16;
  const sources = 40;
  const readings = 60;
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('held', {
      partitions: 1,
      model: true,
      yaml: {
        frame: { features: 1, window, pad: false },
        input: { kafka: { maxInFlight: 100 } },
      },
    });
  });
  afterAll(() => f?.teardown());

  it('scores every window and commits every offset when more readings are held than maxInFlight', async () => {
    // Round robin over 40 sources: 40 x 15 = 600 readings wait for their first window, 6 x maxInFlight.
    const frames: SensorFrame[] = [];
    for (let t = 0; t < readings; t++)
      for (let s = 0; s < sources; s++)
        frames.push({
          source: `held-${s}`,
          time: Date.UTC(2026, 0, 1) + t * 60_000,
          values: [Math.sin(t / 4 + s)],
          seq: t,
          attributes: {},
        });
    await f.produce(frames);

    const scored: Judged<Frame>[] = [];
    const detector = f.track(
      await startDetector(f.config, { metricsPort: 0, onScored: (b) => scored.push(...b) }),
    );
    const failed = detector.done.then(() => {
      throw new Error('the detector stopped before scoring every window');
    });
    const windows = sources * (readings - window + 1);
    await Promise.race([
      failed,
      waitFor(() => scored.length >= windows, {
        what: `${windows} windows scored`,
        timeoutMs: 60_000,
        state: () => ({ scored: scored.length }),
      }),
    ]);
    await Promise.race([
      failed,
      waitFor(
        async () => {
          const { ends, committed } = await f.offsets();
          return committed[0] === ends[0];
        },
        { what: 'every offset committed', timeoutMs: 30_000 },
      ),
    ]);
    failed.catch(() => undefined);
    expect(scored).toHaveLength(windows);
    // Every frame is covered by exactly one window: the first of a source covers its first 16.
    const covered = scored.reduce((n, j) => n + j.covered.length, 0);
    expect(covered).toBe(frames.length);
    expect(scored.some((j) => j.partial)).toBe(false);
  }, 120_000);
});
