import type { ActiveModel } from '../../../src/inference/active-model';
import { ModelSlot } from '../../../src/inference/model-slot';
import { Retraining } from '../../../src/retrain/retraining';
import { memoryPipeline } from '../../helpers/pipeline-config';

/** A stand-in model: only what the retrainer reads of it (version, validation loss). */
const model = (version: string, loss: number) =>
  ({
    version,
    stored: { metadata: { validation: { loss } } },
    dispose: async () => undefined,
  }) as unknown as ActiveModel;

describe('Retraining on a model swap', () => {
  it('carries the learned thresholds over to the new model, as the detectors do', async () => {
    const config = memoryPipeline('swaptest', {
      threshold: { kind: 'ksigma', k: 3, calibration: 100 },
    });
    const models = new ModelSlot(model('v1', 0.01));
    const retraining = new Retraining({ config, models, run: {} as never });
    const judge = retraining.judge;
    judge.useModel('v1');
    for (let i = 0; i < 300; i++) judge.apply('pump-1', 0.1 + 0.01 * Math.sin(i));
    // An anomaly changes no threshold state: it only reads the threshold out.
    const before = judge.apply('pump-1', 1e6)!.threshold!;
    retraining.install(model('v2', 0.04), 'test');
    judge.useModel('v2'); // what the first batch scored by v2 does
    const after = judge.apply('pump-1', 1e6)!.threshold!;
    // Not calibrating again from scratch: the same threshold on the new error scale.
    expect(after).toBeCloseTo(before * 4, 9);
    await models.close();
  });
});
