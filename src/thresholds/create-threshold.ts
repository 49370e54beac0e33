import type { ThresholdSpec } from './threshold-config';
import { DspotThreshold } from './dspot-threshold';
import { KSigmaThreshold } from './ksigma-threshold';
import { QuantileThreshold } from './quantile-threshold';
import { SpotThreshold } from './spot-threshold';
import { StaticThreshold } from './static-threshold';
import type { Threshold, ThresholdState } from './threshold';

/**
 * A fresh threshold for a spec (one `kind` of the pipeline's `threshold:`).
 *
 * @example
 * createThreshold({ kind: 'ksigma', k: 4, halfLife: 1000, calibration: 100 });
 */
export function createThreshold(spec: ThresholdSpec): Threshold {
  switch (spec.kind) {
    case 'static':
      return new StaticThreshold({ value: spec.value });
    case 'ksigma':
      return new KSigmaThreshold({
        k: spec.k,
        halfLife: spec.halfLife,
        calibration: spec.calibration,
        maxGrowth: spec.maxGrowth,
      });
    case 'quantile':
      return new QuantileThreshold({
        q: spec.q,
        epsilon: spec.epsilon,
        calibration: spec.calibration,
      });
    case 'spot':
      return new SpotThreshold({
        risk: spec.risk,
        calibration: spec.calibration,
        level: spec.level,
        maxPeaks: spec.maxPeaks,
        maxGrowth: spec.maxGrowth,
      });
    case 'dspot':
      return new DspotThreshold({
        risk: spec.risk,
        calibration: spec.calibration,
        level: spec.level,
        maxPeaks: spec.maxPeaks,
        depth: spec.depth,
        maxGrowth: spec.maxGrowth,
      });
  }
}

/** Rebuilds a threshold from `Threshold.snapshot()`; it gives the same verdicts from then on. */
export function restoreThreshold(state: ThresholdState): Threshold {
  switch (state.kind) {
    case 'static':
      return StaticThreshold.restore(state);
    case 'ksigma':
      return KSigmaThreshold.restore(state);
    case 'quantile':
      return QuantileThreshold.restore(state);
    case 'spot':
      return SpotThreshold.restore(state);
    case 'dspot':
      return DspotThreshold.restore(state);
    default:
      throw new RangeError(`unknown threshold kind in state: ${String(state.kind)}`);
  }
}
