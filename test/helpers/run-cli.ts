import { main } from '../../src/cli/main';

/** Runs the CLI in-process; returns its exit code and what it printed (stdout, stderr). */
export async function runCli(
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const spies = [
    jest.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' '))),
    jest.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' '))),
    jest.spyOn(process.stdout, 'write').mockImplementation((c) => (out.push(String(c)), true)),
    jest.spyOn(process.stderr, 'write').mockImplementation((c) => (err.push(String(c)), true)),
  ];
  process.exitCode = undefined;
  try {
    await main(['node', 'aestream', ...args]);
    return { code: Number(process.exitCode ?? 0), out: out.join('\n'), err: err.join('\n') };
  } finally {
    process.exitCode = undefined;
    spies.forEach((s) => s.mockRestore());
  }
}
