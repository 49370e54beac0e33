import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLabelledSeries, seriesLayoutSchema, seriesFiles } from '../../../src/eval/series-data';

describe('labelled series layouts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'series-layout-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads one CSV with a header, a time column, a label column and its first rows as training', () => {
    writeFileSync(
      join(dir, 'pump.csv'),
      [
        'time;flow;is_anomaly;temp',
        '2024-01-01 00:00:00;1.5;0;20',
        '2024-01-01 00:01:00;1.6;0;21',
        '2024-01-01 00:02:00;9.0;1;22',
        '2024-01-01 00:03:00;1.4;0;20',
        '',
      ].join('\n'),
    );
    const layout = seriesLayoutSchema.parse({
      test: { pattern: '*.csv' },
      train: { rows: 2 },
      labels: { column: 'is_anomaly' },
      timestamp: { column: 1 },
      separator: ';',
      header: true,
    });
    expect(seriesFiles(dir, layout)).toEqual(['pump.csv']);
    const s = readLabelledSeries(dir, layout, 'pump.csv');
    expect(s.channels).toEqual(['flow', 'temp']);
    expect(s.train.rows).toBe(2);
    expect(Array.from(s.train.values)).toEqual([1.5, 20, 1.6, 21]);
    expect(Array.from(s.test.values)).toEqual([9, 22, 1.4, 20]);
    expect(Array.from(s.labels)).toEqual([1, 0]);
    expect(Array.from(s.test.times)).toEqual([
      Date.UTC(2024, 0, 1, 0, 2),
      Date.UTC(2024, 0, 1, 0, 3),
    ]);
  });

  it('times rows by index when there is no time column, the test rows after the training rows', () => {
    writeFileSync(join(dir, 'a.txt'), '1,0\n3,0\n5,1\n');
    const layout = seriesLayoutSchema.parse({
      test: { pattern: 'a.txt' },
      train: { rows: 1 },
      labels: { column: 2 },
      timestamp: { intervalMs: 1000 },
    });
    const s = readLabelledSeries(dir, layout, 'a.txt');
    expect(s.channels).toEqual(['c1']);
    expect(Array.from(s.train.times)).toEqual([0]);
    expect(Array.from(s.test.times)).toEqual([1000, 2000]);
    expect(Array.from(s.labels)).toEqual([0, 1]);
  });

  it('names a missing column with the columns there are', () => {
    writeFileSync(join(dir, 'b.csv'), 'x,y\n1,0\n2,1\n');
    const layout = seriesLayoutSchema.parse({
      test: { pattern: 'b.csv' },
      train: { rows: 1 },
      labels: { column: 'label' },
      header: true,
    });
    expect(() => readLabelledSeries(dir, layout, 'b.csv')).toThrow(
      /b\.csv:1: no label column 'label' \(columns: x, y\)/,
    );
  });
});
