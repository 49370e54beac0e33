import { from, lastValueFrom, toArray, concatMap } from 'rxjs';
import { createAvroCodec, SCHEMA_HEADER } from '../../../src/codecs/avro-codec';
import { bytesToFloats, bytesToIntegers } from '../../../src/codecs/packed-numbers';
import { fingerprintOf, loadSchema } from '../../../src/codecs/schema-loader';
import { parsePipeline } from '../../../src/config/load-pipeline';
import { AeError, ErrorCodes } from '../../../src/core/errors';
import type { KafkaRecord } from '../../../src/core/kafka-record';
import type { Judged } from '../../../src/core/model-input';
import type { AnomalyEvent, Frame, SensorFrame } from '../../../src/core/records';
import type { ActiveModel } from '../../../src/inference/active-model';
import { detectFlow } from '../../../src/operators/detect-flow';
import { SensorWindows, windowTail } from '../../../src/operators/sensor-windows';
import {
  SourceStates,
  sourceStateCodec,
  type SourceStateRecord,
} from '../../../src/operators/source-states';
import { AnomalyEventSink } from '../../../src/outputs/anomaly-event-sink';
import { ModelAwareJudge } from '../../../src/thresholds/model-aware-judge';
import { createThresholdRegistry } from '../../../src/thresholds/threshold-registry';
import { decodeThresholdState } from '../../../src/thresholds/threshold-state-codec';
import { seededRandom } from '../../../src/core/seeded-random';

const pipelineText = `
name: statetest
input:
  kafka: { brokers: "127.0.0.1:9092", topic: state.frames, group: g }
  schema: schemas/sensor-frame.avsc
frame: { kind: sensor, features: 2, window: 6, stride: 1 }
model: { kind: dense-ae, hidden: [3], store: ./models/statetest }
batch: { maxSize: 16, maxWaitMs: 1 }
threshold: { kind: spot, risk: 0.01, calibration: 100, perKey: true }
output: {}
`;

/** A model stand-in whose score depends on the whole window: its mean square. */
const meanSquare = (version: string): Pick<ActiveModel, 'version' | 'scorer'> => ({
  version,
  scorer: {
    async score(raw, n) {
      const size = raw.length / n;
      const scores = new Float32Array(n);
      const top = [];
      for (let f = 0; f < n; f++) {
        let sum = 0;
        for (let i = 0; i < size; i++) sum += raw[f * size + i]! ** 2;
        scores[f] = sum / size;
        top.push([{ index: 0, error: scores[f]! }]);
      }
      return { scores, top };
    },
    async scoreWithOutputs() {
      throw new Error('not used');
    },
  },
});

const config = parsePipeline(pipelineText, 'statetest.yaml', { env: {}, baseDir: process.cwd() });
const frameCodec = createAvroCodec<SensorFrame>('SensorFrame');
const stateCodec = createAvroCodec<SourceStateRecord>('SourceState');
const SOURCES = ['a', 'b', 'c', 'd', 'e'];

/** Records of 5 sources on 2 partitions, offsets per partition; `acked` collects acked offsets. */
function makeRecords(perSource: number, acked: Set<string>, start = 1e12): KafkaRecord[] {
  const random = seededRandom(7);
  const next = [0, 0];
  const out: KafkaRecord[] = [];
  for (let t = 0; t < perSource; t++) {
    for (const [i, source] of SOURCES.entries()) {
      const partition = i % 2;
      const offset = String(next[partition]!++);
      const spike = t % 97 === 50 && i === 1 ? 6 : 0;
      const values = [random() + spike, Math.sin(t / 7 + i) + random() * 0.1];
      const value = frameCodec.encode({
        source,
        time: start + t * 1000,
        values,
        seq: null,
        attributes: {},
      });
      out.push({
        topic: 'state.frames',
        partition,
        offset,
        key: Buffer.from(source),
        timestamp: start + t * 1000,
        headers: frameCodec.headers,
        value,
        ack: () => void acked.add(`${partition}:${offset}`),
      });
    }
  }
  return out;
}

/** The same pipeline with the likelihood and range rules, and k-of-n events. */
const withRules = parsePipeline(
  `${pipelineText}rules: { likelihood: { history: 60, short: 2, suppress: 4 }, range: { tolerance: 0.05 } }\n`.replace(
    'output: {}',
    'output: { events: { rule: k-of-n, k: 2, n: 3 } }',
  ),
  'statetest.yaml',
  { env: {}, baseDir: process.cwd() },
);

function detector(version = 'v1', cfg = config) {
  const registry = createThresholdRegistry(cfg.threshold);
  const judge = new ModelAwareJudge(registry, 'mse');
  judge.addModel('v1', 0.01);
  judge.addModel('v2', 0.04);
  const events: AnomalyEvent[] = [];
  const sink = new AnomalyEventSink<Frame>(
    { sendMany: async () => undefined },
    createAvroCodec<AnomalyEvent>('AnomalyEvent'),
    cfg.name,
    (e) => events.push(e),
    cfg.output.events,
  );
  const states = new SourceStates<Frame>(cfg.name, cfg.frame as never, () => judge, {
    rules: cfg.rules,
    events: sink.rules,
  });
  const run = (records: KafkaRecord[]) =>
    lastValueFrom(
      from(records).pipe(
        detectFlow({
          config: cfg,
          codec: frameCodec as never,
          dlq: { send: async () => undefined },
          model: () => meanSquare(version),
          judge: () => judge,
          sinks: [sink],
          state: states,
        }),
        concatMap((batch) => batch),
        toArray(),
      ),
    );
  return { registry, judge, states, run, events };
}

const id = (j: Judged<Frame>) => `${j.last.record.partition}:${j.last.record.offset}`;

async function flushed(states: SourceStates<Frame>): Promise<SourceStateRecord[]> {
  const out: SourceStateRecord[] = [];
  await states.flush(async (records) => {
    // Through the Avro schema, as the changelog carries them.
    for (const r of records) out.push(stateCodec.decode(stateCodec.encode(r)));
  });
  return out;
}

describe('SensorWindows.restore', () => {
  it.each([
    [1, true],
    [3, true],
    [2, false],
  ])('continues the same windows after a restore (stride %i, pad %s)', (stride, pad) => {
    const shape = { window: 5, features: 2, stride, pad };
    const rows = Array.from({ length: 40 }, (_, i) => [i, -i * 0.5]);
    const whole = new SensorWindows<number>(shape);
    const expected = rows.map((r, i) => whole.push('s', r, i));
    for (const cut of [1, 3, 4, 5, 17]) {
      // The state as a window closed at `cut` readings leaves it.
      const first = new SensorWindows<number>(shape);
      let last: Float32Array | null = null;
      for (let i = 0; i < cut; i++) last = first.push('s', rows[i]!, i)?.data.slice() ?? last;
      if (last === null) continue;
      const again = new SensorWindows<number>(shape);
      again.restore('s', { readings: cut, values: windowTail(last, cut, shape) });
      for (let i = cut; i < rows.length; i++) {
        const w = again.push('s', rows[i]!, i);
        const e = expected[i];
        expect(w === null).toBe(e === null);
        if (w && e) {
          expect(Array.from(w.data)).toEqual(Array.from(e.data));
          expect(w.partial).toBe(e.partial);
        }
      }
    }
  });
});

describe('SourceStates', () => {
  it('a detector restored from the changelog continues exactly, skipping what the state covers', async () => {
    const ackedRef = new Set<string>();
    const records = makeRecords(300, ackedRef);
    const reference = new Map((await detector().run(records)).map((j) => [id(j), j]));

    const acked = new Set<string>();
    const again = makeRecords(300, acked);
    const first = detector();
    const cut = 700;
    await first.run(again.slice(0, cut));
    const saved = await flushed(first.states);
    expect(saved.map((r) => r.source).sort()).toEqual(SOURCES);
    expect(await flushed(first.states)).toEqual([]); // nothing dirty after a write

    // The restart redelivers from an older committed offset: those frames are redone.
    const second = detector();
    const stale: string[] = [];
    second.states.onStale = (s) => stale.push(s.source);
    for (const r of saved) second.states.restore(r, 'v1');
    const redo = 400;
    const judged = await second.run(again.slice(redo));
    expect(judged.length).toBe(records.length - cut);
    for (const j of judged) {
      const ref = reference.get(id(j))!;
      expect(j.partial).toBeFalsy();
      expect(j.score).toBeCloseTo(ref.score, 9);
      expect(j.verdict).toBe(ref.verdict);
      if (ref.threshold === null) expect(j.threshold).toBeNull();
      else expect(j.threshold!).toBeCloseTo(ref.threshold, 9);
    }
    expect(judged.some((j) => j.verdict === 'anomaly')).toBe(true);
    // The skipped redos are acked too, so the commit moves past them.
    for (const r of again.slice(redo, cut))
      expect(acked.has(`${r.partition}:${r.offset}`)).toBe(true);
    expect(stale).toEqual([]);
  });

  it('drops a restored state the input contradicts (a recreated topic) and scores every frame', async () => {
    const first = detector();
    await first.run(makeRecords(300, new Set()));
    const saved = await flushed(first.states);
    // The topic was recreated: the same offsets hold later frames of the same sources.
    const acked = new Set<string>();
    const recreated = makeRecords(100, acked, 2e12);
    const fresh = new Map(
      (await detector().run(makeRecords(100, new Set(), 2e12))).map((j) => [id(j), j]),
    );
    const second = detector();
    const stale: Array<{ source: string; offset: number }> = [];
    second.states.onStale = (s) => stale.push({ source: s.source, offset: s.offset });
    for (const r of saved) second.states.restore(r, 'v1');
    const judged = await second.run(recreated);
    // Every frame scored, as by a detector that never had a state: nothing skipped.
    expect(judged.map(id).sort()).toEqual([...fresh.keys()].sort());
    for (const j of judged) {
      const ref = fresh.get(id(j))!;
      expect(j.partial).toBe(ref.partial);
      expect(j.score).toBeCloseTo(ref.score, 9);
    }
    expect(stale.map((s) => s.source).sort()).toEqual(SOURCES);
    expect(stale.every((s) => s.offset === saved.find((r) => r.source === s.source)!.offset)).toBe(
      true,
    );
    expect(recreated.every((r) => acked.has(`${r.partition}:${r.offset}`))).toBe(true);
  });

  it('with score rules and k-of-n events, a restored detector emits the same events', async () => {
    const reference = detector('v1', withRules);
    const scores = new Map(
      (await reference.run(makeRecords(300, new Set()))).map((j) => [id(j), j]),
    );
    const records = makeRecords(300, new Set());
    const first = detector('v1', withRules);
    const cut = 900;
    await first.run(records.slice(0, cut));
    const saved = await flushed(first.states);
    expect(saved.every((r) => r.rules?.likelihood && r.rules.range && r.events)).toBe(true);
    const second = detector('v1', withRules);
    for (const r of saved) second.states.restore(r, 'v1');
    const judged = await second.run(records.slice(600));
    for (const j of judged) {
      const ref = scores.get(id(j))!;
      expect(j.score).toBe(ref.score);
      expect(j.verdict).toBe(ref.verdict);
    }
    // Events: those of the uninterrupted detector, each once (k-of-n decided as if never stopped).
    const ids = (events: AnomalyEvent[]) => events.map((e) => e.id).sort();
    expect(ids([...first.events, ...second.events])).toEqual(ids(reference.events));
    expect(reference.events.length).toBeGreaterThan(3);
    // Without the rules' state the same restart scores and decides differently.
    const forgetful = detector('v1', withRules);
    for (const r of saved) forgetful.states.restore({ ...r, rules: null, events: null }, 'v1');
    const other = await forgetful.run(records.slice(600));
    expect(other.some((j) => j.score !== scores.get(id(j))!.score)).toBe(true);
  });

  it('writes one state per source per cut, and bounds commits by the frames judged after the last cut written', async () => {
    const d = detector();
    const judged = (key: string, offset: number) =>
      ({
        key,
        data: new Float32Array(12),
        last: { record: { partition: 0, offset: String(offset) }, value: { time: offset } },
        covered: [{ record: { partition: 0, offset: String(offset) }, value: { time: offset } }],
        modelVersion: 'v1',
      }) as unknown as Judged<Frame>;
    const accept = (key: string, offset: number) =>
      ({
        ok: true,
        record: { partition: 0, offset: String(offset), ack: () => undefined },
        value: { source: key },
      }) as never;
    const pass = (key: string, offset: number) =>
      lastValueFrom(from([accept(key, offset)]).pipe(d.states.skipRedone(), toArray()));
    for (const [k, o] of [
      ['a', 0],
      ['b', 1],
      ['a', 2],
      ['b', 3],
    ] as const)
      await pass(k, o);
    const cut = d.states.capture([judged('a', 0), judged('b', 1)]); // the first batch: a cut
    expect(cut?.snapshots.map((s) => s.key)).toEqual(['a', 'b']);
    const later = d.states.capture([judged('a', 2)]); // no cut due until the next write
    expect(later).toBeNull();
    const written: SourceStateRecord[][] = [];
    const write = async (records: SourceStateRecord[]) => void written.push(records);
    // The cut's batch is not acknowledged: nothing to write, nothing judged may be committed.
    expect(await d.states.flush(write)).toEqual({ written: 0, limits: new Map([[0, 0]]) });
    d.states.acked(cut);
    d.states.acked(later);
    // Batch 3 is still being written: frames from offset 3 on stay uncommitted.
    const third = d.states.capture([judged('b', 3)]);
    expect(third).not.toBeNull();
    expect(await d.states.flush(write)).toEqual({ written: 2, limits: new Map([[0, 2]]) });
    expect(written[0]!.map((r) => [r.source, r.offset])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
    d.states.acked(third);
    expect(await d.states.flush(write)).toEqual({ written: 2, limits: new Map() });
    expect(written[1]!.map((r) => [r.source, r.offset]).sort()).toEqual([
      ['a', 2],
      ['b', 3],
    ]);
    // Nothing in flight (idle, or drained for a stop): the write cuts by itself, so every
    // judged frame is covered and committable.
    for (const [k, o] of [
      ['a', 4],
      ['b', 5],
    ] as const)
      await pass(k, o);
    const fourth = d.states.capture([judged('a', 4)]);
    const fifth = d.states.capture([judged('b', 5)]);
    expect(fifth).toBeNull();
    d.states.acked(fourth);
    d.states.acked(fifth);
    expect(await d.states.flush(write)).toEqual({ written: 2, limits: new Map() });
    expect(written[2]!.map((r) => [r.source, r.offset]).sort()).toEqual([
      ['a', 4],
      ['b', 5],
    ]);
  });

  it.each([
    ['v3', true],
    ['v4', false],
    ['v5', false],
    ['v6', false],
  ])(
    'continues exactly from records of schema %s (arrays of values and times; JSON threshold: %s)',
    async (version, jsonThreshold) => {
      const records = makeRecords(300, new Set());
      const reference = new Map((await detector().run(records)).map((j) => [id(j), j]));
      const first = detector();
      await first.run(records.slice(0, 700));
      const writer = loadSchema(`history/source-state-${version}.avsc`);
      const saved = (await flushed(first.states)).map((r) => {
        const threshold = r.threshold as Buffer;
        // As a detector of that schema wrote it, read back through today's codec.
        const old = writer.toBuffer({
          ...r,
          values: Array.from(bytesToFloats(r.values as Buffer)),
          times: bytesToIntegers(r.times as Buffer),
          threshold: jsonThreshold ? JSON.stringify(decodeThresholdState(threshold)) : threshold,
        });
        return sourceStateCodec().decode(old, { [SCHEMA_HEADER]: fingerprintOf(writer) });
      });
      expect(saved.every((r) => Array.isArray(r.values) && Array.isArray(r.times))).toBe(true);
      const second = detector();
      for (const r of saved) second.states.restore(r, 'v1');
      const judged = await second.run(records.slice(700));
      expect(judged.length).toBe(records.length - 700);
      for (const j of judged) {
        const ref = reference.get(id(j))!;
        expect(j.partial).toBeFalsy();
        expect(j.score).toBeCloseTo(ref.score, 9);
        expect(j.verdict).toBe(ref.verdict);
        expect(j.threshold).toBe(ref.threshold);
      }
    },
  );

  it('carries a threshold learned on another model version over to the current one', async () => {
    const first = detector('v1');
    await first.run(makeRecords(200, new Set()));
    const before = first.registry.current('a')!;
    const saved = await flushed(first.states);
    const second = detector('v2');
    for (const r of saved) second.states.restore(r, 'v2');
    expect(second.registry.current('a')).toBeCloseTo(before * 4, 9);
  });

  it('refuses a record that does not fit, with AE_ERR_STATE_DECODE, and changes nothing', async () => {
    const first = detector();
    await first.run(makeRecords(100, new Set()));
    const [good] = await flushed(first.states);
    const second = detector();
    const bad: SourceStateRecord[] = [
      { ...good!, threshold: Buffer.from('{"kind":"spot","pot":') },
      { ...good!, threshold: Buffer.from('{"kind":"nope"}') },
      { ...good!, threshold: (good!.threshold as Buffer).subarray(0, 20) },
      { ...good!, threshold: Buffer.from([9, 0]) },
      { ...good!, values: (good!.values as Buffer).subarray(1) },
      { ...good!, times: Buffer.from([0x80]) },
      { ...good!, window: 8 },
      { ...good!, values: good!.values.length > 0 ? [1] : [1, 2] },
      { ...good!, pipeline: 'other' },
    ];
    for (const r of bad) {
      let error: unknown;
      try {
        second.states.restore(r, 'v1');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AeError);
      expect((error as AeError).code).toBe(ErrorCodes.STATE_DECODE);
    }
    expect(second.states.size).toBe(0);
    expect(second.registry.current(good!.source)).toBeNull();
  });

  it('stops writing the sources of lost partitions, scores their frames in flight on, then drops them', async () => {
    const d = detector();
    const records = makeRecords(240, new Set());
    await d.run(records.slice(0, 1000));
    const threshold = d.registry.current('a');
    expect(threshold).not.toBeNull();
    d.states.retain([1]);
    expect((await flushed(d.states)).map((r) => r.source).sort()).toEqual(['b', 'd']);
    // Frames of partition 0 still in the pipeline: judged with the state they had, not written.
    const late = await d.run(records.slice(1000).filter((r) => r.partition === 0));
    expect(late.every((j) => !j.partial && j.threshold !== null)).toBe(true);
    expect(await flushed(d.states)).toEqual([]);
    d.states.dropDeparted({ partitions: [0] });
    expect(d.registry.current('a')).toBeNull();
    expect(d.registry.current('b')).not.toBeNull();
  });
});
