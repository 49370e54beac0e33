import { lastValueFrom, of } from 'rxjs';
import { checkFrame } from '../../../src/codecs/frame-check';
import { applyThresholds } from '../../../src/operators/apply-thresholds';
import type { Scored } from '../../../src/operators/model-input';
import { createThresholdRegistry } from '../../../src/thresholds/threshold-registry';

const scored = (key: string, score: number, partial = false): Scored<null> =>
  ({
    key,
    score,
    partial,
    contributions: [],
    modelVersion: 'v1',
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
