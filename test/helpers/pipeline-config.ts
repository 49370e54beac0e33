import { stringify } from 'yaml';
import { parsePipeline } from '../../src/config/load-pipeline';
import type { PipelineConfig } from '../../src/config/pipeline-schema';

/** Sections of a pipeline file, as objects; merged into defaults. */
export type PipelineOverrides = Record<string, unknown>;

function isPlain(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `over` merged into `base`: objects key by key, null removes a key, another `kind` replaces. */
export function merge(base: unknown, over: unknown): unknown {
  if (!isPlain(base) || !isPlain(over)) return over;
  if (over.kind !== undefined && over.kind !== base.kind) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = merge(base[k], v);
  }
  return out;
}

/**
 * The pipeline of a test that runs no Kafka: a one-feature sensor pipeline named `name`
 * (window 8, a static threshold of 1, no outputs) with `overrides` merged in.
 *
 * @example const config = memoryPipeline('flowtest', { frame: { features: 2, window: 4 } });
 */
export function memoryPipeline(name: string, overrides: PipelineOverrides = {}): PipelineConfig {
  const defaults = {
    name,
    input: {
      kafka: { brokers: '127.0.0.1:9092', topic: `${name}.frames`, group: 'g' },
      schema: 'schemas/sensor-frame.avsc',
    },
    frame: { kind: 'sensor', features: 1, window: 8, stride: 1 },
    model: { kind: 'dense-ae', hidden: [3], store: `./models/${name}` },
    threshold: { kind: 'static', value: 1.0 },
    output: {},
  };
  return parsePipeline(stringify(merge(defaults, overrides)), `${name}.yaml`, {
    env: {},
    baseDir: process.cwd(),
  });
}
