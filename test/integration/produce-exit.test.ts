import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { runCli } from '../helpers/cli-process';
import { builtCli } from '../helpers/detector-process';
import { uniqueName } from '../helpers/names';
import { KAFKA_BROKERS } from '../helpers/stack';

/** `aestream produce` as its own process: a fatal input error ends it, after what was sent is flushed. */
describe('aestream produce exits on a bad input file (real broker)', () => {
  let dir: string;
  const kafka = new Kafka({ brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topic = uniqueName('produce-exit');

  beforeAll(async () => {
    builtCli();
    dir = mkdtempSync(join(tmpdir(), 'aestream-produce-exit-'));
    await admin.connect();
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the bad line, exits 1 by itself, and the rows before it reached the topic', async () => {
    const rows = ['timestamp,value'];
    for (let i = 0; i < 1498; i++) {
      rows.push(`${new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString()},${(i % 7) / 7}`);
    }
    rows.push('2026-01-02T01:00:00Z,notanumber', '2026-01-02T01:01:00Z,0.5');
    const file = join(dir, 'bad.csv');
    writeFileSync(file, rows.join('\n') + '\n');

    const run = await runCli(
      ['produce', '-b', KAFKA_BROKERS.join(','), '-t', topic, '-f', file, '--no-progress'],
      { env: { AESTREAM_LOG_LEVEL: 'warn' } },
    );

    expect(run.hung).toBe(false);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(
      /^error AE_ERR_FILE_FORMAT: .*bad\.csv:1500: .*notanumber/,
    );
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(1498);
  });
});
