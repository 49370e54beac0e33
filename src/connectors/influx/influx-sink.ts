import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { InfluxDB, type IPoint } from 'influx';
import { AeError, ErrorCodes, messageOf } from '../../core/errors';
import { logger } from '../../observability/logger';
import { counter, gauge } from '../../observability/metrics';
import { toLine } from './influx-line';
import { OutageReport } from '../outage-report';
import { defaultBackoff, retry, type BackoffPolicy } from '../retry';

export interface InfluxSinkOptions {
  /** InfluxDB 1.x HTTP endpoint (or a v1-compatible one), e.g. http://127.0.0.1:8086. */
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** Points per write request (default 5,000). */
  batchSize?: number;
  /**
   * @deprecated Ignored: points are written as soon as no write is in flight, and points
   * that arrive during a write right after it (batches grow with the load by themselves).
   */
  flushMs?: number;
  /** Points held before `writePoints` callers wait (default 10 x batchSize): the backpressure bound. */
  maxBuffered?: number;
  /** Backoff between retries of failed writes. */
  backoff?: BackoffPolicy;
  /** Create the database at start (InfluxDB 1.x `CREATE DATABASE` is idempotent; default true). */
  createDatabase?: boolean;
  /** HTTP timeout of one request (default 10,000 ms). */
  requestTimeoutMs?: number;
}

/** One writePoints call: settled when all its segments are written or refused. */
interface Call {
  remaining: number;
  error?: unknown;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Consecutive lines of one call in the held buffer, up to `end` (bytes); at most batchSize points. */
interface Segment {
  end: number;
  points: number;
  call: Call;
}

function settle(call: Call, error?: unknown): void {
  if (error !== undefined) call.error ??= error;
  if (--call.remaining > 0) return;
  if (call.error === undefined) call.resolve();
  else call.reject(call.error);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ESOCKETTIMEDOUT',
]);

/**
 * Classifies a failed write: network faults, timeouts, 5xx and 429 are worth retrying;
 * any other 4xx (bad line protocol, missing database) is not, and 401/403 are AE_ERR_INFLUX_AUTH.
 * Only messages are kept:
 * the influx client's errors hold whole HTTP requests.
 */
export function classifyInfluxError(err: unknown): AeError {
  const code = (err as { code?: string }).code;
  const name = (err as { constructor?: { name?: string } }).constructor?.name;
  const status = (err as { res?: { statusCode?: number } }).res?.statusCode;
  const retriable =
    (code !== undefined && NETWORK_CODES.has(code)) ||
    name === 'ServiceNotAvailableError' ||
    status === 408 ||
    status === 429 ||
    (status !== undefined && status >= 500);
  if (status === 401 || status === 403) {
    // The body says only "authorization failed"; the credentials themselves are never quoted.
    return new AeError(ErrorCodes.INFLUX_AUTH, String(status), { retriable: false });
  }
  return new AeError(ErrorCodes.INFLUX_WRITE, messageOf(err), {
    retriable,
  });
}

const metrics = {
  up: () =>
    gauge(
      'aestream_influx_up',
      'Whether the last InfluxDB write succeeded (1) or is being retried (0).',
      ['database'],
    ),
  buffered: () =>
    gauge('aestream_influx_buffered_points', 'Points waiting to be written to InfluxDB.', [
      'database',
    ]),
  retries: () =>
    counter('aestream_influx_write_retries_total', 'Failed InfluxDB writes that are retried.', [
      'database',
    ]),
  written: () =>
    counter('aestream_influx_points_written_total', 'Points written to InfluxDB.', ['database']),
};

/**
 * Batched InfluxDB writes that never drop a point: failed writes are retried with backoff
 * for as long as InfluxDB is down (network errors, 5xx); meanwhile points are held, and
 * once `maxBuffered` are held `writePoints` waits, which backpressures the pipeline. One
 * log line says InfluxDB is down, one that it is back; `aestream_influx_up` says so too.
 * Non-retriable rejections (4xx) reject the callers of that batch with AE_ERR_INFLUX_WRITE.
 *
 * @example
 * const influx = new InfluxSink({ url: 'http://127.0.0.1:8086', database: 'aestream' });
 * await influx.writePoints([{ measurement: 'score', tags: { source: 'p1' }, fields: { error: 0.1 }, timestamp: new Date() }]);
 * await influx.close();
 */
export class InfluxSink {
  readonly client: InfluxDB;
  private readonly database: string;
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly backoff: BackoffPolicy;
  private readonly createDb: boolean;
  // Held points as line protocol in one reused buffer (requests send slices of it), in
  // segments of their calls: no object or string per point outlives the caller's turn.
  private held = Buffer.allocUnsafe(1 << 16);
  private heldBytes = 0;
  private heldPoints = 0;
  private segments: Segment[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private spaceWaiters: Array<() => void> = [];
  private ready: Promise<void> | undefined;
  private readonly outage: OutageReport<'database'>;
  private readonly endpoint: URL;
  private readonly auth: string | undefined;
  private readonly agent: HttpAgent;
  private readonly requestTimeoutMs: number;
  private closed = false;
  private closing = false;
  private readonly m = {
    buffered: metrics.buffered(),
    retries: metrics.retries(),
    written: metrics.written(),
  };

  constructor(options: InfluxSinkOptions) {
    const url = new URL(options.url);
    this.database = options.database;
    this.batchSize = options.batchSize ?? 5_000;
    this.maxBuffered = Math.max(options.maxBuffered ?? this.batchSize * 10, this.batchSize);
    this.backoff = options.backoff ?? defaultBackoff;
    this.createDb = options.createDatabase ?? true;
    this.endpoint = url;
    this.auth =
      options.username !== undefined ? `${options.username}:${options.password ?? ''}` : undefined;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.agent =
      url.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, maxSockets: 4 })
        : new HttpAgent({ keepAlive: true, maxSockets: 4 });
    // The client creates the database (and serves queries); writes are our own requests.
    this.client = new InfluxDB({
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      database: options.database,
      username: options.username,
      password: options.password,
      // Retrying is ours (no point dropped, one log line); the client's pool would give up.
      pool: { maxRetries: 0, requestTimeout: options.requestTimeoutMs ?? 10_000 },
    });
    this.outage = new OutageReport(
      metrics.up(),
      { database: this.database },
      'InfluxDB unavailable: holding points and retrying with backoff',
      'InfluxDB writes work again',
    );
  }

  /** Points held and not yet written. */
  get buffered(): number {
    return this.heldPoints;
  }

  /** True while writes are failing and being retried. */
  get isDown(): boolean {
    return this.outage.isDown;
  }

  /** How long writes have been failing and retried (ms); 0 while they work. */
  get downForMs(): number {
    return this.outage.downForMs();
  }

  /**
   * Queues points; resolves when InfluxDB has them all. Waits first while `maxBuffered`
   * points are already held (InfluxDB slow or down).
   */
  async writePoints(points: readonly IPoint[]): Promise<void> {
    // Serialized here, in the caller's turn: a point that cannot be written (no fields) is
    // refused at once and alone, not with the batch it would have been sent in.
    const lines = points.map((point) => {
      try {
        return toLine(point);
      } catch (err) {
        throw new AeError(ErrorCodes.INFLUX_WRITE, messageOf(err));
      }
    });
    await this.writeLines(lines);
  }

  /**
   * Like writePoints, for points already in line protocol (precision ms, e.g. from
   * `toLine`): the score sink builds its lines itself.
   */
  async writeLines(lines: readonly string[]): Promise<void> {
    if (this.closed) throw new Error('InfluxSink is closed');
    if (lines.length === 0) return;
    while (this.heldPoints >= this.maxBuffered) {
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    await new Promise<void>((resolve, reject) => {
      const call: Call = { remaining: Math.ceil(lines.length / this.batchSize), resolve, reject };
      for (let i = 0; i < lines.length; i += this.batchSize) {
        const n = Math.min(this.batchSize, lines.length - i);
        // One write of the segment's text into the buffer: a native utf8 write per line
        // cost more than the concatenation (V8 joins the parts once, when written).
        let text = '';
        for (let j = i; j < i + n; j++) text += lines[j]! + '\n';
        this.hold(text);
        this.segments.push({ end: this.heldBytes, points: n, call });
      }
      this.heldPoints += lines.length;
      this.m.buffered.set({ database: this.database }, this.heldPoints);
      if (this.heldPoints >= this.batchSize) this.kick();
      // Callers wait for their points (the detector acks a batch when they are written), so
      // with no write in flight a linger only stalls them: write on the next turn. Points
      // arriving during a write are written right after it: no timer for them.
      else if (!this.writing) this.timer ??= setTimeout(() => this.kick(), 0);
    });
  }

  /** Writes everything held now; resolves when written (waits through outages). */
  async flush(): Promise<void> {
    while (this.segments.length > 0 || this.writing) {
      this.kick();
      await this.writing;
    }
  }

  /** Flushes and stops accepting points; a write failing meanwhile is given up, not retried. */
  async close(): Promise<void> {
    // A write failing from now on is not tried again: held points (of records not acked, so
    // read again by the next consumer) must not keep a stopping process alive.
    this.closing = true;
    await this.flush();
    this.closed = true;
    this.agent.destroy(); // idle keep-alive sockets would hold the process open
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      // Points queued after the drain loop's last check (between its end and this callback)
      // are written now, not after a linger.
      if (this.segments.length > 0) this.kick();
    });
  }

  /** Appends lines (each with its newline) to the held buffer, growing it when full. */
  private hold(text: string): void {
    // At most 3 bytes per UTF-16 unit.
    const room = text.length * 3;
    if (this.heldBytes + room > this.held.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.held.length * 2, this.heldBytes + room));
      // A request in flight keeps sending from the old buffer, which holds the same bytes.
      this.held.copy(grown, 0, 0, this.heldBytes);
      this.held = grown;
    }
    this.heldBytes += this.held.write(text, this.heldBytes, 'utf8');
  }

  private async drain(): Promise<void> {
    while (this.segments.length > 0) {
      // Whole segments, up to batchSize points (at least one segment).
      let count = 0;
      let points = 0;
      while (
        count < this.segments.length &&
        (count === 0 || points + this.segments[count]!.points <= this.batchSize)
      )
        points += this.segments[count++]!.points;
      const end = this.segments[count - 1]!.end;
      let error: unknown;
      try {
        // The body is a view of the held buffer: lines appended meanwhile go after `end`.
        await this.writeWithRetry(this.held.subarray(0, end - 1));
        this.m.written.inc({ database: this.database }, points);
      } catch (err) {
        error = err;
        logger.error(
          { database: this.database, err: messageOf(err), points },
          'InfluxDB refused a write',
        );
      }
      const sent = this.segments.splice(0, count);
      this.held.copyWithin(0, end, this.heldBytes);
      this.heldBytes -= end;
      for (const seg of this.segments) seg.end -= end;
      this.heldPoints -= points;
      for (const seg of sent) settle(seg.call, error);
      this.m.buffered.set({ database: this.database }, this.heldPoints);
      this.spaceWaiters.splice(0).forEach((r) => r());
    }
  }

  private async writeWithRetry(body: Buffer): Promise<void> {
    await retry(
      async () => {
        try {
          if (this.createDb) {
            this.ready ??= this.client.createDatabase(this.database).catch((err: unknown) => {
              this.ready = undefined;
              throw err;
            });
            await this.ready;
          }
          await this.post(body);
        } catch (err) {
          throw classifyInfluxError(err);
        }
        this.outage.succeeded();
      },
      {
        policy: this.backoff,
        cancelled: () => this.closing,
        onRetry: (err) => {
          this.m.retries.inc({ database: this.database });
          this.outage.failed(err, { buffered: this.heldPoints });
        },
      },
    );
  }

  /**
   * One `/write` request (InfluxDB 1.x API, precision ms). Fails like the `influx` client
   * did, so classifyInfluxError keeps working: network errors carry their `code`, refusals
   * `res.statusCode` and InfluxDB's own message.
   */
  private post(body: Buffer): Promise<void> {
    const url = this.endpoint;
    const base = url.pathname.replace(/\/$/, '');
    const query = new URLSearchParams({ db: this.database, precision: 'ms' });
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port || (url.protocol === 'https:' ? 443 : 80),
          method: 'POST',
          path: `${base}/write?${query.toString()}`,
          auth: this.auth,
          agent: this.agent,
          timeout: this.requestTimeoutMs,
          headers: {
            'content-type': 'text/plain; charset=utf-8',
            'content-length': body.length,
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve();
            const text = Buffer.concat(chunks).toString('utf8').trim();
            let message = text;
            try {
              message = (JSON.parse(text) as { error?: string }).error ?? text;
            } catch {
              // not JSON: keep the text
            }
            reject(
              Object.assign(new Error(`${status} ${message || res.statusMessage || ''}`.trim()), {
                res: { statusCode: status },
              }),
            );
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(
          Object.assign(new Error(`no answer in ${this.requestTimeoutMs} ms`), {
            code: 'ESOCKETTIMEDOUT',
          }),
        ),
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
