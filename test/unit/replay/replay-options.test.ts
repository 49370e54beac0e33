import { writeFileSync } from 'node:fs';

import { join } from 'node:path';
import {
  formatSummary,
  parseModelVersion,
  parseRate,
  readThresholdOverride,
} from '../../../src/cli/replay';
import { ConfigError } from '../../../src/core/errors';
import { asThresholdOverride, thresholdWithOverride } from '../../../src/replay/threshold-override';
import { newRunId } from '../../../src/replay/replay-plan';
import { memoryPipeline } from '../../helpers/pipeline-config';
import { tempDir } from '../../helpers/temp-dir';

const config = memoryPipeline('rp', {
  model: { hidden: [4] },
  threshold: {
    kind: 'spot',
    risk: 1.0e-4,
    calibration: 500,
    perKey: false,
    overrides: { 'pump-7': { kind: 'static', value: 0.4 } },
  },
});

describe('replay threshold overrides', () => {
  it('merges keys of the same kind and keeps the rest of the section', () => {
    expect(thresholdWithOverride(config.threshold, { risk: 1e-3 })).toMatchObject({
      kind: 'spot',
      risk: 1e-3,
      calibration: 500,
      perKey: false,
      overrides: { 'pump-7': { kind: 'static', value: 0.4 } },
    });
  });

  it('another kind replaces the spec (with its own defaults) but keeps perKey and overrides', () => {
    const t = thresholdWithOverride(config.threshold, { kind: 'ksigma', k: 3 });
    expect(t).toMatchObject({
      kind: 'ksigma',
      k: 3,
      halfLife: 1000,
      calibration: 100,
      perKey: false,
      warmup: 'suppress',
      overrides: { 'pump-7': { kind: 'static', value: 0.4 } },
    });
    for (const key of ['risk', 'level', 'maxPeaks']) expect(t).not.toHaveProperty(key);
  });

  it('refuses invalid overrides naming the field', () => {
    expect(() => thresholdWithOverride(config.threshold, { risk: 2 }, 'o.yaml')).toThrow(
      /o\.yaml.*\n.*threshold\.risk/,
    );
    expect(() => thresholdWithOverride(config.threshold, { riks: 0.1 })).toThrow(
      /unknown key riks/,
    );
    expect(() => asThresholdOverride([1, 2], 'x.yaml')).toThrow(ConfigError);
  });

  it('reads the override from a file or inline YAML, and says when it is neither', () => {
    const dir = tempDir('replay-opts-');
    writeFileSync(join(dir, 't.yaml'), 'kind: static\nvalue: 0.25\n');
    expect(readThresholdOverride(join(dir, 't.yaml')).doc).toEqual({ kind: 'static', value: 0.25 });
    expect(readThresholdOverride('{ risk: 1.0e-3 }').doc).toEqual({ risk: 1e-3 });
    expect(() => readThresholdOverride(join(dir, 'missing.yaml'))).toThrow(/no such file/);
  });
});

describe('replay options', () => {
  it('parses rates and model versions, refusing nonsense with a usage error', () => {
    expect(parseRate('max')).toBeNull();
    expect(parseRate('500')).toBe(500);
    expect(parseRate('2.5/s')).toBe(2.5);
    expect(() => parseRate('fast')).toThrow(/--rate/);
    expect(() => parseRate('0')).toThrow(/--rate/);
    expect(parseModelVersion('v000003')).toBe(3);
    expect(parseModelVersion('7')).toBe(7);
    expect(() => parseModelVersion('latest')).toThrow(/--model/);
  });

  it('run ids are distinct and safe in group names and tags', () => {
    const a = newRunId(new Date(Date.UTC(2026, 10, 27, 14, 30, 5)));
    expect(a).toMatch(/^r20261127T143005Z-[0-9a-f]{4}$/);
    expect(newRunId()).not.toBe(newRunId());
  });

  it('the summary names the run, range, counts by reason, threshold start and throughput', () => {
    const text = formatSummary({
      runId: 'r1',
      pipeline: 'rp',
      topic: 'rp.frames',
      from: 'earliest',
      to: 'now',
      ranges: [
        { partition: 0, start: 0, end: 10 },
        { partition: 1, start: 3, end: 3 },
      ],
      frames: 10,
      warmup: 40,
      scored: 9,
      anomalies: 2,
      dlq: { AE_ERR_AVRO_DECODE: 1 },
      durationMs: 2000,
      framesPerSecond: 5,
      model: 'v000002',
      engine: 'onnx',
      thresholdStart: 'fresh',
      outTopic: 'rp.anomalies.replay',
      dlqTopic: 'rp.dlq.replay',
      influx: null,
    });
    expect(text).toContain('rp.frames from earliest to now');
    expect(text).toContain('0:[0,10) 1:[3,3)');
    expect(text).toContain('10 (9 scored, 1 dead letters), after 40 warm-up frames');
    expect(text).toContain('AE_ERR_AVRO_DECODE 1 to rp.dlq.replay');
    expect(text).toContain('v000002 on onnx');
    expect(text).toContain('5 frames/s');
  });
});
