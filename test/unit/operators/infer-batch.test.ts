import { from, lastValueFrom, toArray } from 'rxjs';
import type { Accepted } from '../../../src/core/kafka-record';
import { inferBatch } from '../../../src/operators/infer-batch';
import { contributionsOf, type ModelInput } from '../../../src/core/model-input';
import { scoreBatch } from '../../../src/inference/scoring';
import { toAnomalyEvent } from '../../../src/codecs/anomaly-events';

/** A model whose score of a frame is the mean of its raw input values (what it was given). */
function meanModel() {
  const seen: number[][] = [];
  const scorer = {
    score: async (x: ArrayLike<number>, n: number) => {
      seen.push(Array.from(x));
      const size = x.length / n;
      const scores = new Float32Array(n);
      for (let f = 0; f < n; f++) {
        let sum = 0;
        for (let i = 0; i < size; i++) sum += x[f * size + i]!;
        scores[f] = sum / size;
      }
      return { scores, top: Array.from({ length: n }, () => []) };
    },
  };
  return { model: { version: '1', scorer } as never, seen };
}

const input = (key: string, data: Float32Array | Uint8Array): ModelInput<unknown> => {
  const last = { value: {}, record: {} } as unknown as Accepted<unknown>;
  return { key, data, last, covered: [last] };
};

describe('inferBatch', () => {
  it('scores image bytes (RAW_U8 pixels) exactly as the same intensities given as floats', async () => {
    const bytes = [new Uint8Array([0, 128, 255, 7]), new Uint8Array([1, 2, 3, 250])];
    const floats = bytes.map((b) => new Float32Array(b));
    const run = async (inputs: ModelInput<unknown>[]) => {
      const { model, seen } = meanModel();
      const out = await lastValueFrom(
        from([inputs]).pipe(
          inferBatch(() => model),
          toArray(),
        ),
      );
      return { scores: out[0]!.map((s) => s.score), x: seen[0]! };
    };
    const a = await run(bytes.map((b, i) => input(`s${i}`, b)));
    const b = await run(floats.map((f, i) => input(`s${i}`, f)));
    expect(a.x).toEqual([0, 128, 255, 7, 1, 2, 3, 250]);
    expect(a.x).toEqual(b.x);
    expect(a.scores).toEqual(b.scores);
    expect(a.scores[0]).toBeCloseTo((0 + 128 + 255 + 7) / 4, 5);
  });

  it('gives each input its own top contributions, as the scorer computes them, in its events', async () => {
    // 3 windows of 2 readings x 3 features; the model rebuilds zeros, so the errors are the inputs squared.
    const windows = [
      [1, 0, 2, 1, 0, 2],
      [0, 3, 0, 0, 3, 1],
      [5, 5, 0, 5, 5, 0],
    ].map((w) => new Float32Array(w));
    const layout = { kind: 'feature', features: 3 } as const;
    const scorer = {
      score: async (x: Float32Array, n: number) =>
        scoreBatch(x, new Float32Array(x.length), n, layout, 'mse', 2),
    };
    const out = await lastValueFrom(
      from([windows.map((w, i) => input(`s${i}`, w))]).pipe(
        inferBatch(() => ({ version: '1', scorer }) as never),
        toArray(),
      ),
    );
    const expected = scoreBatch(
      Float32Array.from(windows.flatMap((w) => [...w])),
      new Float32Array(18),
      3,
      layout,
      'mse',
      2,
    ).top;
    expect(out[0]!.map((s) => contributionsOf(s))).toEqual(expected);
    expect(expected[0]).toEqual([
      { index: 2, error: 4 },
      { index: 0, error: 1 },
    ]);
    // Ties: the lower index first.
    expect(expected[2]).toEqual([
      { index: 0, error: 25 },
      { index: 1, error: 25 },
    ]);
    const judged = { ...out[0]![1]!, threshold: 1, verdict: 'anomaly', probability: 0 } as never;
    const last = { value: { time: 5 }, record: { topic: 't', partition: 0, offset: '9' } };
    Object.assign(judged, { last });
    expect(toAnomalyEvent(judged, 'p').contributions).toEqual([
      { index: 1, error: 9 },
      { index: 2, error: 0.5 },
    ]);
  });
});
