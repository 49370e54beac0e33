import type { ActiveModel } from '../../../src/inference/active-model';
import { ModelSlot } from '../../../src/inference/model-slot';

/** A model that records when it is disposed. */
function fakeModel(version: string, disposed: string[]): ActiveModel {
  return {
    version,
    dispose: async () => {
      disposed.push(version);
    },
  } as unknown as ActiveModel;
}

describe('ModelSlot', () => {
  afterEach(() => jest.useRealTimers());

  it('swaps in the next model and keeps the old one until its grace period is over', async () => {
    jest.useFakeTimers();
    const disposed: string[] = [];
    const slot = new ModelSlot(fakeModel('v1', disposed));
    const previous = slot.swap(fakeModel('v2', disposed), 60_000);
    expect(previous.version).toBe('v1');
    expect(slot.current.version).toBe('v2');
    await jest.advanceTimersByTimeAsync(59_000);
    expect(disposed).toEqual([]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(disposed).toEqual(['v1']);
  });

  it('disposes replaced models without a grace period only when asked, each once', async () => {
    const disposed: string[] = [];
    const slot = new ModelSlot(fakeModel('v1', disposed));
    slot.swap(fakeModel('v2', disposed));
    slot.swap(fakeModel('v3', disposed));
    expect(disposed).toEqual([]);
    await slot.disposeRetired();
    await slot.disposeRetired();
    expect(disposed).toEqual(['v1', 'v2']);
    expect(slot.current.version).toBe('v3');
  });

  it('on close disposes the replaced models still waiting and the current one', async () => {
    jest.useFakeTimers();
    const disposed: string[] = [];
    const slot = new ModelSlot(fakeModel('v1', disposed));
    slot.swap(fakeModel('v2', disposed), 60_000);
    await slot.close();
    expect(disposed).toEqual(['v1', 'v2']);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(disposed).toEqual(['v1', 'v2']);
  });
});
