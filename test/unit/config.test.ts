import { readFileSync, writeFileSync } from 'node:fs';

import { join, resolve } from 'node:path';
import { loadPipeline, parsePipeline } from '../../src/config/load-pipeline';
import { ConfigError, ErrorCodes } from '../../src/core/errors';
import { tempDir } from '../helpers/temp-dir';

const root = resolve(__dirname, '..', '..');
const sensorsText = readFileSync(join(root, 'pipelines', 'sensors.yaml'), 'utf8');

/** Parses text as a pipeline file from the repository root, with the given env. */
function parse(text: string, env: NodeJS.ProcessEnv = {}) {
  return parsePipeline(text, 'test.yaml', { env, baseDir: root });
}

/** The problems a ConfigError lists, as "path: message" lines. */
function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parse(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected the pipeline to be refused');
}

describe('example pipelines', () => {
  it.each(['sensors.yaml', 'images.yaml'])('%s is valid and gets its defaults', (file) => {
    const config = loadPipeline(join(root, 'pipelines', file), { env: {}, baseDir: root });
    expect(config.input.kafka.brokers).toBe('127.0.0.1:9092');
    expect(config.output.influx?.url).toBe('http://127.0.0.1:8086');
    expect(config.input.kafka.clientId).toBe('aestream');
    expect(config.retrain.epochs).toBeGreaterThan(0);
  });

  it('is frozen, nested objects included', () => {
    const config = parse(sensorsText);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.frame)).toBe(true);
    expect(() => {
      (config.frame as { window: number }).window = 1;
    }).toThrow(TypeError);
  });

  it('names the default anomaly and dead-letter topics after the pipeline', () => {
    const text = sensorsText
      .replace(/^ {2}kafka: \{ topic: sensors\.anomalies \}\n/m, '')
      .replace(/^ {2}dlq: \{ topic: sensors\.dlq \}\n/m, '');
    const config = parse(text);
    expect(config.output.kafka.topic).toBe('sensors.anomalies');
    expect(config.output.dlq.topic).toBe('sensors.dlq');
  });
});

describe('env interpolation', () => {
  // Inside a flow mapping ({ ... }) a reference must be quoted: "{" is YAML syntax there.
  it('uses the variable when set, with its type read as YAML reads it', () => {
    const text = sensorsText.replace('window: 64', 'window: "${WINDOW:64}"');
    const config = parse(text, { KAFKA_BROKERS: 'k1:9092,k2:9092', WINDOW: '128' });
    expect(config.input.kafka.brokers).toBe('k1:9092,k2:9092');
    expect(config.frame.kind === 'sensor' && config.frame.window).toBe(128);
  });

  it('falls back to the default when the variable is unset or empty', () => {
    const text = sensorsText.replace('window: 64', 'window: "${WINDOW:32}"');
    expect(parse(text, { WINDOW: '' }).frame).toMatchObject({ window: 32 });
    expect(parse(text, {}).input.kafka.brokers).toBe('127.0.0.1:9092');
  });

  it('substitutes inside a longer string', () => {
    const text = sensorsText.replace(
      'group: aestream-sensors',
      'group: aestream-${SITE:lab}-sensors',
    );
    expect(parse(text, { SITE: 'plant4' }).input.kafka.group).toBe('aestream-plant4-sensors');
    expect(parse(text).input.kafka.group).toBe('aestream-lab-sensors');
  });

  it('refuses a variable without default that is not set, naming it and where it is used', () => {
    const text = sensorsText.replace('topic: sensors.frames', 'topic: ${INPUT_TOPIC}');
    expect(problems(text)).toEqual([
      expect.stringMatching(/^input\.kafka\.topic: environment variable INPUT_TOPIC is not set/),
    ]);
    try {
      parse(text);
    } catch (err) {
      expect((err as ConfigError).code).toBe(ErrorCodes.CONFIG_ENV);
    }
  });

  it('keeps $${ as a literal ${', () => {
    const text = sensorsText.replace('group: aestream-sensors', () => 'group: "g$${x}"');
    expect(parse(text).input.kafka.group).toBe('g${x}');
  });
});

describe('invalid fields, each named by its path', () => {
  it('an unknown (misspelt) key', () => {
    expect(problems(sensorsText.replace('stride: 1', 'strid: 1'))).toContain(
      'frame.strid: unknown key',
    );
  });

  it('a wrong type', () => {
    expect(problems(sensorsText.replace('maxSize: 256', 'maxSize: lots'))).toEqual([
      expect.stringMatching(/^batch\.maxSize: .*expected number/),
    ]);
  });

  it('a value out of range', () => {
    expect(problems(sensorsText.replace('window: 64', 'window: -3'))).toEqual([
      expect.stringMatching(/^frame\.window: .*>=1/),
    ]);
    expect(problems(sensorsText.replace('risk: 1.0e-4', 'risk: 2'))).toEqual([
      expect.stringMatching(/^threshold\.risk: .*<0\.5/),
    ]);
  });

  it('a missing required key', () => {
    expect(problems(sensorsText.replace(/^ {4}group: aestream-sensors\n/m, ''))).toEqual([
      'input.kafka.group: required key is missing (expected string)',
    ]);
  });

  it('an unknown kind', () => {
    expect(problems(sensorsText.replace('kind: spot', 'kind: magic'))).toEqual([
      expect.stringMatching(
        /^threshold\.kind: expected one of "static", "ksigma", "quantile", "spot", "dspot"/,
      ),
    ]);
  });

  it('a missing schema file', () => {
    expect(problems(sensorsText.replace('schemas/sensor-frame.avsc', 'schemas/nope.avsc'))).toEqual(
      [expect.stringMatching(/^input\.schema: schema file not found: .*schemas\/nope\.avsc$/)],
    );
  });

  it('every problem at once, not only the first', () => {
    const text = sensorsText.replace('window: 64', 'windw: 64').replace('stride: 1', 'stride: -1');
    expect(problems(text).sort()).toEqual([
      'frame.stride: Too small: expected number to be >=1',
      'frame.window: required key is missing (expected number)',
      'frame.windw: unknown key',
    ]);
  });

  it('YAML that does not parse', () => {
    expect(() => parse('name: [unclosed')).toThrow(
      expect.objectContaining({ code: ErrorCodes.CONFIG_YAML }) as Error,
    );
  });

  it('a file that does not exist', () => {
    const dir = tempDir('aestream-config-');
    expect(() => loadPipeline(join(dir, 'missing.yaml'))).toThrow(
      expect.objectContaining({ code: ErrorCodes.CONFIG_FILE_NOT_FOUND }) as Error,
    );
  });
});

describe('cross-field rules', () => {
  it("a retrainer in the detectors' consumer group", () => {
    expect(
      problems(
        sensorsText.replace('validation: 0.1 }', 'validation: 0.1, group: aestream-sensors }'),
      ),
    ).toEqual([
      expect.stringMatching(
        /^retrain\.group: the retrainer would join the detectors' consumer group 'aestream-sensors'/,
      ),
    ]);
  });

  it('stride larger than the window', () => {
    expect(problems(sensorsText.replace('stride: 1', 'stride: 65'))).toEqual([
      expect.stringMatching(/^frame\.stride: stride 65 is larger than window 64/),
    ]);
  });

  it('a bottleneck as large as the input', () => {
    expect(problems(sensorsText.replace('window: 64', 'window: 8'))).toEqual([
      expect.stringMatching(/^model\.hidden\.1: bottleneck 8 is not smaller than the input size 8/),
    ]);
  });

  it('a conv model on sensor frames', () => {
    expect(
      problems(sensorsText.replace('kind: dense-ae, hidden: [32, 8]', 'kind: conv-ae')),
    ).toEqual([expect.stringMatching(/^model\.kind: conv-ae needs image frames/)]);
  });

  it('a temporal conv model on sensor frames is accepted; on images it is refused', () => {
    const config = parse(
      sensorsText.replace('kind: dense-ae, hidden: [32, 8]', 'kind: conv1d-ae, filters: [16, 32]'),
    );
    expect(config.model).toMatchObject({ kind: 'conv1d-ae', filters: [16, 32], kernel: 5 });
    const images = readFileSync(join(root, 'pipelines', 'images.yaml'), 'utf8');
    // blur is the image model's own option: a temporal conv model has none.
    const conv1d = images.replace(/kind: conv-ae/, 'kind: conv1d-ae').replace('blur: 1, ', '');
    expect(problems(conv1d)).toEqual([
      expect.stringMatching(/^model\.kind: conv1d-ae needs sensor frames/),
    ]);
  });

  it('a window that the temporal conv encoder cannot halve', () => {
    const conv1d = sensorsText.replace(
      'kind: dense-ae, hidden: [32, 8]',
      'kind: conv1d-ae, filters: [8, 8, 8]',
    );
    expect(problems(conv1d.replace('window: 64', 'window: 60'))).toEqual([
      expect.stringMatching(
        /^model\.filters: 3 stride-2 layers over time need frame\.window divisible by 8; the window is 60/,
      ),
    ]);
  });

  it('a temporal kernel longer than the window, and a bottleneck as large as the input', () => {
    const conv1d = sensorsText.replace(
      'kind: dense-ae, hidden: [32, 8]',
      'kind: conv1d-ae, filters: [8], kernel: 7',
    );
    expect(problems(conv1d.replace('window: 64', 'window: 4'))).toEqual([
      expect.stringMatching(/^model\.kernel: kernel 7 spans more readings than the window of 4/),
    ]);
    expect(problems(conv1d.replace('kernel: 7', 'latent: 64'))).toEqual([
      expect.stringMatching(/^model\.latent: latent 64 is not smaller than the input size 64/),
    ]);
  });

  it('image sides that the conv encoder cannot halve', () => {
    const images = readFileSync(join(root, 'pipelines', 'images.yaml'), 'utf8');
    expect(problems(images.replace('width: 28', 'width: 30'))).toEqual([
      expect.stringMatching(
        /^model\.filters: 2 stride-2 layers need width and height divisible by 4/,
      ),
    ]);
  });

  it('an output topic that is the input topic', () => {
    expect(
      problems(sensorsText.replace('topic: sensors.anomalies', 'topic: sensors.frames')),
    ).toEqual([
      expect.stringMatching(/^output\.kafka\.topic: is the input topic "sensors\.frames"/),
    ]);
  });

  it('a file written to disk is read with the same rules', () => {
    const dir = tempDir('aestream-config-');
    const file = join(dir, 'p.yaml');
    writeFileSync(file, sensorsText.replace('window: 64', 'window: 0'));
    expect(() => loadPipeline(file, { env: {}, baseDir: root })).toThrow(/frame\.window/);
  });
});
