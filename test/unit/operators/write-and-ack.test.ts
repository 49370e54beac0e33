import { Subject, toArray, lastValueFrom } from 'rxjs';
import type { Judged, BatchSink } from '../../../src/core/model-input';
import { writeAndAck } from '../../../src/operators/write-and-ack';

/** A judged batch of one input covering one record whose acks are logged under `name`. */
const batch = (name: string, acks: string[]): Judged<null>[] =>
  [{ key: name, covered: [{ record: { ack: () => acks.push(name) } }] }] as never;

/** A sink whose writes resolve or reject only when the test says so. */
function manualSink() {
  const calls: Array<{ key: string; resolve: () => void; reject: (e: unknown) => void }> = [];
  const sink: BatchSink<null> = {
    name: 'manual',
    write: (b) =>
      new Promise<void>((resolve, reject) => calls.push({ key: b[0].key, resolve, reject })),
  };
  return { sink, calls };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('writeAndAck', () => {
  it('captures the state as each batch arrives, also when it waits for room, and keeps it before acking', async () => {
    const acks: string[] = [];
    const { sink, calls } = manualSink();
    const input = new Subject<Judged<null>[]>();
    // The "state": how many batches were judged when a batch was captured.
    let judged = 0;
    const kept: string[] = [];
    const state = {
      capture: (b: readonly Judged<null>[]) => `${b[0]!.key}@${judged}`,
      acked: (c: string) => {
        kept.push(c);
        expect(acks).not.toContain(c.split('@')[0]); // kept before its records are acked
      },
    };
    const out = lastValueFrom(input.pipe(writeAndAck([sink], 1, state), toArray()));
    for (const k of ['a', 'b', 'c']) {
      judged++;
      input.next(batch(k, acks));
    }
    await tick();
    expect(calls.map((c) => c.key)).toEqual(['a']); // b and c wait for room
    for (let i = 0; i < 3; i++) {
      calls[i]!.resolve();
      await tick();
    }
    input.complete();
    await out;
    expect(kept).toEqual(['a@1', 'b@2', 'c@3']);
    expect(acks).toEqual(['a', 'b', 'c']);
  });

  it('writes later batches while earlier ones are in flight, and acks and emits in batch order', async () => {
    const acks: string[] = [];
    const { sink, calls } = manualSink();
    const input = new Subject<Judged<null>[]>();
    const out = lastValueFrom(input.pipe(writeAndAck([sink], 4), toArray()));
    for (const k of ['a', 'b', 'c']) input.next(batch(k, acks));
    await tick();
    expect(calls.map((c) => c.key)).toEqual(['a', 'b', 'c']); // all three written at once
    calls[2].resolve();
    calls[1].resolve();
    await tick();
    expect(acks).toEqual([]); // b and c are done, but a is not: nothing acked yet
    calls[0].resolve();
    input.complete();
    const emitted = await out;
    expect(acks).toEqual(['a', 'b', 'c']);
    expect(emitted.map((b) => b[0].key)).toEqual(['a', 'b', 'c']);
  });

  it('holds a batch beyond maxInFlight until one finishes', async () => {
    const { sink, calls } = manualSink();
    const input = new Subject<Judged<null>[]>();
    const out = lastValueFrom(input.pipe(writeAndAck([sink], 2), toArray()));
    for (const k of ['a', 'b', 'c']) input.next(batch(k, []));
    await tick();
    expect(calls.map((c) => c.key)).toEqual(['a', 'b']);
    calls[0].resolve();
    await tick();
    expect(calls.map((c) => c.key)).toEqual(['a', 'b', 'c']);
    calls[1].resolve();
    calls[2].resolve();
    input.complete();
    expect(await out).toHaveLength(3);
  });

  it('ends the stream on a failed write and acks neither that batch nor any later one', async () => {
    const acks: string[] = [];
    const { sink, calls } = manualSink();
    const input = new Subject<Judged<null>[]>();
    const out = lastValueFrom(input.pipe(writeAndAck([sink], 4)));
    for (const k of ['a', 'b', 'c']) input.next(batch(k, acks));
    await tick();
    calls[0].resolve();
    calls[2].resolve();
    calls[1].reject(new Error('broker gone'));
    await expect(out).rejects.toThrow('broker gone');
    await tick();
    expect(acks).toEqual(['a']);
  });
});
