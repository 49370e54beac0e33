import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository: where bin/aestream.js is (also from a compiled copy, e.g. dist/bench-build). */
export const REPO_ROOT = ((): string => {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'aestream.js'))) return dir;
  }
  return resolve(__dirname, '..', '..');
})();
const ROOT = REPO_ROOT;
const BIN = join(ROOT, 'bin', 'aestream.js');

/**
 * The node flags the installed `aestream` command starts with: those on bin/aestream.js's
 * `#!/usr/bin/env -S node ...` line (e.g. the young-generation size). A child started as
 * `node FLAGS bin/aestream.js` runs as the command does.
 */
export function cliNodeFlags(): string[] {
  const shebang = readFileSync(BIN, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(shebang);
  if (!m) throw new Error(`bin/aestream.js: unexpected first line ${shebang}`);
  return m[1]!.split(' ').filter(Boolean);
}

export interface DetectorProcess {
  child: ChildProcess;
  /** Its JSON log lines (stderr), as they come. */
  log: string[];
  exited: Promise<number | null>;
}

/** Fails with a clear message when the CLI is not built (tests that spawn it need dist/). */
export function builtCli(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('this test runs the built CLI: npm run build first (npm run test:all does)');
  }
}

/** `aestream detect` as its own OS process (the built CLI), with its JSON log collected. */
export function spawnDetector(pipelineFile: string): DetectorProcess {
  const child = spawn(
    process.execPath,
    [...cliNodeFlags(), BIN, 'detect', '-p', pipelineFile, '--metrics-port', '0'],
    {
      cwd: ROOT,
      env: { ...process.env, AESTREAM_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) =>
    log.push(...chunk.toString('utf8').split('\n').filter(Boolean)),
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, log, exited };
}

/**
 * The JSON entries of a detector's log; other lines on stderr (a Node warning, the CLI's
 * final `error CODE: message`) are skipped.
 */
export function logEntries(p: DetectorProcess): Array<{ msg?: string; [field: string]: unknown }> {
  return p.log.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as { msg?: string }];
    } catch {
      return [];
    }
  });
}

/** The partitions a detector holds after its latest group join, from its log. */
export function assigned(p: DetectorProcess): number[] {
  const joins = logEntries(p)
    .map((l) => l as { msg?: string; partitions?: number[] })
    .filter((l) => l.msg === 'partitions assigned');
  return joins.at(-1)?.partitions ?? [];
}

/** Stops a detector with SIGTERM, as an orchestrator does; resolves with its exit code. */
export async function stopDetector(p: DetectorProcess): Promise<number | null> {
  p.child.kill('SIGTERM');
  return p.exited;
}
