import { createServer, type IncomingMessage, type Server } from 'node:http';
import { InfluxSink } from '../../../src/connectors/influx/influx-sink';

/** A stand-in for InfluxDB's /write: records each request's lines; answers after `delayMs`. */
async function fakeInflux(delayMs: number) {
  const bodies: string[][] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8').split('\n'));
      setTimeout(() => res.writeHead(204).end(), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, bodies, close: () => server.close() };
}

const lines = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `score,source=s${from + i} error=0.${from + i} ${from + i}`);

// Longer than the sink's first buffer, with a character of more than one UTF-8 byte.
const long = `anomaly,source=caf\u00e9\\ 1 top="${'x'.repeat(200_000)}" 1`;

describe('InfluxSink', () => {
  it('sends every line once, in order, at most batchSize a request, also lines written during a request', async () => {
    const influx = await fakeInflux(30);
    const sink = new InfluxSink({
      url: influx.url,
      database: 'db',
      batchSize: 40,
      createDatabase: false,
    });
    const first = sink.writeLines(lines(0, 100));
    // Arrives while the first request is in flight (and outgrows the buffer): goes in a later one.
    await new Promise((r) => setTimeout(r, 10));
    const second = sink.writeLines([long, ...lines(100, 10)]);
    await Promise.all([first, second]);
    await sink.close();
    influx.close();
    expect(influx.bodies.flat()).toEqual([...lines(0, 100), long, ...lines(100, 10)]);
    expect(Math.max(...influx.bodies.map((b) => b.length))).toBeLessThanOrEqual(40);
    expect(sink.buffered).toBe(0);
  });

  it('grows its buffer for lines longer than it holds and sends them whole', async () => {
    const influx = await fakeInflux(0);
    const sink = new InfluxSink({ url: influx.url, database: 'db', createDatabase: false });
    await sink.writeLines([long, ...lines(0, 3)]);
    await sink.close();
    influx.close();
    expect(influx.bodies.flat()).toEqual([long, ...lines(0, 3)]);
  });
});
