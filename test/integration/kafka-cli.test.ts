import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import { main } from '../../src/cli/main';
import type { SensorFrame, ThresholdCommand } from '../../src/core/records';
import { logger } from '../../src/observability/logger';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/** `aestream produce` and `aestream consume` as a user runs them, against the real broker. */
describe('aestream produce / consume (real broker)', () => {
  let out: string[];
  let err: string[];
  let f: PipelineFixture;
  const spies: jest.SpyInstance[] = [];

  beforeAll(async () => {
    f = await pipelineFixture('cli', { createTopics: false });
  });
  afterAll(() => f?.teardown());

  beforeEach(() => {
    out = [];
    err = [];
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
    process.exitCode = undefined;
  });

  it('produces generated frames with their anomaly windows, then prints every one decoded', async () => {
    const topic = `${f.name}.produced`; // made by produce, deleted by the fixture
    const truth = join(f.dir, 'truth.json');
    await main([
      'node',
      'aestream',
      'produce',
      '-b',
      f.brokers.join(','),
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
      f.brokers.join(','),
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

  it('consume picks each schema from the ae.schema header, starts at --from, stops at -n, and deletes its group', async () => {
    const topic = await f.topic(1, 'mixed');
    const t0 = Date.UTC(2026, 0, 1);
    const frames = createAvroCodec<SensorFrame>('SensorFrame');
    const commands = createAvroCodec<ThresholdCommand>('ThresholdCommand');
    const messages = [0, 1, 2].map((i) => ({
      key: 'pump-1',
      value: frames.encode({
        source: 'pump-1',
        time: t0 + i * 3_600_000,
        values: [i],
        seq: i,
        attributes: {},
      }),
      headers: frames.headers,
      timestamp: t0 + i * 3_600_000,
    }));
    const command: ThresholdCommand = {
      pipeline: 'p',
      key: null,
      action: 'SET',
      parameters: { risk: '1e-5' },
      issuedAt: t0 + 3 * 3_600_000,
      issuedBy: null,
    };
    messages.push({
      key: 'p',
      value: commands.encode(command),
      headers: commands.headers,
      timestamp: t0 + 3 * 3_600_000,
    });
    await f.produce(messages, topic);

    const groups: string[] = [];
    const info = jest.spyOn(logger, 'info').mockImplementation(((fields: unknown) => {
      const group = (fields as { group?: string } | undefined)?.group;
      if (group && !groups.includes(group)) groups.push(group);
    }) as never);
    const consume = async (...args: string[]) => {
      out = [];
      await main(['node', 'aestream', 'consume', '-b', f.brokers.join(','), '-t', topic, ...args]);
      expect(process.exitCode ?? 0).toBe(0);
      return out
        .join('')
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as { offset: unknown; value?: Record<string, unknown>; error?: string },
        );
    };
    try {
      const all = await consume('--from', 'earliest', '-n', '4');
      expect(all.map((l) => l.offset)).toEqual(['0', '1', '2', '3']);
      expect(all.map((l) => l.error)).toEqual([undefined, undefined, undefined, undefined]);
      expect(all[2]!.value).toMatchObject({ source: 'pump-1', seq: 2 });
      expect(all[3]!.value).toEqual(command);

      const later = await consume('--from', new Date(t0 + 90 * 60_000).toISOString(), '-n', '2');
      expect(later.map((l) => l.offset)).toEqual(['2', '3']);
    } finally {
      info.mockRestore();
    }
    expect(groups).toHaveLength(2);
    const left = (await f.admin.listGroups()).groups.map((g) => g.groupId);
    expect(left.filter((g) => groups.includes(g))).toEqual([]);
  }, 60_000);

  it('produce --json prints its summary as one JSON object', async () => {
    const topic = `${f.name}.json`; // made by produce, deleted by the fixture
    await main([
      'node',
      'aestream',
      'produce',
      '-b',
      f.brokers.join(','),
      '-t',
      topic,
      '--synthetic',
      '--sources',
      '2',
      '--length',
      '50',
      '--json',
    ]);
    expect(process.exitCode ?? 0).toBe(0);
    expect(out.join('').trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(out.join(''))).toMatchObject({
      topic,
      frames: 100,
      sources: 2,
      schema: 'SensorFrame',
      wireFormat: 'avro',
      key: 'source',
      interrupted: false,
    });
  });

  it('fails with a usage error when the input is ambiguous', async () => {
    await main(['node', 'aestream', 'produce', '-t', 'x', '--synthetic', '-f', 'a.csv']);
    expect(process.exitCode).toBe(1);
    expect(err.join('\n')).toContain(
      'error AE_ERR_CLI_USAGE: invalid usage: give exactly one of --file FILE and --synthetic',
    );
  });
});
