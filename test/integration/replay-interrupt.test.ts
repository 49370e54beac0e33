import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { builtCli, cliNodeFlags, REPO_ROOT } from '../helpers/detector-process';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * `aestream replay` stopped by Ctrl-C: it ends with exit code 130 and says so in its last
 * line, and its throwaway consumer group is gone from the broker.
 */
describe('aestream replay interrupted (real broker)', () => {
  let f: PipelineFixture;

  beforeAll(async () => {
    builtCli();
    f = await pipelineFixture('replay-interrupt', { model: true });
    await f.produce([...new SyntheticSource({ seed: 2, sources: 2, length: 2_000 }).frames()]);
  });
  afterAll(() => f?.teardown());

  it('exits 130 after SIGINT and deletes its consumer group', async () => {
    const runId = `${f.name}-run`;
    const child = spawn(
      process.execPath,
      [
        ...cliNodeFlags(),
        join(REPO_ROOT, 'bin', 'aestream.js'),
        'replay',
        '-p',
        f.file,
        '--from',
        'earliest',
        '--rate',
        '100', // 40 s for the range: Ctrl-C comes first
        '--run-id',
        runId,
        '--no-progress',
      ],
      { cwd: REPO_ROOT, env: { ...process.env, AESTREAM_LOG_LEVEL: 'info' }, stdio: 'pipe' },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const group = `aestream-replay-${f.config.name}-${runId}`;
    await waitFor(
      async () => (await f.admin.listGroups()).groups.some((g) => g.groupId === group),
      { what: 'the replay to join its group', timeoutMs: 120_000, intervalMs: 200 },
    );
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(
        `^error AE_ERR_INTERRUPTED: stopped before the end: replay stopped by SIGINT after \\d+ scored frames; its consumer group ${group} was deleted$`,
      ),
    );
    expect((await f.admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(group);
  });
});
