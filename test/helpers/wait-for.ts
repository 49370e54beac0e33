/**
 * Waits until `condition` returns a truthy value, polling every `intervalMs`, and returns
 * that value; throws with `what` and the last observed state after `timeoutMs`.
 * Tests wait on conditions with this, never on fixed sleeps.
 *
 * @example await waitFor(() => received.length >= 10_000, { what: 'all messages consumed' })
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: { what: string; timeoutMs?: number; intervalMs?: number; state?: () => unknown } = {
    what: 'condition',
  },
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const state = options.state ? ` (last state: ${JSON.stringify(options.state())})` : '';
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.what}${state}${cause}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
