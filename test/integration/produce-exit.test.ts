import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli-process';
import { builtCli } from '../helpers/detector-process';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/** `aestream produce` as its own process: a fatal input error ends it, after what was sent is flushed. */
describe('aestream produce exits on a bad input file (real broker)', () => {
  let f: PipelineFixture;

  beforeAll(async () => {
    builtCli();
    f = await pipelineFixture('produce-exit', { createTopics: false });
  });
  afterAll(() => f?.teardown());

  it('prints the bad line, exits 1 by itself, and the rows before it reached the topic', async () => {
    const rows = ['timestamp,value'];
    for (let i = 0; i < 1498; i++) {
      rows.push(`${new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString()},${(i % 7) / 7}`);
    }
    rows.push('2026-01-02T01:00:00Z,notanumber', '2026-01-02T01:01:00Z,0.5');
    const topic = `${f.name}.produced`; // made by produce, deleted by the fixture
    const file = join(f.dir, 'bad.csv');
    writeFileSync(file, rows.join('\n') + '\n');

    const run = await runCli(
      ['produce', '-b', f.brokers.join(','), '-t', topic, '-f', file, '--no-progress'],
      { env: { AESTREAM_LOG_LEVEL: 'warn' } },
    );

    expect(run.hung).toBe(false);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(
      /^error AE_ERR_FILE_FORMAT: .*bad\.csv:1500: .*notanumber/,
    );
    expect(await f.endOffset(topic)).toBe(1498);
  });
});
