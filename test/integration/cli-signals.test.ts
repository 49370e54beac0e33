import { closedPort } from '../helpers/cli-process';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { logEntries, type DetectorProcess } from '../helpers/detector-process';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

const says = (p: DetectorProcess, msg: string) => logEntries(p).some((e) => e.msg === msg);
const lastLine = (p: DetectorProcess) => p.log.at(-1) ?? '';

/**
 * Ctrl-C (SIGINT) and SIGTERM always end `aestream detect`: with everything committed it
 * exits 0; with records it could not commit (InfluxDB down) it drains up to its deadline and
 * exits 130 or 143, its last line saying how many records were left; a second Ctrl-C ends
 * it at once.
 */
describe('detect stopped by a signal (real broker, InfluxDB down)', () => {
  let f: PipelineFixture;
  let influxDown: string;
  const frames = [...new SyntheticSource({ seed: 5, sources: 2, length: 400 }).frames()];

  beforeAll(async () => {
    influxDown = `http://${await closedPort()}`;
    f = await pipelineFixture('cli-signals', {
      model: true,
      yaml: { input: { kafka: { shutdownMs: 2_000 } } },
    });
    await f.produce(frames);
  });
  afterAll(() => f?.teardown());

  const detectorWithInfluxDown = (group: string) => {
    const { file } = f.pipeline(
      { input: { kafka: { group } }, output: { influx: { url: influxDown, database: 'down' } } },
      `${group}.yaml`,
    );
    return f.spawn(file);
  };

  it('SIGINT with InfluxDB down: exits 130, the last line counts the uncommitted records', async () => {
    const detector = detectorWithInfluxDown(`${f.name}-int`);
    await waitFor(
      () => says(detector, 'InfluxDB unavailable: holding points and retrying with backoff'),
      {
        what: 'the detector to hold points for InfluxDB',
        timeoutMs: 120_000,
        state: () => detector.log.slice(-3),
      },
    );
    detector.child.kill('SIGINT');
    expect(await detector.exited).toBe(130);
    const left = /^stopped by SIGINT: (\d+) records? left uncommitted/.exec(lastLine(detector));
    expect(left).not.toBeNull();
    expect(Number(left![1])).toBeGreaterThan(0);
    expect(await f.committed(`${f.name}-int`)).toBeLessThan(frames.length);
  });

  it('a second SIGINT ends it at once, without waiting for the drain', async () => {
    const { file } = f.pipeline(
      {
        input: { kafka: { group: `${f.name}-twice`, shutdownMs: 600_000 } },
        output: { influx: { url: influxDown, database: 'down' } },
      },
      'twice.yaml',
    );
    const detector = f.spawn(file);
    await waitFor(
      () => says(detector, 'InfluxDB unavailable: holding points and retrying with backoff'),
      {
        what: 'the detector to hold points for InfluxDB',
        timeoutMs: 120_000,
      },
    );
    detector.child.kill('SIGINT');
    await waitFor(() => says(detector, 'stopping: draining in-flight records'), {
      what: 'the drain to start',
    });
    detector.child.kill('SIGINT'); // the drain would wait 10 minutes
    expect(await detector.exited).toBe(130);
    expect(lastLine(detector)).toBe(
      'SIGINT again: exiting now, without waiting for records in flight',
    );
  });

  it('SIGTERM with everything committed exits 0', async () => {
    const group = `${f.name}-term`;
    const { file } = f.pipeline({ input: { kafka: { group } } }, 'term.yaml');
    const detector = f.spawn(file);
    await waitFor(async () => (await f.committed(group)) >= frames.length, {
      what: 'every frame committed',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    detector.child.kill('SIGTERM');
    expect(await detector.exited).toBe(0);
  });
});
