import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { microBatch } from '../../../src/operators/micro-batch';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('microBatch', () => {
  it('emits nothing for an empty stream and completes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(microBatch({ maxSize: 3, maxWaitMs: 5 }))).toBe('|');
    });
  });

  it('emits nothing for a stream that never emits, and never completes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-').pipe(microBatch({ maxSize: 3, maxWaitMs: 5 }))).toBe('-');
    });
  });

  it('sends a lone value after maxWaitMs, counted from that value', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('---a------|');
      // a at 3, flushed at 3 + 5 = 8
      expectObservable(source.pipe(microBatch({ maxSize: 3, maxWaitMs: 5 }))).toBe('--------x-|', {
        x: ['a'],
      });
    });
  });

  it('closes a batch when full, before the wait is over', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcdefg---|');
      expectObservable(source.pipe(microBatch({ maxSize: 3, maxWaitMs: 5 }))).toBe(
        '--x--y----(z|)',
        {
          x: ['a', 'b', 'c'],
          y: ['d', 'e', 'f'],
          z: ['g'],
        },
      );
    });
  });

  it('flushes the open batch on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|').pipe(microBatch({ maxSize: 10, maxWaitMs: 50 }))).toBe(
        '--(x|)',
        {
          x: ['a', 'b'],
        },
      );
    });
  });

  it('starts a new wait for the first value after a flush; idle time emits nothing', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-------c----|');
      expectObservable(source.pipe(microBatch({ maxSize: 10, maxWaitMs: 3 }))).toBe(
        '---x---------y-|',
        {
          x: ['a', 'b'],
          y: ['c'],
        },
      );
    });
  });

  it('passes an error on and drops the open batch', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab#', undefined, new Error('broker gone'));
      expectObservable(source.pipe(microBatch({ maxSize: 10, maxWaitMs: 5 }))).toBe(
        '--#',
        undefined,
        new Error('broker gone'),
      );
    });
  });

  it('stops its timer and the source on early unsubscribe', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-d-e-|');
      expectObservable(source.pipe(microBatch({ maxSize: 2, maxWaitMs: 100 })), '----!').toBe(
        '--x--',
        {
          x: ['a', 'b'],
        },
      );
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('passes an error thrown by an upstream callback on as an error', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab-c|').pipe(
        map((v) => {
          if (v === 'c') throw new TypeError('bad frame');
          return v;
        }),
      );
      expectObservable(source.pipe(microBatch({ maxSize: 10, maxWaitMs: 5 }))).toBe(
        '---#',
        undefined,
        new TypeError('bad frame'),
      );
    });
  });

  it('refuses a size below 1', () => {
    expect(() => microBatch({ maxSize: 0, maxWaitMs: 5 })).toThrow(RangeError);
  });
});
