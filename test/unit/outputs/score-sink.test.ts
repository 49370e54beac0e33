import type { IPoint } from 'influx';
import { toLine } from '../../../src/connectors/influx/influx-line';
import { ScoreSink } from '../../../src/outputs/score-sink';
import type { Judged } from '../../../src/core/model-input';

function judged(over: Partial<Judged<{ time: number }>>): Judged<{ time: number }> {
  const time = 1_767_225_600_000 + Math.round((over.score ?? 0) * 1000);
  return {
    key: 'pump 1',
    data: new Float32Array(4),
    last: { ok: true, record: {} as never, value: { time } },
    covered: [],
    score: 0.25,
    contributions: [{ index: 2, error: 0.51234 }],
    modelVersion: 'v000003',
    threshold: 0.4,
    verdict: 'normal',
    probability: 0.3,
    ...over,
  };
}

describe('ScoreSink', () => {
  const batch = [
    judged({}),
    judged({ key: 'fan,east', score: 0.9, verdict: 'anomaly', probability: 0.999 }),
    judged({ score: 0.1, threshold: null, verdict: 'warming-up', probability: 0, partial: true }),
    judged({ score: 1e-7, modelVersion: 'v000004' }),
  ];

  it('sends InfluxDB exactly the lines of the score and anomaly points, with or without point objects', async () => {
    const points: IPoint[] = [];
    const lines: string[] = [];
    await new ScoreSink({ writePoints: async (p) => void points.push(...p) }, 'line').write(batch);
    await new ScoreSink(
      { writePoints: async () => undefined, writeLines: async (l) => void lines.push(...l) },
      'line',
    ).write(batch);
    expect(points.map((p) => p.measurement)).toEqual([
      'score',
      'score',
      'anomaly',
      'score',
      'score',
    ]);
    expect(lines).toEqual(points.map(toLine));
    expect(lines[1]).toBe(
      'score,pipeline=line,source=fan\\,east,model=v000003 anomaly=1,error=0.9,p=0.999,threshold=0.4 1767225600900',
    );
    expect(lines[3]).toContain(' anomaly=0,error=0.1,p=0,partial=1 ');
  });
});
