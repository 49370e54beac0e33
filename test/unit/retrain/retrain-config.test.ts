import { retrainSchema } from '../../../src/retrain/retrain-config';

describe('retrain config', () => {
  it('has working defaults, drift on or off', () => {
    const plain = retrainSchema.parse({});
    expect(plain.trigger).toEqual({ everyFrames: 50000, drift: false });
    const drift = retrainSchema.parse({ trigger: { drift: true } });
    expect(drift.drift).toMatchObject({ window: 1000, checkEvery: 200, sustain: 5, alpha: 0.001 });
    expect(drift.accept).toEqual({ tolerance: 0.1, recentQuantile: 0.995, rateSlack: 0.02 });
  });

  it('refuses a drift test whose sustained run does not fit its recent window', () => {
    const r = retrainSchema.safeParse({
      trigger: { drift: true },
      drift: { window: 300, checkEvery: 100, sustain: 5 },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(
      /sustain × drift.checkEvery \(500\) must be ≤ drift.window \(300\)/,
    );
  });

  it('refuses a drift test that would never have minSamples frames to train on', () => {
    const r = retrainSchema.safeParse({
      trigger: { drift: true },
      drift: { window: 300, checkEvery: 20, sustain: 5 },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(
      /trains on 90 frames .* fewer than retrain.minSamples \(200\)/,
    );
  });
});
