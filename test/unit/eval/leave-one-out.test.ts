import { seriesLeaveOneOut } from '../../../src/eval/leave-one-out';
import { countSeries } from '../../../src/eval/series-metrics';

const bits = (s: string) => [...s].map(Number);
const labels = bits('0011001100');
const perfect = countSeries(labels, labels);
const blind = countSeries(labels, bits('0000000000'));

describe('seriesLeaveOneOut', () => {
  it('chooses on the other files and scores the held-out file with that choice', () => {
    // "a" is perfect on m1 and m2 and blind on m3; "b" is the reverse.
    const variants = new Map([
      [
        'a',
        new Map([
          ['m1', perfect],
          ['m2', perfect],
          ['m3', blind],
        ]),
      ],
      [
        'b',
        new Map([
          ['m1', blind],
          ['m2', blind],
          ['m3', perfect],
        ]),
      ],
    ]);
    const { folds, pooled } = seriesLeaveOneOut(variants);
    // Holding out m1: on m2+m3, a and b tie at one perfect file each; the first listed stays.
    expect(folds.map((f) => [f.group, f.chosen])).toEqual([
      ['m1', 'a'],
      ['m2', 'a'],
      ['m3', 'a'],
    ]);
    // a on the held-out files: perfect, perfect, blind.
    expect(pooled.pointRecall).toBeCloseTo(8 / 12, 12);
    expect(pooled.pointPrecision).toBe(1);
  });

  it('a single variant is simply scored on every file', () => {
    const { pooled } = seriesLeaveOneOut(
      new Map([
        [
          'a',
          new Map([
            ['m1', perfect],
            ['m2', blind],
          ]),
        ],
      ]),
    );
    expect(pooled.pointRecall).toBeCloseTo(0.5, 12);
  });
});
