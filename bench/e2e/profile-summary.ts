import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProfileSummary {
  file: string;
  sampledSeconds: number;
  /** Self time by area (library, or our file), largest first. */
  areas: Array<{ area: string; percent: number }>;
  /** The heaviest functions by self time. */
  top: Array<{ fn: string; percent: number }>;
}

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame of the profile belongs: a library, one of our files, or a V8 pseudo-frame. */
function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const lib = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (lib) return lib[1];
  const ours = /\/dist\/(.+)\.js$/.exec(url);
  if (ours) return ours[1];
  if (url.startsWith('node:')) return url;
  return url.replace(/^.*\//, '');
}

/**
 * Summarizes the newest .cpuprofile in `dir` (written by `node --cpu-prof`): self time
 * per area and the top functions.
 *
 * @example summarizeProfile('/tmp/prof').areas[0] // { area: '@tensorflow/tfjs-backend-wasm', percent: 31.2 }
 */
export function summarizeProfile(dir: string): ProfileSummary {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const file = join(dir, files[files.length - 1]);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  });
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    const area = areaOf(cf.url, cf.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn = `${cf.functionName || '(anonymous)'} ${area}:${cf.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>, n: number) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return {
    file,
    sampledSeconds: total / 1e6,
    areas: sorted(areas, 20).map(([area, us]) => ({ area, percent: (100 * us) / total })),
    top: sorted(fns, 25).map(([fn, us]) => ({ fn, percent: (100 * us) / total })),
  };
}
