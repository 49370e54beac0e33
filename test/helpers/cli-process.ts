import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cliNodeFlags, REPO_ROOT } from './detector-process';

export interface CliRun {
  /** The exit code, null when the process was killed. */
  code: number | null;
  /** True when it had not exited by itself within `giveUpMs` and was killed. */
  hung: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (`aestream ARGS`) as its own process, as a user's shell would, and
 * waits for it to exit. A process still running after `giveUpMs` is killed and reported as
 * hung: the bound is a safety net far above any expected run time, not a timing check.
 */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; giveUpMs?: number; cwd?: string } = {},
): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [...cliNodeFlags(), join(REPO_ROOT, 'bin', 'aestream.js'), ...args],
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, options.giveUpMs ?? 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, hung, stdout, stderr });
    });
  });
}
