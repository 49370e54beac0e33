import { AeError, ErrorCodes } from '../../../src/core/errors';
import { classifyInfluxError } from '../../../src/connectors/influx/influx-sink';
import { backoffDelay, retry } from '../../../src/connectors/retry';

const fast = { initialMs: 1, maxMs: 4, factor: 2, jitter: 0 };

describe('backoffDelay', () => {
  it('grows by the factor up to the cap', () => {
    const p = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, p))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('spreads delays by the jitter fraction, never past the cap', () => {
    const p = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5 };
    expect(backoffDelay(0, p, () => 0)).toBe(50);
    expect(backoffDelay(0, p, () => 1)).toBe(150);
    expect(backoffDelay(9, p, () => 1)).toBe(1_000);
  });
});

describe('retry', () => {
  it('retries retriable failures until success and reports each retry', async () => {
    let calls = 0;
    const seen: number[] = [];
    const value = await retry(
      async () => {
        if (++calls < 4) throw new AeError(ErrorCodes.KAFKA, 'broker away', { retriable: true });
        return 'ok';
      },
      { policy: fast, onRetry: (_e, attempt) => seen.push(attempt) },
    );
    expect(value).toBe('ok');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('does not retry non-retriable errors or programmer errors', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new AeError(ErrorCodes.INFLUX_WRITE, 'bad request');
        },
        { policy: fast },
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.INFLUX_WRITE });
    await expect(
      retry(
        async () => {
          calls++;
          throw new TypeError('x is undefined');
        },
        { policy: fast, shouldRetry: () => true },
      ),
    ).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(2);
  });

  it('gives up after the retry limit with the last error', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          throw new AeError(ErrorCodes.KAFKA, `try ${++calls}`, { retriable: true });
        },
        { policy: fast, retries: 2 },
      ),
    ).rejects.toThrow('try 3');
  });
});

describe('classifyInfluxError', () => {
  it('retries network faults, timeouts, 5xx and 429; not other 4xx', () => {
    const net = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8086'), {
      code: 'ECONNREFUSED',
    });
    class ServiceNotAvailableError extends Error {}
    const status = (code: number) =>
      Object.assign(new Error(`A ${code} error occurred`), {
        res: { statusCode: code },
        req: { huge: 'object' },
      });
    expect(classifyInfluxError(net).retriable).toBe(true);
    expect(classifyInfluxError(new ServiceNotAvailableError('Request timed out')).retriable).toBe(
      true,
    );
    expect(classifyInfluxError(status(429)).retriable).toBe(true);
    expect(classifyInfluxError(status(408)).retriable).toBe(true);
    expect(classifyInfluxError(status(400)).retriable).toBe(false);
    expect(classifyInfluxError(status(404)).retriable).toBe(false);
    const e = classifyInfluxError(status(400));
    expect(e.code).toBe(ErrorCodes.INFLUX_WRITE);
    expect(e.message).toBe('InfluxDB write failed: A 400 error occurred');
    expect(e.cause).toBeUndefined(); // the request object is not carried into logs
  });
});
