import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { runMain } from '../helpers/cli-process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  INFLUX_URL_SETTING,
  KAFKA_BROKERS_SETTING,
  parsePosition,
  settingOrigin,
} from '../../src/cli/options';

describe('parsePosition (--from / --to of consume and replay)', () => {
  const now = Date.UTC(2026, 5, 1, 12, 0, 0);

  it.each([
    ['-90s', 90_000],
    ['-15m', 15 * 60_000],
    ['-1h', 3_600_000],
    ['-1.5h', 5_400_000],
    ['-2d', 2 * 86_400_000],
    ['-1w', 7 * 86_400_000],
  ])('%s is that long before now', (text, back) => {
    expect(parsePosition(text, '--from', now)).toEqual({
      kind: 'time',
      ms: now - back,
      text: new Date(now - back).toISOString(),
    });
  });

  it('keeps the absolute forms', () => {
    expect(parsePosition('earliest', '--from', now)).toEqual({ kind: 'earliest' });
    expect(parsePosition('latest', '--from', now)).toEqual({ kind: 'latest' });
    expect(parsePosition('2026-01-01T00:00:00Z', '--from', now)).toMatchObject({
      kind: 'time',
      ms: Date.UTC(2026, 0, 1),
    });
    expect(parsePosition('0:10,1:20', '--to', now)).toMatchObject({ kind: 'offsets' });
  });

  it('names the option and every form it takes, relative times included', () => {
    expect(() => parsePosition('-1y', '--to', now)).toThrow(
      /--to '-1y': expected an ISO time .*, or a time back from now \(-30m, -1h, -2d\)/,
    );
  });
});

describe('command help', () => {
  function everyCommand(command: Command): Command[] {
    return [command, ...command.commands.flatMap(everyCommand)];
  }

  it('states each default once', () => {
    for (const command of everyCommand(buildProgram())) {
      const help = command.helpInformation().replace(/\s+/g, ' ');
      expect({
        command: command.name(),
        twice: /\(default:[^)]*\) \(default:/.exec(help)?.[0],
      }).toEqual({
        command: command.name(),
        twice: undefined,
      });
    }
  });
});

describe('replay --from', () => {
  it('takes a time back from now, and names that form when a value does not parse', async () => {
    const r = await runMain('replay', '-p', 'pipelines/sensors.yaml', '--from', '-1y');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /error AE_ERR_REPLAY_RANGE: invalid replay range: --from '-1y': .*, or a time back from now \(-30m, -1h, -2d\)/,
    );
  });
});

describe('settingOrigin (where the brokers or InfluxDB of a failed command came from)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aestream-origin-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const fromEnv = file(
    'env.yaml',
    "input:\n  kafka: { brokers: '${KAFKA_BROKERS:127.0.0.1:9092}' }\n" +
      "output:\n  influx: { url: '${INFLUX_URL:http://127.0.0.1:8086}' }\n",
  );
  const literal = file('literal.yaml', 'input:\n  kafka: { brokers: kafka-1:9092 }\n');

  it('names the flag first', () => {
    const opts = { brokers: 'x:1', pipeline: fromEnv };
    expect(settingOrigin(opts, KAFKA_BROKERS_SETTING, { KAFKA_BROKERS: 'y:2' })).toBe('--brokers');
  });

  it("names the variable a pipeline file reads, or the file's default when it is unset", () => {
    const opts = { pipeline: fromEnv };
    expect(settingOrigin(opts, KAFKA_BROKERS_SETTING, { KAFKA_BROKERS: 'y:2' })).toBe(
      `KAFKA_BROKERS, read by input.kafka.brokers of ${fromEnv}`,
    );
    expect(settingOrigin(opts, KAFKA_BROKERS_SETTING, {})).toBe(
      `the default of input.kafka.brokers of ${fromEnv} (KAFKA_BROKERS is not set)`,
    );
    expect(settingOrigin(opts, INFLUX_URL_SETTING, {})).toBe(
      `the default of output.influx.url of ${fromEnv} (INFLUX_URL is not set)`,
    );
  });

  it('names the field of a file that writes the address itself', () => {
    expect(
      settingOrigin({ pipeline: literal }, KAFKA_BROKERS_SETTING, { KAFKA_BROKERS: 'y:2' }),
    ).toBe(`input.kafka.brokers of ${literal}`);
  });

  it('without flag or file: the variable, or the built-in default', () => {
    expect(settingOrigin({}, KAFKA_BROKERS_SETTING, { KAFKA_BROKERS: 'y:2' })).toBe(
      'KAFKA_BROKERS',
    );
    expect(settingOrigin({}, KAFKA_BROKERS_SETTING, {})).toBe(
      'the default (KAFKA_BROKERS is not set)',
    );
  });
});
