/** NAB's application profiles (config/profiles.json upstream): the weight of each outcome. */
export interface NabProfile {
  readonly name: NabProfileName;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
}

export type NabProfileName = 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';

export const NAB_PROFILES: readonly NabProfile[] = Object.freeze([
  { name: 'standard', tp: 1.0, fp: 0.11, fn: 1.0, tn: 1.0 },
  { name: 'reward_low_FP_rate', tp: 1.0, fp: 0.22, fn: 1.0, tn: 1.0 },
  { name: 'reward_low_FN_rate', tp: 1.0, fp: 0.11, fn: 2.0, tn: 1.0 },
] as const);

export function nabProfile(name: NabProfileName): NabProfile {
  return NAB_PROFILES.find((p) => p.name === name)!;
}
