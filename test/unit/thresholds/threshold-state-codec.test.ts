import fc from 'fast-check';
import { AeError, ErrorCodes } from '../../../src/core/errors';
import { createThreshold, restoreThreshold } from '../../../src/thresholds/create-threshold';
import type { ThresholdSpec } from '../../../src/thresholds/threshold-config';
import {
  decodeThresholdState,
  encodeThresholdState,
} from '../../../src/thresholds/threshold-state-codec';
import { exponential, seeded } from './random';

const specs: ThresholdSpec[] = [
  { kind: 'static', value: 3 },
  { kind: 'ksigma', k: 4, halfLife: 500, calibration: 200 },
  { kind: 'quantile', q: 0.99, epsilon: 0.001, calibration: 500 },
  { kind: 'spot', risk: 1e-3, calibration: 500, level: 0.95, maxPeaks: 200 },
  { kind: 'dspot', risk: 1e-3, calibration: 500, level: 0.95, maxPeaks: 200, depth: 20 },
];

describe('binary threshold state', () => {
  it.each(specs.map((s) => [s.kind, s] as const))(
    '%s: restores to identical decisions, from calibration on, and is smaller than JSON',
    (_kind, spec) => {
      const data = exponential(seeded(31), 2400).map((x, i) => (i % 89 === 0 ? x + 20 : x));
      for (const cut of [0, 150, 800, 1600]) {
        const original = createThreshold(spec);
        data.slice(0, cut).forEach((x) => original.update(x));
        const state = original.snapshot();
        const bytes = encodeThresholdState(state);
        expect(decodeThresholdState(bytes)).toEqual(JSON.parse(JSON.stringify(state)));
        const json = JSON.stringify(state).length;
        expect(bytes.length).toBeLessThan(json);
        if (cut >= 800 && !['static', 'ksigma'].includes(spec.kind))
          expect(bytes.length).toBeLessThan(0.6 * json);
        const restored = restoreThreshold(decodeThresholdState(bytes));
        const rest = data.slice(cut);
        expect(rest.map((x) => restored.update(x))).toEqual(rest.map((x) => original.update(x)));
      }
    },
  );

  it('round-trips any JSON-like state, every double bit for bit', () => {
    const leaf = fc.oneof(
      fc.double(),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.double()),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node')),
        fc.dictionary(fc.string(), tie('node')),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value), (fields) => {
        const state = { ...fields, kind: 'any' };
        // toEqual tells -0 from 0 (Object.is); fast-check's dictionaries may lack a prototype.
        expect(decodeThresholdState(encodeThresholdState(state))).toEqual(state);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps -0, NaN and the infinities that JSON would lose', () => {
    const state = {
      kind: 'x',
      xs: [-0, NaN, Infinity, -Infinity, 5e-324],
      y: -Infinity,
      ints: [0, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -0],
    };
    expect(decodeThresholdState(encodeThresholdState(state))).toStrictEqual(state);
  });

  it('grows past its scratch buffer for large states', () => {
    const peaks = Array.from({ length: 20_000 }, (_, i) => i / 7);
    const state = { kind: 'spot', pot: { peaks, caps: peaks.map((p) => -p) } };
    const bytes = encodeThresholdState(state);
    expect(bytes.length).toBeGreaterThan(2 * 8 * 20_000);
    expect(decodeThresholdState(bytes)).toEqual(state);
  });

  it('refuses bytes that are not a state with AE_ERR_THRESHOLD_STATE', () => {
    const good = encodeThresholdState({ kind: 'static', value: 0.4 });
    const bad = [
      Buffer.alloc(0),
      Buffer.from([2, ...good.subarray(1)]), // another version
      good.subarray(0, good.length - 3), // truncated
      Buffer.concat([good, Buffer.from([0])]), // trailing bytes
      Buffer.from([1, 9]), // unknown tag
      Buffer.from([1, 3, 0, 0, 0, 0, 0, 0, 0, 0]), // a number, not a state
      Buffer.from([1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f]), // a length beyond the bytes
    ];
    for (const bytes of bad) {
      let error: unknown;
      try {
        decodeThresholdState(bytes);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AeError);
      expect((error as AeError).code).toBe(ErrorCodes.THRESHOLD_STATE);
    }
  });
});
