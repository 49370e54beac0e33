import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
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
  options: {
    env?: NodeJS.ProcessEnv;
    giveUpMs?: number;
    cwd?: string;
    /** Close stdout's reading end at once, as `aestream ... | head` does once it has read enough. */
    closeStdout?: boolean;
  } = {},
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
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
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

/**
 * Runs the CLI in-process from the repository root, as `aestream ARGS`; returns its exit
 * code and what it printed, stdout and stderr apart (as a script sees them).
 */
export async function runMain(
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const spies = [
    jest.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ') + '\n')),
    jest.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ') + '\n')),
    jest.spyOn(process.stdout, 'write').mockImplementation((c) => (out.push(String(c)), true)),
    jest.spyOn(process.stderr, 'write').mockImplementation((c) => (err.push(String(c)), true)),
  ];
  const cwd = process.cwd();
  process.chdir(REPO_ROOT);
  process.exitCode = undefined;
  try {
    await main(['node', 'aestream', ...args]);
    return { code: Number(process.exitCode ?? 0), out: out.join(''), err: err.join('') };
  } finally {
    process.chdir(cwd);
    process.exitCode = undefined;
    spies.forEach((s) => s.mockRestore());
  }
}

/** A local address nothing listens on (host:port): a port the system just handed out and took back. */
export function closedPort(): Promise<string> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}
