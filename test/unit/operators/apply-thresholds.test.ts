import { lastValueFrom, of } from 'rxjs';
import { checkFrame } from '../../../src/operators/frame-check';
import { applyThresholds } from '../../../src/operators/apply-thresholds';
import type { Scored } from '../../../src/core/model-input';
import { ModelAwareJudge } from '../../../src/thresholds/model-aware-judge';
import { createThresholdRegistry } from '../../../src/thresholds/threshold-registry';

const scored = (key: string, score: number, partial = false, modelVersion = 'v1'): Scored<null> =>
  ({
    key,
    score,
    partial,
    contributions: [],
    modelVersion,
    data: new Float32Array(1),
    last: null,
    covered: [],
  }) as never;

describe('applyThresholds', () => {
  const registry = () =>
    createThresholdRegistry({
      kind: 'static',
      value: 1,
      perKey: true,
      warmup: 'suppress',
      overrides: {},
    });

  it('judges scores against the key threshold and leaves partial windows unjudged', async () => {
    const judged = await lastValueFrom(
      of([scored('a', 0.5), scored('a', 2), scored('a', 5, true)]).pipe(applyThresholds(registry)),
    );
    expect(judged.map((j) => [j.verdict, j.threshold])).toEqual([
      ['normal', 1],
      ['anomaly', 1],
      ['warming-up', null],
    ]);
  });

  it('turns an overflowing score into an anomaly with a writable score instead of ending the stream', async () => {
    const judged = await lastValueFrom(
      of([scored('a', Infinity), scored('a', NaN), scored('a', 0.5)]).pipe(
        applyThresholds(registry),
      ),
    );
    expect(judged.map((j) => j.verdict)).toEqual(['anomaly', 'anomaly', 'normal']);
    expect(judged[0].score).toBe(Number.MAX_VALUE);
    expect(judged[1].probability).toBe(1);
  });
});

describe('thresholds across a model swap', () => {
  it('carry over to the new model at its first batch: by the ratio of validation losses, not calibrated again', async () => {
    const registry = createThresholdRegistry({
      kind: 'ksigma',
      k: 3,
      halfLife: 1000,
      calibration: 20,
      perKey: true,
      warmup: 'suppress',
      overrides: {},
    });
    const rescaled: Array<[string, string, number]> = [];
    const judge = new ModelAwareJudge(registry, 'mse', (from, to, factor) =>
      rescaled.push([from, to, factor]),
    );
    judge.addModel('v1', 0.01);
    judge.addModel('v2', 0.04); // the new model's errors are four times as large
    const calibration = Array.from({ length: 20 }, (_, i) => scored('a', 1 + (i % 5) * 0.01));
    const v1 = await lastValueFrom(
      of(calibration, [scored('a', 1.02), scored('a', 1.5)]).pipe(applyThresholds(() => judge)),
    );
    expect(v1.map((j) => j.verdict)).toEqual(['normal', 'anomaly']);
    const before = registry.current('a')!;
    expect(rescaled).toEqual([]);

    // The first v2 batch is judged with the carried-over threshold: no warm-up, same verdicts
    // on scores four times as large.
    const v2 = await lastValueFrom(
      of([scored('a', 4 * 1.02, false, 'v2'), scored('a', 4 * 1.5, false, 'v2')]).pipe(
        applyThresholds(() => judge),
      ),
    );
    expect(rescaled).toEqual([['v1', 'v2', 4]]);
    expect(v2.map((j) => j.verdict)).toEqual(['normal', 'anomaly']);
    expect(v2[0]!.threshold).toBeCloseTo(4 * before, 9);
  });

  it('keeps thresholds as they are when a version has no validation loss', async () => {
    const registry = createThresholdRegistry({
      kind: 'ksigma',
      k: 3,
      halfLife: 1000,
      calibration: 20,
      perKey: true,
      warmup: 'suppress',
      overrides: {},
    });
    const judge = new ModelAwareJudge(registry, 'mae');
    judge.addModel('v1', 0.01);
    judge.addModel('v2', Number.NaN);
    await lastValueFrom(
      of(Array.from({ length: 21 }, (_, i) => scored('a', 1 + (i % 5) * 0.01))).pipe(
        applyThresholds(() => judge),
      ),
    );
    const before = registry.current('a');
    await lastValueFrom(of([scored('a', 1, false, 'v2')]).pipe(applyThresholds(() => judge)));
    expect(registry.current('a')).toBeCloseTo(before!, 2);
  });
});

describe('checkFrame', () => {
  const config = { kind: 'sensor' as const, features: 1, window: 4, stride: 1, pad: true };
  it('refuses readings so large that their reconstruction error would overflow', () => {
    const err = checkFrame(
      { source: 's', time: 0, values: [1e300], seq: null, attributes: {} },
      config,
    );
    expect(err?.code).toBe('AE_ERR_NON_FINITE');
    expect(err?.message).toContain('values[0] is 1e+300, beyond +-1e+100');
    expect(
      checkFrame({ source: 's', time: 0, values: [1e99], seq: null, attributes: {} }, config),
    ).toBeUndefined();
  });
});
