import fc from 'fast-check';
import { OffsetTracker } from '../../../src/connectors/kafka/offset-tracker';

describe('OffsetTracker', () => {
  it('commits nothing until the first record is acked, then the contiguous prefix', () => {
    const t = new OffsetTracker();
    [10, 11, 12, 13].forEach((o) => t.track(o));
    t.ack(12);
    t.ack(11);
    expect(t.commitOffset()).toBeUndefined();
    expect(t.inFlight).toBe(4);
    t.ack(10);
    expect(t.commitOffset()).toBe(13);
    expect(t.inFlight).toBe(1);
    t.markCommitted(13);
    expect(t.commitOffset()).toBeUndefined();
    t.ack(13);
    expect(t.commitOffset()).toBe(14);
  });

  it('follows gaps in offsets (compacted topics, transaction markers)', () => {
    const t = new OffsetTracker();
    [3, 7, 20].forEach((o) => t.track(o));
    t.ack(3);
    t.ack(7);
    expect(t.commitOffset()).toBe(8);
    t.ack(20);
    expect(t.commitOffset()).toBe(21);
  });

  it('ignores duplicate and unknown acks', () => {
    const t = new OffsetTracker();
    [0, 1].forEach((o) => t.track(o));
    t.ack(0);
    t.ack(0);
    t.ack(-5);
    expect(t.commitOffset()).toBe(1);
    expect(t.inFlight).toBe(1);
  });

  it('never commits past a record that is not acked, whatever the ack order (property)', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.nat(10_000), { minLength: 1, maxLength: 300 })
          .map((a) => a.sort((x, y) => x - y)),
        fc.func(fc.boolean()),
        fc.integer(),
        (offsets, keep, seed) => {
          const t = new OffsetTracker();
          offsets.forEach((o) => t.track(o));
          const toAck = offsets.filter((o) => keep(o));
          // a deterministic shuffle of the acks
          const shuffled = [...toAck].sort(
            (a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101),
          );
          shuffled.forEach((o) => t.ack(o));
          const firstUnacked = offsets.find((o) => !keep(o));
          const expected =
            firstUnacked === undefined
              ? offsets[offsets.length - 1] + 1
              : offsets[offsets.indexOf(firstUnacked) - 1] + 1;
          const got = t.commitOffset();
          if (firstUnacked === offsets[0]) expect(got).toBeUndefined();
          else expect(got).toBe(expected);
          expect(t.inFlight).toBe(
            firstUnacked === undefined ? 0 : offsets.length - offsets.indexOf(firstUnacked),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
  it('counts for backpressure only the records not acked and not held for later input', () => {
    const t = new OffsetTracker();
    for (let o = 10; o < 15; o++) t.track(o);
    t.ack(11);
    t.ack(12);
    // 10 is not acked: the commit stays behind it, but 11 and 12 wait for nothing
    expect(t.inFlight).toBe(5);
    expect(t.waitingOnDownstream).toBe(3);
    t.held = 1; // 10 waits in its source's window
    expect(t.waitingOnDownstream).toBe(2);
  });
});
