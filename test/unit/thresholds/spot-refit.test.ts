import * as gpd from '../../../src/thresholds/gpd-fit';
import { PotModel } from '../../../src/thresholds/spot-threshold';
import { exponential, pareto, seeded } from './random';

const args = { risk: 1e-3, calibration: 5000, level: 0.98, maxPeaks: 1000 };

/** A POT model over `data` after calibrating on its first 5,000: z_q after every score, GPD fits. */
function run(data: number[], refitShare?: number) {
  const fits = jest.spyOn(gpd, 'fitTruncatedGpd');
  try {
    const pot = refitShare === undefined ? new PotModel(args) : new PotModel(args, refitShare);
    pot.calibrate(data.slice(0, args.calibration));
    const calibrationPeaks = pot.nt;
    const z: number[] = [];
    const verdicts: boolean[] = [];
    for (const x of data.slice(args.calibration)) {
      verdicts.push(pot.judge(x));
      z.push(pot.z);
    }
    return { z, verdicts, newPeaks: pot.nt - calibrationPeaks, fits: fits.mock.calls.length };
  } finally {
    fits.mockRestore();
  }
}

/**
 * SPOT refits the GPD once the kept peaks grew by 1/64, not on every peak (whose cost grew
 * with the peaks kept): the thresholds of a refit on every peak, with a fraction of the fits.
 */
it.each([
  ['exponential', exponential(seeded(41), 35_000)],
  ['Pareto alpha=3', pareto(seeded(42), 35_000, 3)],
])('SPOT refits on %s scores: same thresholds and verdicts, far fewer fits', (_name, scores) => {
  const every = run(scores, 0);
  const strided = run(scores);
  expect(every.newPeaks).toBeGreaterThan(400);
  expect(strided.newPeaks).toBe(every.newPeaks);
  expect(every.fits).toBe(every.newPeaks + 1); // calibration + every new peak
  expect(strided.fits).toBeLessThan(every.newPeaks / 2);
  // z_q's own sampling error from ~500 peaks is tens of percent; skipping refits moves it
  // 0.05-0.2% on average (up to 2% right after a big Pareto peak, until the next refit).
  let worst = 0;
  let sum = 0;
  for (let i = 0; i < every.z.length; i++) {
    const d = Math.abs(strided.z[i]! / every.z[i]! - 1);
    worst = Math.max(worst, d);
    sum += d;
  }
  expect(sum / every.z.length).toBeLessThan(0.005);
  expect(worst).toBeLessThan(0.03);
  const differ = every.verdicts.filter((v, i) => v !== strided.verdicts[i]).length;
  expect(differ).toBeLessThanOrEqual(2);
});
