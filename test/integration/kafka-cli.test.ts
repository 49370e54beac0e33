import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { uniqueName } from '../helpers/names';
import { KAFKA_BROKERS } from '../helpers/stack';

/** `aestream produce` and `aestream consume` as a user runs them, against the real broker. */
describe('aestream produce / consume (real broker)', () => {
  let out: string[];
  let err: string[];
  let dir: string;
  const spies: jest.SpyInstance[] = [];

  beforeEach(() => {
    out = [];
    err = [];
    dir = mkdtempSync(join(tmpdir(), 'aestream-cli-'));
    spies.push(
      jest
        .spyOn(process.stdout, 'write')
        .mockImplementation((s: string | Uint8Array) => out.push(String(s)) > 0),
      jest
        .spyOn(console, 'log')
        .mockImplementation((...a: unknown[]) => void out.push(a.join(' ') + '\n')),
      jest
        .spyOn(console, 'error')
        .mockImplementation((...a: unknown[]) => void err.push(a.join(' '))),
    );
    process.exitCode = undefined;
  });
  afterEach(() => {
    spies.splice(0).forEach((s) => s.mockRestore());
    rmSync(dir, { recursive: true, force: true });
    process.exitCode = undefined;
  });

  it('produces generated frames with their anomaly windows, then prints every one decoded', async () => {
    const topic = uniqueName('kafka-cli');
    const truth = join(dir, 'truth.json');
    await main([
      'node',
      'aestream',
      'produce',
      '-b',
      KAFKA_BROKERS.join(','),
      '-t',
      topic,
      '--synthetic',
      '--sources',
      '2',
      '--length',
      '300',
      '--seed',
      '5',
      '--anomalies',
      truth,
      '--no-progress',
    ]);
    expect(process.exitCode ?? 0).toBe(0);
    expect(out.join('')).toMatch(new RegExp(`produced 600 frames from 2 sources to ${topic}`));
    const windows = JSON.parse(readFileSync(truth, 'utf8')) as Array<{
      source: string;
      kind: string;
    }>;
    expect(windows.length).toBe(8);

    out = [];
    await main([
      'node',
      'aestream',
      'consume',
      '-b',
      KAFKA_BROKERS.join(','),
      '-t',
      topic,
      '--from-beginning',
      '-n',
      '600',
    ]);
    expect(process.exitCode ?? 0).toBe(0);
    const lines = out
      .join('')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            key: string;
            value: { source: string; seq: number; values: number[] };
          },
      );
    expect(lines).toHaveLength(600);
    expect(lines.every((l) => l.key === l.value.source && l.value.values.length === 1)).toBe(true);
    for (const s of ['sensor-0', 'sensor-1']) {
      expect(lines.filter((l) => l.key === s).map((l) => l.value.seq)).toEqual(
        Array.from({ length: 300 }, (_, i) => i),
      );
    }
    expect(err.join('\n')).toContain(`600 records from ${topic}`);
  }, 60_000);

  it('fails with a usage error when the input is ambiguous', async () => {
    await main(['node', 'aestream', 'produce', '-t', 'x', '--synthetic', '-f', 'a.csv']);
    expect(process.exitCode).toBe(1);
    expect(err.join('\n')).toContain(
      'error AE_ERR_CLI_USAGE: give exactly one of --file FILE and --synthetic',
    );
  });
});
