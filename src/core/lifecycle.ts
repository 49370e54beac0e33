import { AeError, ErrorCodes } from './errors';

/** A close that failed or missed its deadline. */
export interface CloseFailure {
  name: string;
  error: unknown;
}

export interface CloseStackOptions {
  /** Longest one close may take before it is given up on (ms); default 10 s. */
  deadlineMs?: number;
  /** Told of each close that failed or missed its deadline; the others are closed all the same. */
  onError?: (failure: CloseFailure) => void;
}

interface Entry {
  name: string;
  close: () => unknown;
  deadlineMs: number;
}

/**
 * What a pipeline opened, closed again in reverse order. Resources are registered as they
 * open; the same stack serves a start that fails halfway and the normal stop. Each close has
 * a deadline, so a client that never answers cannot hang the shutdown, and a close that
 * throws does not keep the others open.
 *
 * @example
 * const stack = new CloseStack({ onError: (f) => logger.warn(f, 'close failed') });
 * const detector = await stack.startOrClose(async () => {
 *   const sink = kafkaSinkFrom(brokers, output, kafka);
 *   stack.defer('events producer', () => sink.disconnect());
 *   await sink.connect();
 *   return run(sink);
 * });
 */
export class CloseStack {
  private readonly entries: Entry[] = [];
  private closing: Promise<CloseFailure[]> | null = null;

  constructor(private readonly options: CloseStackOptions = {}) {}

  /**
   * Registers what closes a resource just opened: it is closed before everything registered
   * earlier. Registered after the stack closed, it is closed at once.
   */
  defer(name: string, close: () => unknown, deadlineMs = this.options.deadlineMs ?? 10_000): void {
    const entry = { name, close, deadlineMs };
    if (this.closing) void this.closing.then(() => this.closeOne(entry));
    else this.entries.push(entry);
  }

  /** Runs a start; when it throws, closes whatever it opened and rethrows its error. */
  async startOrClose<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Closes everything, newest first, once; resolves with what failed, never rejects. */
  close(): Promise<CloseFailure[]> {
    this.closing ??= (async () => {
      const failures: CloseFailure[] = [];
      for (const entry of this.entries.splice(0).reverse()) {
        const failure = await this.closeOne(entry);
        if (failure) failures.push(failure);
      }
      return failures;
    })();
    return this.closing;
  }

  get size(): number {
    return this.entries.length;
  }

  private async closeOne(entry: Entry): Promise<CloseFailure | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AeError(
              ErrorCodes.SHUTDOWN_TIMEOUT,
              `${entry.name} did not close within ${entry.deadlineMs} ms`,
            ),
          ),
        entry.deadlineMs,
      );
      timer.unref();
    });
    try {
      await Promise.race([Promise.resolve().then(entry.close), late]);
      return null;
    } catch (error) {
      const failure = { name: entry.name, error };
      this.options.onError?.(failure);
      return failure;
    } finally {
      clearTimeout(timer);
    }
  }
}

let uncommitted = 0;

/**
 * Counts records a stopping source leaves unacked (they are delivered again): the CLI's last
 * line and exit code report them after a signal.
 */
export function noteUncommitted(records: number): void {
  uncommitted += records;
}

/** Records left unacked by the sources that stopped in this process so far. */
export function uncommittedAtStop(): number {
  return uncommitted;
}
