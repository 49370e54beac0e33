import { matchEvents } from '../../../src/eval/event-matching';

describe('matchEvents', () => {
  const anomalies = [
    { source: 'a', startTime: 100, endTime: 110 },
    { source: 'a', startTime: 500, endTime: 500 },
    { source: 'b', startTime: 100, endTime: 120 },
  ];

  it('counts an anomaly found by an event inside it or within the tail after it', () => {
    const r = matchEvents(
      anomalies,
      [
        { source: 'a', eventTime: 105 },
        { source: 'a', eventTime: 108 },
        { source: 'a', eventTime: 530 }, // within the 50 ms tail of the spike at 500
        { source: 'b', eventTime: 400 }, // far from b's anomaly: false
        { source: 'c', eventTime: 100 }, // a source without anomalies: false
      ],
      50,
    );
    expect(r).toMatchObject({ injected: 3, found: 2, events: 5, trueEvents: 3, falseEvents: 2 });
    expect(r.recall).toBeCloseTo(2 / 3, 10);
    expect(r.precision).toBeCloseTo(3 / 5, 10);
    expect(r.perAnomaly.map((p) => p.firstEvent)).toEqual([105, 530, null]);
  });

  it('does not match an event of another source at the same time', () => {
    const r = matchEvents(
      [{ source: 'a', startTime: 0, endTime: 10 }],
      [{ source: 'b', eventTime: 5 }],
      0,
    );
    expect(r).toMatchObject({ found: 0, falseEvents: 1, recall: 0, precision: 0 });
  });

  it('gives precision 1 without events and recall 1 without anomalies', () => {
    expect(matchEvents([], [], 0)).toMatchObject({ precision: 1, recall: 1 });
  });
});
