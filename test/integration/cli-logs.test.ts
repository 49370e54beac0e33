import { runCli } from '../helpers/cli-process';
import { builtCli } from '../helpers/detector-process';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/**
 * What a command writes on stderr, as its own process (stderr a pipe here, as under a
 * supervisor): JSON log lines by default, human lines with --log-format pretty, and no
 * library notice a user cannot act on.
 */
describe('CLI log output (real broker)', () => {
  let f: PipelineFixture;
  let pipeline: string;

  beforeAll(async () => {
    builtCli();
    f = await pipelineFixture('cli-logs', {
      createTopics: false,
      yaml: ({ topics }) => ({
        threshold: { k: 4, calibration: 40, control: { topic: topics.control } },
      }),
    });
    pipeline = f.file;
  });
  afterAll(() => f?.teardown());

  it('threshold set logs JSON lines on a pipe, without the kafkajs partitioner notice', async () => {
    const run = await runCli(['threshold', 'set', '-p', pipeline, 'k=5'], {
      env: { AESTREAM_LOG_LEVEL: 'debug' },
    });
    expect(run.hung).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/set for every source of pipeline .* sent to /);
    const lines = run.stderr.split('\n').filter(Boolean);
    const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    // the command is checked against the pipeline's thresholds before it is sent
    expect(entries).toContainEqual(
      expect.objectContaining({ level: 20, msg: 'threshold command applied' }),
    );
    expect(run.stderr).not.toMatch(/partitioner/i);
  });

  it('--log-format pretty writes human lines, the level given on the command line', async () => {
    const run = await runCli(
      ['threshold', 'set', '-p', pipeline, 'k=6', '--log-format', 'pretty', '--log-level', 'debug'],
      { env: { AESTREAM_LOG_LEVEL: 'silent' } },
    );
    expect(run.code).toBe(0);
    const lines = run.stderr.split('\n').filter(Boolean);
    for (const line of lines) expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} [A-Z]+ /);
    expect(run.stderr).toMatch(/ DEBUG threshold command applied {2}command=\{"action":"set"/);
    expect(run.stderr).not.toMatch(/partitioner/i);
  });
});
