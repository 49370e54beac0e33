import { escapeTag, seriesKey, toLine } from '../../../src/connectors/influx/influx-line';

describe('InfluxDB line protocol', () => {
  it('writes a score point as InfluxDB expects it: tags in order, fields sorted, time in ms', () => {
    expect(
      toLine({
        measurement: 'score',
        tags: { pipeline: 'p', source: 'pump-1', model: 'v000002' },
        fields: { threshold: 0.2, error: 0.0123, anomaly: 0, p: 0.5 },
        timestamp: new Date(1_767_225_600_123),
      }),
    ).toBe(
      'score,pipeline=p,source=pump-1,model=v000002 anomaly=0,error=0.0123,p=0.5,threshold=0.2 1767225600123',
    );
  });

  it('escapes what would break a line: commas, equals signs, spaces, quotes, newlines', () => {
    expect(escapeTag('a b,c=d')).toBe('a\\ b\\,c\\=d');
    expect(seriesKey('my score', { 'site id': 'hall 3,east' })).toBe(
      'my\\ score,site\\ id=hall\\ 3\\,east',
    );
    expect(
      toLine({
        measurement: 'anomaly',
        tags: { source: 'x' },
        fields: { top: 'say "hi" \\ bye', score: 2 },
        timestamp: 5,
      }),
    ).toBe('anomaly,source=x score=2,top="say \\"hi\\" \\\\ bye" 5');
    expect(toLine({ measurement: 'm', tags: { t: 'line\nbreak' }, fields: { v: 1 } })).toBe(
      'm,t=line\\nbreak v=1',
    );
  });

  it('leaves out empty tags (InfluxDB refuses `tag=`) and refuses a point without fields', () => {
    expect(toLine({ measurement: 'm', tags: { run: '', source: 's' }, fields: { v: 1 } })).toBe(
      'm,source=s v=1',
    );
    expect(() => toLine({ measurement: 'm', tags: { a: 'b' }, fields: {} })).toThrow(/no fields/);
  });
});
