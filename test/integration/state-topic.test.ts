import { ConfigResourceTypes } from 'kafkajs';
import { register } from 'prom-client';
import { startDetector } from '../../src/app/detect';
import { bytesToFloats } from '../../src/codecs/packed-numbers';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import { ensureStateTopic } from '../../src/connectors/kafka/state-topic';
import { AeError, ErrorCodes } from '../../src/core/errors';
import type { Judged } from '../../src/core/model-input';
import type { Frame, SensorFrame } from '../../src/core/records';
import { DlqHeaders } from '../../src/outputs/dlq-sink';
import type { SourceStateRecord } from '../../src/operators/source-states';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof AeError ? err.code : `not an AeError: ${String(err)}`;
  }
  return undefined;
}

/** The state changelog topic on the real broker: created fitting the input, refused otherwise. */
describe('the state topic (real Kafka)', () => {
  let f: PipelineFixture;
  beforeAll(async () => {
    f = await pipelineFixture('statetopic', {
      partitions: { input: 4, anomalies: 1, dlq: 1 },
      model: true,
      yaml: { threshold: { kind: 'ksigma', k: 6, calibration: 100 } },
    });
  });
  afterAll(() => f?.teardown());

  it('is created compacted with the input partition count, and found fitting next time', async () => {
    const topic = `${f.name}.fits`;
    expect(await ensureStateTopic(f.admin, topic, f.topics.input)).toBe(4);
    const { topics } = await f.admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions).toHaveLength(4);
    const { resources } = await f.admin.describeConfigs({
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configNames: ['cleanup.policy', 'segment.ms'],
        },
      ],
      includeSynonyms: false,
    });
    const config = Object.fromEntries(
      resources[0]!.configEntries.map((e) => [e.configName, e.configValue]),
    );
    // Segments roll, so compaction keeps what a restore reads short.
    expect(config).toEqual({ 'cleanup.policy': 'compact', 'segment.ms': '600000' });
    expect(await ensureStateTopic(f.admin, topic, f.topics.input)).toBe(4);
  });

  it('refuses a topic with another partition count or without compaction (AE_ERR_STATE_TOPIC)', async () => {
    const other = await f.topic(2, 'twoparts');
    expect(await codeOf(ensureStateTopic(f.admin, other, f.topics.input))).toBe(
      ErrorCodes.STATE_TOPIC,
    );
    const plain = await f.topic(4, 'plain');
    const error = await ensureStateTopic(f.admin, plain, f.topics.input).catch((e: unknown) => e);
    expect((error as AeError).code).toBe(ErrorCodes.STATE_TOPIC);
    expect((error as AeError).message).toMatch(/cleanup\.policy=delete.*must be compacted/);
  });

  it('dead-letters an undecodable state record (AE_ERR_STATE_DECODE) and scores that source from scratch', async () => {
    const stateTopic = f.config.state.topic;
    await ensureStateTopic(f.admin, stateTopic, f.topics.input);
    const codec = createAvroCodec<SourceStateRecord>('SourceState');
    // A record of another window shape and one that is not Avro at all.
    const misfit: SourceStateRecord = {
      pipeline: f.name,
      source: 's-1',
      modelVersion: 'v000001',
      partition: 0,
      offset: 5,
      readings: 6,
      window: 99,
      features: 1,
      values: [1, 2, 3, 4, 5, 6],
      times: [1, 2, 3, 4, 5, 6],
      threshold: null,
      rules: null,
      events: null,
      writtenAt: Date.now(),
    };
    await f.produce(
      [
        { key: 's-1', value: codec.encode(misfit), headers: codec.headers, partition: 0 },
        {
          key: 's-2',
          value: Buffer.from([0xff, 0x01, 0x02]),
          headers: codec.headers,
          partition: 1,
        },
      ],
      stateTopic,
    );
    const frames: SensorFrame[] = [];
    for (let t = 0; t < 200; t++)
      for (const source of ['s-1', 's-2'])
        frames.push({
          source,
          time: 1e12 + t * 1000,
          values: [Math.sin(t / 5)],
          seq: null,
          attributes: {},
        });
    await f.produce(frames);

    const detector = f.track(await startDetector(f.config, { metricsPort: null }));
    await waitFor(async () => (await f.committed()) >= frames.length, {
      what: 'every frame committed',
      timeoutMs: 60_000,
    });
    const dead = (await f.read([f.topics.dlq])).filter(
      (m) => String(m.headers[DlqHeaders.REASON]) === ErrorCodes.STATE_DECODE,
    );
    expect(dead.map((m) => m.key).sort()).toEqual(['s-1', 's-2']);
    expect(dead.every((m) => String(m.headers[DlqHeaders.TOPIC]) === stateTopic)).toBe(true);
    // Both sources went on from scratch: their state was written again, fitting the pipeline.
    await detector.stop();
    const written = (await f.read([stateTopic]))
      .filter((m) => !(m.offset === '0' && m.partition <= 1)) // the two records put there above
      .map((m) => codec.decode(m.value, m.headers as never));
    expect(new Set(written.map((r) => r.source))).toEqual(new Set(['s-1', 's-2']));
    expect(
      written.every((r) => r.window === 16 && bytesToFloats(r.values as Buffer).length === 15),
    ).toBe(true);
  });

  it('drops the state of another input (a recreated topic) as stale, reports it, and scores every frame', async () => {
    const stateTopic = `${f.name}.oldstate`;
    const sources = Array.from({ length: 8 }, (_, i) => `r-${i}`);
    const framesFrom = (start: number, readings: number): SensorFrame[] => {
      const out: SensorFrame[] = [];
      for (let t = 0; t < readings; t++)
        for (const source of sources)
          out.push({
            source,
            time: start + t * 1000,
            values: [Math.sin(t / 5)],
            seq: null,
            attributes: {},
          });
      return out;
    };
    const stale = async () =>
      (await register.getSingleMetric('aestream_state_records_total')?.get())?.values.find(
        (v) => v.labels.result === 'stale' && v.labels.pipeline === f.name,
      )?.value ?? 0;
    /** Runs a detector over `frames` on a topic of its own; what it judged, by offset. */
    const run = async (suffix: string, frames: SensorFrame[]) => {
      const input = await f.topic(4, suffix);
      const group = `${f.group}-${suffix}`;
      const { config } = f.pipeline({
        input: { kafka: { topic: input, group } },
        state: { topic: stateTopic },
      });
      await f.produce(frames, input);
      const judged: Judged<Frame>[] = [];
      const detector = f.track(
        await startDetector(config, { metricsPort: null, onScored: (b) => judged.push(...b) }),
      );
      await waitFor(async () => (await f.committed(group, input)) >= frames.length, {
        what: `every frame of ${input} committed`,
        timeoutMs: 60_000,
      });
      await detector.stop();
      return judged;
    };
    // The state topic as a detector on the first input left it: 150 readings per source.
    await run('first', framesFrom(1e12, 150));
    const before = await stale();

    // The input recreated with fewer frames: every state covers offsets beyond its end.
    const shorter = framesFrom(2e12, 50);
    const short = await run('shorter', shorter);
    expect(await stale()).toBe(before + sources.length);
    // Each source scored as a new one (W-1 padded windows), every frame of it.
    expect(
      new Set(short.map((j) => `${j.last.record.partition}:${j.last.record.offset}`)).size,
    ).toBe(shorter.length);
    expect(short.filter((j) => j.partial).length).toBe(sources.length * 15);

    // Recreated again with more frames than before, later in time: the offsets exist, but
    // the frames at them are later than the readings the state includes.
    const longer = framesFrom(3e12, 200);
    const long = await run('longer', longer);
    expect(await stale()).toBe(before + 2 * sources.length);
    expect(
      new Set(long.map((j) => `${j.last.record.partition}:${j.last.record.offset}`)).size,
    ).toBe(longer.length);
    expect(long.filter((j) => j.partial).length).toBe(sources.length * 15);
  });
});
