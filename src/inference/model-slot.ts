import type { ActiveModel } from './active-model';

/**
 * The model a pipeline scores with, and the models it replaced until they are disposed.
 * A batch that started on the old model may still be in inference when a new one is
 * swapped in, so a replaced model is freed later: after a grace period, on
 * `disposeRetired()` (when the caller knows nothing uses it any more) or on `close()`.
 *
 * @example const slot = new ModelSlot(await openModel(frame, model)); slot.swap(next, 60_000); await slot.close();
 */
export class ModelSlot {
  private readonly retired = new Map<ActiveModel, NodeJS.Timeout | null>();

  constructor(private model: ActiveModel) {}

  get current(): ActiveModel {
    return this.model;
  }

  /**
   * Makes `next` the current model and returns the one it replaces, which is disposed
   * `graceMs` later when given (else by `disposeRetired()` or `close()`).
   */
  swap(next: ActiveModel, graceMs?: number): ActiveModel {
    const previous = this.model;
    this.model = next;
    const timer =
      graceMs === undefined ? null : setTimeout(() => void this.dispose(previous), graceMs);
    timer?.unref();
    this.retired.set(previous, timer);
    return previous;
  }

  /** Disposes every replaced model now. */
  async disposeRetired(): Promise<void> {
    for (const model of [...this.retired.keys()]) await this.dispose(model);
  }

  /** Disposes the replaced models and the current one. */
  async close(): Promise<void> {
    await this.disposeRetired();
    await this.model.dispose().catch(() => undefined);
  }

  private async dispose(model: ActiveModel): Promise<void> {
    if (!this.retired.has(model)) return;
    const timer = this.retired.get(model);
    if (timer) clearTimeout(timer);
    this.retired.delete(model);
    await model.dispose().catch(() => undefined);
  }
}
