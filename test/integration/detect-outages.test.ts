import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { logEntries, type DetectorProcess } from '../helpers/detector-process';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { privateStack, type PrivateStack } from '../helpers/private-stack';
import { waitFor } from '../helpers/wait-for';

/**
 * A running `aestream detect` (its own OS process) through the faults production brings:
 * InfluxDB stopped for 30 s, then the Kafka broker stopped and started mid-stream. The
 * services are a stack of this test's own, so stopping them disturbs no other test.
 */
describe('aestream detect through InfluxDB and Kafka outages (real services)', () => {
  let stack: PrivateStack;
  let f: PipelineFixture;
  let detector: DetectorProcess | undefined;

  beforeAll(async () => {
    stack = await privateStack();
    f = await pipelineFixture('outage', {
      stack,
      partitions: { input: 3, anomalies: 1, dlq: 1 },
      influx: true,
      model: true,
      yaml: ({ topics }) => ({
        input: { kafka: { commitIntervalMs: 200 } },
        threshold: { kind: 'ksigma', k: 4, calibration: 30, control: { topic: topics.control } },
      }),
    });
  });

  afterAll(async () => {
    await f?.teardown();
    await stack?.down();
  });

  it('holds its offsets while InfluxDB is down and catches up after; survives a broker restart; loses no frame', async () => {
    // 4 sources x 900 readings, produced in four parts of 900 frames.
    const gen = new SyntheticSource({ seed: 12, sources: 4, length: 900, anomaliesPerSource: 1 });
    const frames = [...gen.frames()];
    const parts = [0, 1, 2, 3].map((i) => frames.slice(i * 900, (i + 1) * 900));
    const { produce, points, committed } = f;
    const logged = (msg: string) => logEntries(detector!).filter((l) => l.msg === msg).length;

    detector = f.spawn();
    await produce(parts[0]!);
    await waitFor(async () => (await points()) === 900 && (await committed()) === 900, {
      what: 'the first 900 frames scored and committed',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    const started = logEntries(detector).find((l) => l.msg === 'detector started') as
      { metricsPort?: number } | undefined;
    const metrics = async () =>
      (await fetch(`http://127.0.0.1:${started!.metricsPort}/metrics`)).text();

    // InfluxDB down for 30 s while 900 more frames arrive: the detector holds them (no commit
    // past what was written), says so once (log line, aestream_influx_up 0), and catches up.
    await stack.stop('influxdb');
    const stoppedAt = Date.now();
    await produce(parts[1]!);
    let highestCommitted = 0;
    await waitFor(
      async () => {
        highestCommitted = Math.max(highestCommitted, await committed());
        return (
          Date.now() - stoppedAt >= 30_000 &&
          /aestream_influx_up\{database="[^"]+"\} 0/.test(await metrics())
        );
      },
      { what: '30 s of InfluxDB outage, reported', timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(highestCommitted).toBe(900);
    expect(logged('InfluxDB unavailable: holding points and retrying with backoff')).toBe(1);
    await stack.up();
    await waitFor(async () => (await points()) === 1800 && (await committed()) === 1800, {
      what: 'the held frames written and committed after InfluxDB is back',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    expect(logged('InfluxDB writes work again')).toBe(1);
    expect(await metrics()).toMatch(/aestream_influx_up\{database="[^"]+"\} 1/);

    // The broker stopped and started again while frames are in flight: no manual action.
    const inFlight = produce(parts[2]!);
    await inFlight;
    await stack.stop('kafka');
    await stack.up();
    await produce(parts[3]!);
    const seen = { points: 0, committed: 0 };
    await waitFor(
      async () => {
        seen.points = await points();
        seen.committed = await committed().catch(() => -1);
        return seen.points === 3600 && seen.committed === 3600;
      },
      {
        what: 'every frame scored and committed after the broker restart',
        timeoutMs: 180_000,
        intervalMs: 500,
        state: () => ({ ...seen, log: detector!.log.slice(-6) }),
      },
    );
    expect(detector.child.exitCode).toBeNull(); // still the same process
    console.log(
      `[outage] 3600 frames, 3600 points; influx outage ${Math.round((Date.now() - stoppedAt) / 1000)} s ago; ` +
        `kafka restarted once; committed never passed the written frames (${highestCommitted})`,
    );
    // Longer than the other tests: a 30 s outage, two restarts of real services, and waits
    // whose own timeouts name what did not happen (they must end before the test's).
  }, 600_000);
});
