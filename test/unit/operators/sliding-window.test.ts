import { TestScheduler } from 'rxjs/testing';
import { from, lastValueFrom, map, toArray } from 'rxjs';
import { batchTensor, SensorWindows, windowsOf } from '../../../src/operators/sensor-windows';
import { slidingWindow } from '../../../src/operators/sliding-window';

interface Reading {
  source: string;
  values: number[];
  n: number;
}

const reading = (source: string, n: number, values = [n]): Reading => ({ source, values, n });

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

const op = (window: number, stride: number, features = 1) =>
  slidingWindow<Reading>(
    { window, stride, features },
    (r) => r.source,
    (r) => r.values,
  );

describe('SensorWindows', () => {
  it('gives the last W readings oldest first, W x D row-major', () => {
    const w = new SensorWindows<number>({ window: 3, stride: 1, features: 2 });
    expect(w.push('a', [1, 10], 1)).toBeNull();
    expect(w.push('a', [2, 20], 2)).toBeNull();
    expect(Array.from(w.push('a', [3, 30], 3)!.data)).toEqual([1, 10, 2, 20, 3, 30]);
    expect(Array.from(w.push('a', [4, 40], 4)!.data)).toEqual([2, 20, 3, 30, 4, 40]);
    expect(Array.from(w.push('a', [5, 50], 5)!.data)).toEqual([3, 30, 4, 40, 5, 50]);
  });

  it('keeps each source apart', () => {
    const w = new SensorWindows<string>({ window: 2, stride: 1, features: 1 });
    w.push('a', [1], 'a1');
    expect(w.push('b', [100], 'b1')).toBeNull();
    expect(Array.from(w.push('a', [2], 'a2')!.data)).toEqual([1, 2]);
    expect(Array.from(w.push('b', [200], 'b2')!.data)).toEqual([100, 200]);
    expect(w.keys).toBe(2);
  });

  it('hands every item to exactly one window: warm-up items with the first, then per stride', () => {
    const w = new SensorWindows<number>({ window: 3, stride: 2, features: 1 });
    const covered: number[][] = [];
    for (let i = 1; i <= 8; i++) {
      const out = w.push('k', [i], i);
      if (out) covered.push(out.covered);
    }
    expect(covered).toEqual([
      [1, 2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(w.drop('k')).toEqual([8]);
    expect(w.keys).toBe(0);
  });

  it('with pad, gives every early reading a partial window padded with the oldest reading', () => {
    const w = new SensorWindows<number>({ window: 3, stride: 1, features: 2, pad: true });
    const first = w.push('a', [1, 10], 1)!;
    expect({ data: Array.from(first.data), partial: first.partial }).toEqual({
      data: [1, 10, 1, 10, 1, 10],
      partial: true,
    });
    const second = w.push('a', [2, 20], 2)!;
    expect({ data: Array.from(second.data), partial: second.partial }).toEqual({
      data: [1, 10, 1, 10, 2, 20],
      partial: true,
    });
    const full = w.push('a', [3, 30], 3)!;
    expect({ data: Array.from(full.data), partial: full.partial, covered: full.covered }).toEqual({
      data: [1, 10, 2, 20, 3, 30],
      partial: false,
      covered: [3],
    });
  });

  it('windowsOf cuts each series on its own, full windows only', () => {
    const { raw, count } = windowsOf(
      [
        [[1], [2], [3]],
        [[10], [20]],
      ],
      { window: 2, stride: 1, features: 1 },
    );
    expect(count).toBe(3);
    expect(Array.from(raw)).toEqual([1, 2, 2, 3, 10, 20]);
  });

  it('writes the windows of a batch back to back: batchTensor is them as one array, not a copy', () => {
    const w = new SensorWindows<number>({ window: 2, stride: 1, features: 2 });
    w.startBatch(3);
    w.push('a', [1, 10], 1);
    w.push('b', [5, 50], 1);
    const batch = [w.push('a', [2, 20], 2)!, w.push('b', [6, 60], 2)!, w.push('a', [3, 30], 3)!];
    const x = batchTensor(batch, 4)!;
    expect(Array.from(x)).toEqual([1, 10, 2, 20, 5, 50, 6, 60, 2, 20, 3, 30]);
    expect(x.buffer).toBe(batch[0]!.data.buffer);
    // The next batch starts a block of its own when this one has no room for it.
    w.startBatch(300);
    const next = [w.push('a', [4, 40], 4)!, w.push('b', [7, 70], 3)!];
    expect(next[0]!.data.buffer).not.toBe(batch[0]!.data.buffer);
    expect(Array.from(batchTensor(next, 4)!)).toEqual([3, 30, 4, 40, 6, 60, 7, 70]);
    // Inputs that do not lie back to back (another order, or images) are copied instead.
    expect(batchTensor([batch[1]!, batch[0]!], 4)).toBeNull();
    expect(batchTensor([{ data: new Uint8Array(4) }], 4)).toBeNull();
  });

  it('refuses a reading of the wrong length (validation should have sent it to the DLQ)', () => {
    const w = new SensorWindows<number>({ window: 3, stride: 1, features: 2 });
    expect(() => w.push('a', [1], 1)).toThrow(RangeError);
  });
});

describe('slidingWindow', () => {
  it('emits nothing for an empty stream', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Reading>('|').pipe(op(2, 1))).toBe('|');
    });
  });

  it('emits nothing for a stream that never emits', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Reading>('-').pipe(op(2, 1))).toBe('-');
    });
  });

  it('emits nothing for one value (a window needs W readings)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: reading('s', 1) }).pipe(op(2, 1))).toBe('-|');
    });
  });

  it('emits a window per reading once W are there (stride 1)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: reading('s', 1), b: reading('s', 2), c: reading('s', 3) };
      const out = cold('abc|', values).pipe(
        op(2, 1),
        map((w) => Array.from(w.data).join(',')),
      );
      expectObservable(out).toBe('-xy|', { x: '1,2', y: '2,3' });
    });
  });

  it('passes errors on', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const out = cold('a#', { a: reading('s', 1) }, new Error('gone')).pipe(op(2, 1));
      expectObservable(out).toBe('-#', undefined, new Error('gone'));
    });
  });

  it('unsubscribes from the source on early unsubscribe', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: reading('s', 1), b: reading('s', 2), c: reading('s', 3) };
      const source = cold('a-b-c-|', values);
      expectObservable(
        source.pipe(
          op(2, 1),
          map((w) => w.last.n),
        ),
        '---!',
      ).toBe('--x', { x: 2 });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('turns a throwing key callback into an error', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const failing = slidingWindow<Reading>(
        { window: 2, stride: 1, features: 1 },
        (r) => {
          if (r.n === 2) throw new TypeError('no key');
          return r.source;
        },
        (r) => r.values,
      );
      const values = { a: reading('s', 1), b: reading('s', 2) };
      expectObservable(cold('ab|', values).pipe(failing)).toBe(
        '-#',
        undefined,
        new TypeError('no key'),
      );
    });
  });

  it('starts fresh state for each subscription', async () => {
    const source = from([reading('s', 1), reading('s', 2), reading('s', 3)]);
    const windowed = source.pipe(op(3, 1), toArray());
    expect(await lastValueFrom(windowed)).toHaveLength(1);
    expect(await lastValueFrom(windowed)).toHaveLength(1);
  });
});
