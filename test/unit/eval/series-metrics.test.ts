import { addCounts, countSeries, figuresOf, segmentsOf } from '../../../src/eval/series-metrics';

const bits = (s: string) => [...s.replace(/ /g, '')].map(Number);

describe('segmentsOf', () => {
  it('finds maximal runs of anomalous rows, end exclusive, also one that ends the series', () => {
    expect(segmentsOf(bits('0110 0010 11'))).toEqual([
      [1, 3],
      [6, 7],
      [8, 10],
    ]);
    expect(segmentsOf(bits('0000'))).toEqual([]);
    expect(segmentsOf(bits('1111'))).toEqual([[0, 4]]);
  });
});

describe('series figures', () => {
  // Two segments: rows 2-5 (hit once, at row 5) and rows 10-11 (missed); two false alarms.
  const labels = bits('0011 1100 0011 0000');
  const flags = bits('1000 0100 0000 0001');

  it('point-wise precision, recall and F1 count rows without adjustment', () => {
    const c = countSeries(labels, flags);
    expect(c).toMatchObject({ tp: 1, fp: 2, fn: 5, tn: 8, segments: 2, segmentsFound: 1 });
    const f = figuresOf(c);
    expect(f.pointPrecision).toBeCloseTo(1 / 3, 12);
    expect(f.pointRecall).toBeCloseTo(1 / 6, 12);
    expect(f.pointF1).toBeCloseTo((2 * (1 / 3) * (1 / 6)) / (1 / 3 + 1 / 6), 12);
  });

  it('event recall is the share of segments with a flagged row; composite F1 pairs it with point precision', () => {
    const f = figuresOf(countSeries(labels, flags));
    expect(f.eventRecall).toBeCloseTo(0.5, 12);
    expect(f.compositeF1).toBeCloseTo((2 * (1 / 3) * 0.5) / (1 / 3 + 0.5), 12);
  });

  it('false-alarm rate is flagged normal rows over normal rows', () => {
    expect(figuresOf(countSeries(labels, flags)).falseAlarmRate).toBeCloseTo(2 / 10, 12);
  });

  it('point adjustment counts a hit segment as fully flagged and keeps the false alarms', () => {
    const f = figuresOf(countSeries(labels, flags));
    // adjusted: tp 4 (the first segment), fn 2 (the missed one), fp 2
    const p = 4 / 6;
    const r = 4 / 6;
    expect(f.pointAdjustedF1).toBeCloseTo((2 * p * r) / (p + r), 12);
    expect(f.pointAdjustedF1!).toBeGreaterThan(f.pointF1!);
  });

  it('a perfect detector scores 1 everywhere and 0 false alarms', () => {
    const f = figuresOf(countSeries(labels, labels));
    expect(f).toEqual({
      pointPrecision: 1,
      pointRecall: 1,
      pointF1: 1,
      eventRecall: 1,
      compositeF1: 1,
      falseAlarmRate: 0,
      pointAdjustedF1: 1,
    });
  });

  it('no anomalies: recall and the F1s are undefined (null), false alarms still counted', () => {
    const f = figuresOf(countSeries(bits('0000 0000'), bits('0100 0001')));
    expect(f.pointRecall).toBeNull();
    expect(f.eventRecall).toBeNull();
    expect(f.pointF1).toBeNull();
    expect(f.compositeF1).toBeNull();
    expect(f.pointAdjustedF1).toBeNull();
    expect(f.pointPrecision).toBe(0);
    expect(f.falseAlarmRate).toBeCloseTo(2 / 8, 12);
  });

  it('nothing flagged: precision is undefined, recall and the F1s are 0', () => {
    const f = figuresOf(countSeries(labels, bits('0000 0000 0000 0000')));
    expect(f.pointPrecision).toBeNull();
    expect(f.pointRecall).toBe(0);
    expect(f.pointF1).toBe(0);
    expect(f.eventRecall).toBe(0);
    expect(f.compositeF1).toBe(0);
    expect(f.pointAdjustedF1).toBe(0);
    expect(f.falseAlarmRate).toBe(0);
  });

  it('all anomalous: one segment, no normal rows, so the false-alarm rate is undefined', () => {
    const c = countSeries(bits('1111 11'), bits('0010 00'));
    expect(c).toMatchObject({ segments: 1, segmentsFound: 1, tp: 1, fn: 5 });
    const f = figuresOf(c);
    expect(f.falseAlarmRate).toBeNull();
    expect(f.pointPrecision).toBe(1);
    expect(f.pointRecall).toBeCloseTo(1 / 6, 12);
    expect(f.eventRecall).toBe(1);
    expect(f.pointAdjustedF1).toBe(1);
  });

  it('a segment that runs to the last row is found by a flag on that row', () => {
    const f = figuresOf(countSeries(bits('0000 0111'), bits('0000 0001')));
    expect(f.eventRecall).toBe(1);
    expect(f.pointRecall).toBeCloseTo(1 / 3, 12);
    expect(f.pointAdjustedF1).toBe(1);
  });

  it('pooled figures come from summed counts, weighing every row and segment alike', () => {
    const a = countSeries(bits('0110'), bits('0100')); // tp 1, fn 1, 1 of 1 segment
    const b = countSeries(bits('1001 0000'), bits('0000 0011')); // tp 0, fn 2, fp 2, 0 of 2
    const pooled = figuresOf(addCounts([a, b]));
    expect(pooled.pointPrecision).toBeCloseTo(1 / 3, 12);
    expect(pooled.pointRecall).toBeCloseTo(1 / 4, 12);
    expect(pooled.eventRecall).toBeCloseTo(1 / 3, 12);
    expect(pooled.falseAlarmRate).toBeCloseTo(2 / 8, 12); // 2 + 6 normal rows
  });

  it('refuses labels and predictions of different lengths', () => {
    expect(() => countSeries([0, 1], [0])).toThrow(/2 labels but 1 predictions/);
  });
});
