import { createAvroCodec } from '../../../src/codecs/avro-codec';
import type { Judged } from '../../../src/core/model-input';
import type { AnomalyEvent } from '../../../src/core/records';
import type { OutboundMessage } from '../../../src/connectors/kafka/kafka-sink';
import { AnomalyEventSink, EVENT_KIND_HEADER } from '../../../src/outputs/anomaly-event-sink';
import { EventRules, eventRulesSchema } from '../../../src/outputs/event-rules';

type Frame = { time: number };

/** One judged window of `key` at offset `i`: 'a' anomaly, 'n' normal, 'p' partial, 'w' warming up. */
function window(key: string, i: number, v: string): Judged<Frame> {
  return {
    key,
    data: new Float32Array(2),
    last: {
      ok: true,
      record: { topic: 'in', partition: 0, offset: String(i), timestamp: i } as never,
      value: { time: 1_000 * i },
    },
    covered: [],
    score: v === 'a' ? 2 : 0.1,
    contributions: [],
    modelVersion: 'v000001',
    threshold: v === 'w' ? null : 1,
    verdict: v === 'a' ? 'anomaly' : v === 'w' ? 'warming-up' : 'normal',
    probability: 0.5,
    ...(v === 'p' ? { partial: true } : {}),
  };
}

/** The decisions of a rule over one source's verdict string. */
function decisions(config: object, verdicts: string, key = 's'): string {
  const rules = new EventRules(eventRulesSchema.parse(config));
  return [...verdicts]
    .map((v, i) => ({ none: '.', event: 'E', end: 'X' })[rules.decide(window(key, i, v))])
    .join('');
}

describe('event rules', () => {
  it('every: an event per anomalous window, as without rules', () => {
    expect(decisions({}, 'nnannaaan')).toBe('..E..EEE.');
  });

  it('k-of-n: an isolated anomaly raises nothing; a sustained one raises from its k-th window on', () => {
    expect(decisions({ rule: 'k-of-n', k: 2, n: 3 }, 'nannannaanaaa')).toBe('........E.EEE');
    expect(decisions({ rule: 'k-of-n', k: 3, n: 5 }, 'aanaannnnaaaaa')).toBe('...EE......EEE');
  });

  it('incident: one event when it starts, one end event when n windows in a row are normal', () => {
    expect(decisions({ rule: 'incident', k: 1, n: 3 }, 'nnaaanaannnnaa')).toBe('..E.......X.E.');
    expect(decisions({ rule: 'incident', k: 2, n: 3 }, 'annanaaannna')).toBe('.....E....X.');
  });

  it('counts full windows only, and each source apart', () => {
    expect(decisions({ rule: 'k-of-n', k: 2, n: 2 }, 'pawa')).toBe('...E');
    const rules = new EventRules(eventRulesSchema.parse({ rule: 'k-of-n', k: 2, n: 2 }));
    expect(rules.decide(window('a', 0, 'a'))).toBe('none');
    expect(rules.decide(window('b', 1, 'a'))).toBe('none');
    expect(rules.decide(window('a', 2, 'a'))).toBe('event');
  });

  it('refuses k above n', () => {
    expect(eventRulesSchema.safeParse({ rule: 'k-of-n', k: 4, n: 3 }).success).toBe(false);
  });

  it('the sink writes the start and end events of an incident, the end one marked by a header', async () => {
    const codec = createAvroCodec<AnomalyEvent>('AnomalyEvent');
    const sent: OutboundMessage[] = [];
    const sink = new AnomalyEventSink<Frame>(
      { sendMany: async (m) => void sent.push(...m) },
      codec,
      'p',
      undefined,
      eventRulesSchema.parse({ rule: 'incident', k: 1, n: 2 }),
    );
    await sink.write([...'naaann'].map((v, i) => window('s', i, v)));
    const events = sent.map((m) => ({
      offset: codec.decode(m.value as Buffer, m.headers).input.offset,
      kind: m.headers?.[EVENT_KIND_HEADER],
    }));
    expect(events).toEqual([
      { offset: 1, kind: undefined },
      { offset: 5, kind: 'incident-end' },
    ]);
  });

  it.each(['k-of-n', 'incident'])(
    '%s: a source restored from its snapshot decides as if never stopped',
    (rule) => {
      const config = eventRulesSchema.parse({ rule, k: 2, n: 4 });
      const verdicts = 'nnanaannnnnaaaannnnann';
      const whole = decisions({ rule, k: 2, n: 4 }, verdicts);
      for (let cut = 0; cut <= verdicts.length; cut++) {
        const first = new EventRules(config);
        const mark = (r: EventRules, from: number, to: number) =>
          [...verdicts.slice(from, to)]
            .map(
              (v, i) => ({ none: '.', event: 'E', end: 'X' })[r.decide(window('s', from + i, v))],
            )
            .join('');
        const before = mark(first, 0, cut);
        const again = new EventRules(config);
        again.restoreKey('s', first.snapshotKey('s'));
        expect(before + mark(again, cut, verdicts.length)).toBe(whole);
      }
    },
  );

  it('the sink decides a batch when it is prepared, so later batches do not change it', async () => {
    const sent: OutboundMessage[] = [];
    const sink = new AnomalyEventSink<Frame>(
      { sendMany: async (m) => void sent.push(...m) },
      createAvroCodec<AnomalyEvent>('AnomalyEvent'),
      'p',
      undefined,
      eventRulesSchema.parse({ rule: 'k-of-n', k: 2, n: 2 }),
    );
    const first = [window('s', 0, 'a'), window('s', 1, 'a')];
    const second = [window('s', 2, 'n'), window('s', 3, 'a')];
    sink.prepare(first);
    expect(sink.rules.snapshotKey('s')).toEqual({ last: [true, true], open: false });
    sink.prepare(second);
    // Written after the second batch was judged: still the first batch's decisions.
    await sink.write(first);
    await sink.write(second);
    expect(sent).toHaveLength(1);
    expect(sink.rules.snapshotKey('s')).toEqual({ last: [false, true], open: false });
  });
});
