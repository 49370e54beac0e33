import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { register } from 'prom-client';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { Frame, SensorFrame, ThresholdCommand } from '../../src/core/records';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import type { Judged } from '../../src/core/model-input';
import { startDetector } from '../../src/app/detect';
import { builtCli } from '../helpers/detector-process';
import { waitFor } from '../helpers/wait-for';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

const run = promisify(execFile);

interface ThresholdsView {
  pipeline: string;
  model: string;
  thresholds: Array<{ key: string; kind: string; threshold: number | null; calibrated: boolean }>;
}

/**
 * Runtime threshold control: `aestream threshold override|set` put a ThresholdCommand on the
 * control topic, a running detector applies it (log line, metric) and judges with it, and
 * `aestream threshold show` prints what the detector uses. A command that cannot apply is
 * refused, counted, and changes nothing.
 */
describe('aestream threshold (real Kafka)', () => {
  let f: PipelineFixture;
  beforeAll(async () => {
    builtCli();
    f = await pipelineFixture('control', {
      partitions: 2,
      model: true,
      yaml: ({ topics }) => ({
        threshold: { k: 4, calibration: 40, control: { topic: topics.control } },
      }),
    });
  });
  afterAll(() => f?.teardown());

  it('applies commands sent by the CLI to the running detector, shows them, and refuses a bad one', async () => {
    const { config, name, topics, file: pipelineFile } = f;
    const scored: Judged<Frame>[] = [];
    const detector = f.track(
      await startDetector(config, {
        metricsPort: 0,
        onScored: (batch) => scored.push(...batch),
      }),
    );
    const url = `http://127.0.0.1:${detector.metricsPort}`;
    const view = async () => (await (await fetch(`${url}/thresholds`)).json()) as ThresholdsView;

    const gen = new SyntheticSource({ seed: 8, sources: 3, length: 400, anomaliesPerSource: 0 });
    const frames = [...gen.frames()];
    const produce = (part: SensorFrame[]) => f.produce(part);
    await produce(frames.filter((x) => (x.seq ?? 0) < 200));
    await waitFor(async () => (await view()).thresholds.filter((t) => t.calibrated).length === 3, {
      what: 'three calibrated sources',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    const [target, other] = gen.sources;
    const otherBefore = (await view()).thresholds.find((t) => t.key === other)!;
    expect(otherBefore.kind).toBe('ksigma');

    // override one source with a static threshold, from the CLI
    const cli = (...args: string[]) =>
      run(process.execPath, ['bin/aestream.js', 'threshold', ...args], { cwd: process.cwd() });
    const sent = await cli(
      'override',
      '-p',
      pipelineFile,
      '-k',
      target!,
      'kind=static',
      'value=0.123',
    );
    expect(sent.stdout).toContain(
      `override for source ${target} of pipeline ${name} sent to ${topics.control}`,
    );
    await waitFor(
      async () => (await view()).thresholds.find((t) => t.key === target)?.kind === 'static',
      { what: 'the override applied by the detector', timeoutMs: 30_000, intervalMs: 100 },
    );
    const applied = async (action: string, result: string) =>
      (await register.getSingleMetric('aestream_threshold_commands_total')?.get())?.values.find(
        (v) =>
          v.labels.pipeline === name && v.labels.action === action && v.labels.result === result,
      )?.value ?? 0;
    expect(await applied('override', 'applied')).toBe(1);

    // `show` prints what the detector uses now
    const shown = await cli('show', '-u', url);
    expect(shown.stdout).toContain(`pipeline ${name}`);
    expect(shown.stdout).toMatch(new RegExp(`${target}\\s+static\\s+0\\.123000`));
    expect(shown.stdout).toMatch(new RegExp(`${other}\\s+ksigma\\s+\\d`));

    // the overridden source is judged against 0.123 from its next frame on; the others are not
    const judgedBefore = scored.length;
    await produce(frames.filter((x) => (x.seq ?? 0) >= 200 && (x.seq ?? 0) < 300));
    await waitFor(() => scored.length >= judgedBefore + 300, {
      what: '300 more frames scored',
      timeoutMs: 60_000,
    });
    const after = scored.slice(judgedBefore);
    expect(after.filter((j) => j.key === target).every((j) => j.threshold === 0.123)).toBe(true);
    expect(after.filter((j) => j.key === other).every((j) => j.threshold !== 0.123)).toBe(true);

    // a command no threshold can take: refused, counted, nothing changes, detector runs on
    const commandCodec = createAvroCodec<ThresholdCommand>('ThresholdCommand');
    const command = commandCodec.encode({
      pipeline: name,
      key: other!,
      action: 'SET',
      parameters: { k: 'lots' },
      issuedAt: Date.now(),
      issuedBy: 'test',
    });
    await f.produce([{ key: name, value: command, headers: commandCodec.headers }], topics.control);
    await waitFor(async () => (await applied('set', 'refused')) === 1, {
      what: 'the bad command refused',
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect((await view()).thresholds.find((t) => t.key === other)?.kind).toBe('ksigma');

    // set on every source: the ksigma sources take k=6 (they calibrate again), the override stays
    await cli('set', '-p', pipelineFile, 'k=6');
    await waitFor(async () => (await applied('set', 'applied')) === 1, {
      what: 'the set applied',
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect((await view()).thresholds.find((t) => t.key === target)).toMatchObject({
      kind: 'static',
      threshold: 0.123,
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
