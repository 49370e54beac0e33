import type { AnomalyEvent } from '../../../src/core/records';
import { diffEvents, diffJson, diffTable } from '../../../src/replay/event-diff';

function event(
  partition: number,
  offset: number,
  source: string,
  score: number,
  model = 'v000001',
): AnomalyEvent {
  return {
    id: `in-${partition}-${offset}`,
    source,
    eventTime: 1_000 + offset,
    detectionTime: 2_000 + offset,
    score,
    threshold: 0.5,
    tailProbability: 0.01,
    severity: 'MEDIUM',
    modelVersion: model,
    pipeline: 'p',
    contributions: [{ index: 0, error: score }],
    input: { topic: 'in', partition, offset },
  };
}

describe('diffEvents', () => {
  const production = [
    event(0, 1, 'a', 1.0),
    event(0, 2, 'a', 1.1),
    event(1, 5, 'b', 0.9),
    event(1, 5, 'b', 0.9), // redelivered: same id
  ];
  const replay = [
    event(0, 2, 'a', 1.3, 'v000002'),
    event(1, 5, 'b', 0.8, 'v000002'),
    event(1, 9, 'b', 0.7, 'v000002'),
    event(2, 3, 'c', 2.0, 'v000002'),
  ];

  it('matches events by id: added, removed, unchanged, per source and in total', () => {
    const diff = diffEvents(production, replay);
    expect(diff.added.map((e) => e.id)).toEqual(['in-1-9', 'in-2-3']);
    expect(diff.removed.map((e) => e.id)).toEqual(['in-0-1']);
    expect(diff.unchanged.map((u) => u.id)).toEqual(['in-0-2', 'in-1-5']);
    expect(diff.unchanged[0]).toMatchObject({
      production: { score: 1.1, modelVersion: 'v000001' },
      replay: { score: 1.3, modelVersion: 'v000002' },
    });
    expect(diff.rows).toEqual([
      { source: 'a', production: 2, replay: 1, added: 0, removed: 1, unchanged: 1 },
      { source: 'b', production: 1, replay: 2, added: 1, removed: 0, unchanged: 1 },
      { source: 'c', production: 0, replay: 1, added: 1, removed: 0, unchanged: 0 },
      { source: '*', production: 3, replay: 4, added: 2, removed: 1, unchanged: 2 },
    ]);
  });

  it('prints a table with a total line and gives JSON with the events', () => {
    const diff = diffEvents(production, replay);
    const table = diffTable(diff).split('\n');
    expect(table[0]).toMatch(/^source\s+production\s+replay\s+added\s+removed\s+unchanged$/);
    expect(table.at(-1)).toMatch(/^total\s+3\s+4\s+2\s+1\s+2$/);
    const json = diffJson(diff, { run: 'r1' });
    expect(json).toMatchObject({ run: 'r1', counts: { added: 2, removed: 1, unchanged: 2 } });
    expect((json.added as AnomalyEvent[])[1]!.contributions).toEqual([{ index: 0, error: 2 }]);
  });

  it('identical sets give no differences; empty sets give an empty total', () => {
    const same = diffEvents(production, production);
    expect(same.rows.at(-1)).toMatchObject({ added: 0, removed: 0, unchanged: 3 });
    expect(diffEvents([], []).rows).toEqual([
      { source: '*', production: 0, replay: 0, added: 0, removed: 0, unchanged: 0 },
    ]);
  });
});
