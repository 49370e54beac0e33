import {
  AeError,
  ConfigError,
  ErrorCodes,
  ErrorMessages,
  formatError,
  type ErrorCode,
} from '../../../src/core/errors';

const codes = Object.values(ErrorCodes) as ErrorCode[];

describe('the message table', () => {
  it('has a template for every code and none for a code that does not exist', () => {
    expect(Object.keys(ErrorMessages).sort()).toEqual([...codes].sort());
  });

  it.each(codes)(
    '%s renders its detail into words of its own, with no placeholder left',
    (code) => {
      const message = new AeError(code, 'DETAIL-42').message;
      expect(message).toContain('DETAIL-42');
      expect(message).not.toMatch(/\{\w+\}/);
      // The table owns the wording: the message says more than the detail it was given.
      expect(message.replace('DETAIL-42', '').replace(/[\s:()]/g, '').length).toBeGreaterThan(5);
    },
  );

  it('gives each code its own wording, so a message alone tells the failures apart', () => {
    const words = codes.map((c) => formatError(c, { detail: '' }));
    expect(new Set(words).size).toBe(codes.length);
  });

  it('keeps the detail apart from the message, for a caller that words it again', () => {
    const err = new AeError(ErrorCodes.FRAME_SHAPE, 'expected 3 values per reading, got 2');
    expect(err.message).toBe('wrong frame shape: expected 3 values per reading, got 2');
    expect(err.detail).toBe('expected 3 values per reading, got 2');
  });

  it('fills a template where it puts the detail, not only at its end', () => {
    expect(new AeError(ErrorCodes.INFLUX_AUTH, '401').message).toBe(
      'InfluxDB refused the credentials (401): check output.influx.username and password/passwordFile',
    );
  });

  it('words a configuration error by its code, with every problem on its own line', () => {
    const err = new ConfigError(ErrorCodes.CONFIG_INVALID, 'p.yaml', [
      { path: 'frame.window', message: 'too small' },
      { path: '', message: 'odd' },
    ]);
    expect(err.message).toBe(
      'invalid configuration: p.yaml: 2 problems\n  frame.window: too small\n  (root): odd',
    );
  });
});
