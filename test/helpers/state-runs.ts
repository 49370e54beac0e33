import type { DetectorProcess } from './detector-process';
import type { PipelineFixture } from './pipeline-fixture';

/**
 * The reference of a state test: one detector process that is never interrupted, with a
 * group, state topic and anomaly topic (`refevents`) of its own, reading the same input.
 */
export function spawnReference(f: PipelineFixture): { name: string; process: DetectorProcess } {
  const ref = f.pipeline({
    name: `${f.name}-ref`,
    input: { kafka: { group: `${f.group}-ref` } },
    output: { kafka: { topic: f.topics.refevents } },
    state: { topic: `${f.name}.refstate` },
  });
  return { name: ref.config.name, process: f.spawn(ref.file) };
}

/**
 * Expects the interrupted run's events to be the reference's: the same ids, and every event
 * (duplicates of redone frames included) with the reference's score and threshold to 1e-9
 * and its severity. Returns how many distinct events there were.
 */
export async function expectReferenceEvents(f: PipelineFixture): Promise<number> {
  const expected = new Map((await f.events(f.topics.refevents!)).map((e) => [e.id, e]));
  const all = await f.events();
  expect([...new Set(all.map((e) => e.id))].sort()).toEqual([...expected.keys()].sort());
  for (const e of all) {
    const r = expected.get(e.id)!;
    expect(e.score).toBeCloseTo(r.score, 9);
    expect(e.threshold).toBeCloseTo(r.threshold, 9);
    expect(e.severity).toBe(r.severity);
  }
  return expected.size;
}
