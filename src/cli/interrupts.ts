import { uncommittedAtStop } from '../core/lifecycle';

/** Exit codes of a run a signal ended with work left undone: 128 + the signal number. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

let received: StopSignal | undefined;
let watching = false;

/**
 * SIGINT and SIGTERM of the CLI process. The first one is the command's to handle (detect,
 * retrain, consume and produce stop gracefully); a command that handles neither ends at
 * once. A second one ends the process at once, whatever is still in flight.
 */
export function watchInterrupts(): void {
  received = undefined;
  if (watching) return;
  watching = true;
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) {
    process.on(signal, () => {
      if (received) {
        console.error(`${signal} again: exiting now, without waiting for records in flight`);
        process.exit(SIGNAL_EXIT_CODES[received]);
      }
      received = signal;
      // this listener is the only one: the command has nothing to drain
      if (process.listenerCount(signal) === 1) {
        console.error(`stopped by ${signal}`);
        process.exit(SIGNAL_EXIT_CODES[signal]);
      }
    });
  }
}

/**
 * The exit code of a run that a signal stopped gracefully, or undefined when none did: 0 when
 * everything in flight was committed, 130 (SIGINT) or 143 (SIGTERM) otherwise, with a last
 * line that says how many records were left uncommitted.
 */
export function interruptedExitCode(failed: boolean): number | undefined {
  if (!received) return undefined;
  const left = uncommittedAtStop();
  if (left > 0) {
    console.error(
      `stopped by ${received}: ${left} record${left === 1 ? '' : 's'} left uncommitted ` +
        '(the next member of the group reads them again)',
    );
  }
  return left > 0 || failed ? SIGNAL_EXIT_CODES[received] : 0;
}
