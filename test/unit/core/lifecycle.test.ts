import { CloseStack, type CloseFailure } from '../../../src/core/lifecycle';
import { AeError, ErrorCodes } from '../../../src/core/errors';

describe('CloseStack', () => {
  it('closes in the reverse order of registration, each once', async () => {
    const closed: string[] = [];
    const stack = new CloseStack();
    for (const name of ['server', 'model', 'producer', 'consumer']) {
      stack.defer(name, () => {
        closed.push(name);
      });
    }
    const [first, second] = await Promise.all([stack.close(), stack.close()]);
    expect(closed).toEqual(['consumer', 'producer', 'model', 'server']);
    expect(first).toEqual([]);
    expect(second).toBe(first);
    expect(stack.size).toBe(0);
  });

  it('waits for each close before the next (an async close finishes first)', async () => {
    const log: string[] = [];
    const stack = new CloseStack();
    stack.defer('model', () => log.push('model'));
    stack.defer('producer', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      log.push('producer flushed');
    });
    await stack.close();
    expect(log).toEqual(['producer flushed', 'model']);
  });

  it('gives up on a close that misses its deadline and closes the rest', async () => {
    const closed: string[] = [];
    const reported: CloseFailure[] = [];
    const stack = new CloseStack({ onError: (f) => reported.push(f) });
    stack.defer('model', () => closed.push('model'));
    stack.defer('hung producer', () => new Promise(() => undefined), 20);
    stack.defer('consumer', () => closed.push('consumer'));
    const failures = await stack.close();
    expect(closed).toEqual(['consumer', 'model']);
    expect(failures.map((f) => f.name)).toEqual(['hung producer']);
    expect(failures[0]?.error).toBeInstanceOf(AeError);
    expect((failures[0]?.error as AeError).code).toBe(ErrorCodes.SHUTDOWN_TIMEOUT);
    expect((failures[0]?.error as AeError).message).toContain('hung producer');
    expect(reported).toEqual(failures);
  });

  it('reports a close that throws or rejects and still closes the others', async () => {
    const closed: string[] = [];
    const reported: string[] = [];
    const stack = new CloseStack({ onError: (f) => reported.push(f.name) });
    stack.defer('server', () => closed.push('server'));
    stack.defer('admin', () => {
      throw new Error('not connected');
    });
    stack.defer('producer', () => Promise.reject(new Error('broker gone')));
    stack.defer('consumer', () => closed.push('consumer'));
    const failures = await stack.close();
    expect(closed).toEqual(['consumer', 'server']);
    expect(reported).toEqual(['producer', 'admin']);
    expect(failures.map((f) => (f.error as Error).message)).toEqual([
      'broker gone',
      'not connected',
    ]);
  });

  it('closes what a failed start opened and rethrows the start error', async () => {
    const closed: string[] = [];
    const stack = new CloseStack();
    const failure = new Error('schema registry unreachable');
    await expect(
      stack.startOrClose(async () => {
        stack.defer('server', () => closed.push('server'));
        stack.defer('model', () => closed.push('model'));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(closed).toEqual(['model', 'server']);
  });

  it('leaves everything open after a start that succeeds, for the normal stop', async () => {
    const closed: string[] = [];
    const stack = new CloseStack();
    const value = await stack.startOrClose(async () => {
      stack.defer('server', () => closed.push('server'));
      return 42;
    });
    expect(value).toBe(42);
    expect(closed).toEqual([]);
    await stack.close();
    expect(closed).toEqual(['server']);
  });

  it('closes at once what is registered after the stack closed', async () => {
    const closed: string[] = [];
    const stack = new CloseStack();
    await stack.close();
    stack.defer('late model', () => closed.push('late model'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toEqual(['late model']);
  });
});
