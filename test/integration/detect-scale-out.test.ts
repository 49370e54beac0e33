import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { assigned } from '../helpers/detector-process';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * Two detector processes in one consumer group share a 6-partition topic: the second one's
 * join rebalances the partitions while frames flow, and every frame still ends with a score
 * point (none lost; duplicates, if any, overwrite their own point).
 */
describe('two detector processes in one group (real Kafka and InfluxDB)', () => {
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('scale', {
      partitions: { input: 6, anomalies: 3, dlq: 1 },
      influx: true,
      model: true,
      yaml: { batch: { maxSize: 128, maxWaitMs: 20 } },
    });
  });
  afterAll(() => f?.teardown());

  it('shares the partitions and scores every frame at least once across the rebalance', async () => {
    const gen = new SyntheticSource({ seed: 9, sources: 24, length: 500, anomaliesPerSource: 0 });
    const frames = [...gen.frames()];

    const half = frames.length / 2;
    await f.produce(frames.slice(0, half));
    const detectors = [f.spawn()];
    await waitFor(async () => (await f.points()) > 0, {
      what: 'the first detector to score',
      timeoutMs: 120_000,
      intervalMs: 250,
    });

    // The second process joins while the first is busy: the partitions are rebalanced.
    detectors.push(f.spawn());
    await waitFor(() => assigned(detectors[1]).length > 0, {
      what: 'the second detector to get partitions',
      timeoutMs: 120_000,
      state: () => detectors[1].log.slice(-5),
    });
    await f.produce(frames.slice(half));

    await waitFor(async () => (await f.points()) >= frames.length, {
      what: `${frames.length} score points`,
      timeoutMs: 240_000,
      intervalMs: 500,
      state: () => detectors.map((d) => d.log.slice(-2)),
    });
    expect(await f.points()).toBe(frames.length);
    const [a, b] = detectors.map(assigned);
    expect([...a, ...b].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);

    // SIGTERM drains and commits: both exit cleanly.
    for (const d of detectors) d.child.kill('SIGTERM');
    expect(await Promise.all(detectors.map((d) => d.exited))).toEqual([0, 0]);
    const { ends, committed } = await f.offsets();
    expect(committed).toEqual(ends);
  });
});
