import type { Threshold, ThresholdResult, ThresholdState } from './threshold';
import { assertFiniteScore } from './threshold';

export interface StaticThresholdArgs {
  value: number;
}

/**
 * A fixed threshold: calibrated from the start, learns nothing. It knows no score
 * distribution, so its probability is only 1 (above) or 0 (at or below).
 *
 * @example
 * const t = new StaticThreshold({ value: 0.4 });
 * t.update(0.5).verdict; // 'anomaly'
 */
export class StaticThreshold implements Threshold {
  readonly kind = 'static';
  readonly calibrated = true;
  private readonly value: number;

  constructor(args: StaticThresholdArgs) {
    if (!(args.value >= 0) || !Number.isFinite(args.value)) {
      throw new RangeError(`static threshold: value must be finite and >= 0, got ${args.value}`);
    }
    this.value = args.value;
  }

  get current(): number {
    return this.value;
  }

  update(score: number): ThresholdResult {
    assertFiniteScore(score);
    const anomaly = score > this.value;
    return {
      threshold: this.value,
      verdict: anomaly ? 'anomaly' : 'normal',
      probability: anomaly ? 1 : 0,
    };
  }

  /** A hand-set value needs no reference scores. */
  prime(): void {}

  /** A hand-set value stays as it is across model versions. */
  rescale(): void {}

  snapshot(): ThresholdState {
    return { kind: this.kind, value: this.value };
  }

  static restore(state: ThresholdState): StaticThreshold {
    return new StaticThreshold({ value: state.value as number });
  }
}
