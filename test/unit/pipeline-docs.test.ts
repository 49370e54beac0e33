import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  deprecatedFieldsUsed,
  referenceIn,
  renderPipelineReference,
  withReference,
} from '../../src/config/pipeline-docs';
import { pipelineSchema } from '../../src/config/pipeline-schema';

const root = resolve(__dirname, '..', '..');
const sensors = () => parse(readFileSync(join(root, 'pipelines', 'sensors.yaml'), 'utf8'));

/** Every `description` text in the pipeline's JSON Schema. */
function descriptions(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => descriptions(n, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'description' && typeof v === 'string') out.add(v);
      else descriptions(v, out);
    }
  }
  return out;
}

describe('pipeline-file reference', () => {
  it('in README.md is what the schemas generate (regenerate with: npm run docs)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(referenceIn(readme)).toBe(renderPipelineReference());
  });

  it('shows every description of the schema, and a row for every field', () => {
    const reference = renderPipelineReference();
    const json = z.toJSONSchema(pipelineSchema, { io: 'input', unrepresentable: 'any' });
    const texts = [...descriptions(json)];
    expect(texts.length).toBeGreaterThan(100);
    for (const text of texts) expect(reference).toContain(text.replace(/\|/g, '\\|'));
    for (const path of [
      'input.kafka.sasl.mechanism',
      'frame.window',
      'frame.channels',
      'model.hidden',
      'model.train.epochs',
      'threshold.risk',
      'output.latent.influx',
      'retrain.accept.rateSlack',
    ]) {
      expect(reference).toContain(`| \`${path}\` |`);
    }
  });

  it('gives types, defaults and required keys as a file is written', () => {
    const reference = renderPipelineReference();
    const row = (path: string) =>
      reference.split('\n').find((l) => l.startsWith(`| \`${path}\` |`));
    expect(row('input.kafka.maxInFlight')).toMatch(/\| integer in \[1, 1000000\] \| `3000` \|/);
    expect(row('input.kafka.topic')).toMatch(/\| string \| required \|/);
    expect(row('model.engine')).toMatch(/\| `auto`, `tfjs`, `onnx` \| `auto` \|/);
    expect(row('model.hidden')).toMatch(/\| `\[32, 8\]` \|/);
    expect(reference).toMatch(/`threshold\.kind` \(required\) is one of `static`, `ksigma`/);
    expect(reference).toContain('With `kind: spot`:');
  });

  it('marks output.influx.flushMs deprecated', () => {
    const row = renderPipelineReference()
      .split('\n')
      .find((l) => l.startsWith('| `output.influx.flushMs` |'));
    expect(row).toContain('**Deprecated.** No longer used');
  });

  it('replaces only the text between the markers', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const other = withReference(readme, 'something else\n');
    expect(referenceIn(other)).toBe('something else\n');
    expect(withReference(other, renderPipelineReference())).toBe(
      withReference(readme, renderPipelineReference()),
    );
    expect(() => withReference('# no markers', 'x')).toThrow(/markers/);
  });
});

describe('deprecatedFieldsUsed', () => {
  it('names output.influx.flushMs when a file sets it, and nothing otherwise', () => {
    const file = sensors();
    expect(deprecatedFieldsUsed(file)).toEqual([]);
    file.output.influx = { url: 'http://127.0.0.1:8086', flushMs: 1000 };
    expect(deprecatedFieldsUsed(file)).toEqual([
      {
        path: 'output.influx.flushMs',
        message: expect.stringMatching(/^deprecated: No longer used/),
      },
    ]);
  });

  it('ignores values that are not objects where the schema has sections', () => {
    expect(deprecatedFieldsUsed(null)).toEqual([]);
    expect(deprecatedFieldsUsed({ output: 'x', frame: [1] })).toEqual([]);
  });
});
