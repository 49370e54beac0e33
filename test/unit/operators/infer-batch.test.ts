import { from, lastValueFrom, toArray } from 'rxjs';
import type { Accepted } from '../../../src/core/kafka-record';
import { inferBatch } from '../../../src/operators/infer-batch';
import type { ModelInput } from '../../../src/core/model-input';

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
});
