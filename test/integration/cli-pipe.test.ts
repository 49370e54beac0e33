import { runCli } from '../helpers/cli-process';
import { builtCli } from '../helpers/detector-process';

/** A command whose reader stops early (`aestream ... | head`) ends quietly, as Unix tools do. */
describe('CLI output into a closed pipe', () => {
  beforeAll(() => builtCli());

  it.each([
    ['lint --print', ['lint', '--print', 'pipelines/sensors.yaml']],
    ['--help', ['evaluate', 'nab', '--help']],
  ])('%s exits 0 without an EPIPE stack trace', async (_name, args) => {
    const run = await runCli(args, { closeStdout: true });
    expect(run.hung).toBe(false);
    expect(run.stderr).not.toContain('EPIPE');
    expect(run.code).toBe(0);
  });
});
