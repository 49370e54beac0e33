import type { Command } from 'commander';
import { buildProgram, main } from '../../../src/cli/main';
import { logger, prettyLogLine } from '../../../src/observability/logger';

describe('pretty log lines', () => {
  const at = new Date(2026, 0, 2, 3, 4, 5, 67).getTime(); // local time, as the line shows it

  it('shows local time, level, message and the other fields as key=value', () => {
    const line = JSON.stringify({
      level: 30,
      time: at,
      pid: 1,
      hostname: 'h',
      name: 'aestream',
      msg: 'partitions assigned',
      topic: 'sensors.frames',
      partitions: [0, 2],
      note: 'two words',
    });
    expect(prettyLogLine(line + '\n', false)).toBe(
      '03:04:05.067 INFO  partitions assigned  topic=sensors.frames partitions=[0,2] note="two words"\n',
    );
  });

  it('shows an error field by its message and colours warnings only when asked to', () => {
    const line = JSON.stringify({
      level: 40,
      time: at,
      msg: 'sink down',
      err: { type: 'Error', message: 'connect ECONNREFUSED', stack: 'Error: ...' },
    });
    expect(prettyLogLine(line, false)).toBe(
      '03:04:05.067 WARN  sink down  err="connect ECONNREFUSED"\n',
    );
    expect(prettyLogLine(line, true)).toContain('\x1b[33mWARN \x1b[0m');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(prettyLogLine('plain text\n', false)).toBe('plain text\n');
  });
});

describe('logging options on the command line', () => {
  function everyCommand(command: Command): Command[] {
    return [command, ...command.commands.flatMap(everyCommand)];
  }

  it('every command lists --log-format, --log-level and the environment variables in its help', () => {
    for (const command of everyCommand(buildProgram())) {
      const help: string[] = [];
      command.configureOutput({ writeOut: (s) => help.push(s) });
      command.outputHelp();
      const shown = help.join('');
      const has = (text: string) => ({
        command: command.name(),
        text,
        shown: shown.includes(text),
      });
      expect(has('--log-format <format>')).toEqual({
        ...has('--log-format <format>'),
        shown: true,
      });
      expect(has('--log-level <level>')).toEqual({ ...has('--log-level <level>'), shown: true });
      expect(has('AESTREAM_LOG_LEVEL')).toEqual({ ...has('AESTREAM_LOG_LEVEL'), shown: true });
      expect(has('AESTREAM_DEBUG')).toEqual({ ...has('AESTREAM_DEBUG'), shown: true });
    }
  });

  it('--log-level after the command name sets the level of the process logger', async () => {
    const before = logger.level;
    const out = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await main(['node', 'aestream', 'lint', '--log-level', 'debug', 'pipelines/sensors.yaml']);
      expect(process.exitCode ?? 0).toBe(0);
      expect(logger.level).toBe('debug');
    } finally {
      logger.level = before;
      out.mockRestore();
      process.exitCode = undefined;
    }
  });

  it('refuses a format it does not know, naming the choices', async () => {
    const err: string[] = [];
    const spy = jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((s: string | Uint8Array) => err.push(String(s)) > 0);
    try {
      await main(['node', 'aestream', 'lint', '--log-format', 'xml', 'pipelines/sensors.yaml']);
      expect(process.exitCode).toBe(1);
      expect(err.join('')).toMatch(/--log-format.*xml.*json, pretty|json.*pretty/s);
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
    }
  });
});

describe('logging variables', () => {
  /** Runs `aestream lint` with a fresh logger module that reads `env`; returns code and stderr. */
  async function lintWith(env: Record<string, string>): Promise<{ code: number; err: string }> {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    const err: string[] = [];
    const spies = [
      jest.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' '))),
      jest.spyOn(console, 'log').mockImplementation(() => undefined),
    ];
    try {
      let run: typeof main = main;
      jest.isolateModules(() => {
        run = (jest.requireActual('../../../src/cli/main') as { main: typeof main }).main;
      });
      process.exitCode = undefined;
      await run(['node', 'aestream', 'lint', 'pipelines/sensors.yaml']);
      return { code: Number(process.exitCode ?? 0), err: err.join('\n') };
    } finally {
      process.env = saved;
      process.exitCode = undefined;
      spies.forEach((s) => s.mockRestore());
    }
  }

  it('a level the logger does not know is a usage error naming the variable and the levels', async () => {
    const r = await lintWith({ AESTREAM_LOG_LEVEL: 'verbose' });
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'error AE_ERR_CLI_USAGE: invalid usage: AESTREAM_LOG_LEVEL=verbose is not a log level: use one of fatal, error, warn, info, debug, trace, silent',
    );
  });

  it('so is a format other than json and pretty', async () => {
    const r = await lintWith({ AESTREAM_LOG_FORMAT: 'xml' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('AESTREAM_LOG_FORMAT=xml is not a log format: use json or pretty');
  });
});
