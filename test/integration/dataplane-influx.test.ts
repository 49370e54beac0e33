import { createServer, connect, type Server, type Socket } from 'node:net';
import type { IPoint } from 'influx';
import { register } from 'prom-client';
import { InfluxSink } from '../../src/connectors/influx/influx-sink';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { INFLUX_URL } from '../helpers/stack';
import { waitFor } from '../helpers/wait-for';

const fast = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0 };

/**
 * A TCP proxy to the real InfluxDB that the test can take down and bring back, so an
 * outage can be staged without stopping the shared InfluxDB.
 */
class Proxy {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: URL) {}
  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

const point = (i: number): IPoint => ({
  measurement: 'score',
  tags: { source: `s${i % 5}` },
  fields: { error: i / 10 },
  timestamp: new Date(1_700_000_000_000 + i),
});

describe('InfluxSink (real InfluxDB)', () => {
  // A database of each test's own (no topics): dropped after the test.
  let f: PipelineFixture;
  beforeEach(async () => {
    f = await pipelineFixture('influxsink', { influx: true, createTopics: false });
  });
  afterEach(() => f?.teardown());

  it('writes batches, holds points while InfluxDB is unreachable, backpressures, and loses none', async () => {
    const proxy = new Proxy(new URL(INFLUX_URL));
    await proxy.start();
    const { database } = f;
    const sink = new InfluxSink({
      url: `http://127.0.0.1:${proxy.port}`,
      database,
      batchSize: 500,
      flushMs: 20,
      maxBuffered: 1_000,
      backoff: fast,
      requestTimeoutMs: 2_000,
    });

    await sink.writePoints(Array.from({ length: 1_000 }, (_, i) => point(i)));
    expect(await f.points()).toBe(1_000);

    await proxy.stop(); // InfluxDB unreachable from the sink
    let written = 0;
    const writes = [0, 1, 2, 3].map((k) =>
      sink
        .writePoints(Array.from({ length: 500 }, (_, i) => point(1_000 + k * 500 + i)))
        .then(() => void (written += 500)),
    );
    await waitFor(() => sink.isDown, { what: 'the sink to notice the outage' });
    const up = (await register.getSingleMetric('aestream_influx_up')!.get()).values.find(
      (v) => v.labels.database === database,
    );
    expect(up?.value).toBe(0);
    // nothing is acknowledged while down, and no more than maxBuffered points are held
    await new Promise((r) => setTimeout(r, 300));
    expect(written).toBe(0);
    expect(sink.buffered).toBeLessThanOrEqual(1_000);

    await proxy.start(); // same port: InfluxDB is back
    await Promise.all(writes);
    await sink.close();
    expect(written).toBe(2_000);
    expect(sink.isDown).toBe(false);
    expect(await f.points()).toBe(3_000);
    await proxy.stop();
  }, 60_000);

  it('writes tags and text that need escaping so they read back unchanged', async () => {
    const { database } = f;
    const sink = new InfluxSink({ url: INFLUX_URL, database });
    const source = 'hall 3,east=pump "A"';
    const top = 'say "hi" \\ 1:0.5, 2:0.25';
    await sink.writePoints([
      {
        measurement: 'anomaly',
        tags: { source, run: '' },
        fields: { score: 1.5, top },
        timestamp: new Date(1_700_000_000_000),
      },
    ]);
    await sink.close();
    const rows = await f.influx.query<{ source: string; score: number; top: string; time: Date }>(
      'SELECT * FROM anomaly',
    );
    expect(rows.map((r) => [r.source, r.score, r.top, r.time.getTime()])).toEqual([
      [source, 1.5, top, 1_700_000_000_000],
    ]);
  });

  it('rejects a write InfluxDB refuses for good with AE_ERR_INFLUX_WRITE, keeping only the message', async () => {
    const { database } = f; // never created: the sink may not create it
    const sink = new InfluxSink({
      url: INFLUX_URL,
      database,
      createDatabase: false,
      flushMs: 10,
      backoff: fast,
    });
    const err = await sink.writePoints([point(1)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AE_ERR_INFLUX_WRITE', retriable: false });
    expect((err as Error).message).toMatch(/database not found/);
    expect(Object.keys(err as object)).not.toContain('req');
  });
});
