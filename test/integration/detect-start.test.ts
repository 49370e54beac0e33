import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { logEntries } from '../helpers/detector-process';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';
import { waitFor } from '../helpers/wait-for';

/**
 * `aestream detect` started in the README's order, before anything was produced: it waits
 * for its input topic (or creates it), and a new group starts at the earliest offset, so
 * frames produced before it joined are scored too.
 */
describe('detect started before its input topic exists (real broker)', () => {
  let f: PipelineFixture;

  beforeAll(async () => {
    f = await pipelineFixture('detect-start', { createTopics: false, model: true });
  });
  afterAll(() => f?.teardown());

  it('waits for the topic, says so once, then scores every frame from the earliest offset', async () => {
    // the fixture's own `fromBeginning: true` removed: the default start applies
    const { file } = f.pipeline({ input: { kafka: { fromBeginning: null } } }, 'waits.yaml');
    const detector = f.spawn(file);
    const says = (msg: string) => logEntries(detector).filter((e) => e.msg === msg);
    const waiting = `waiting for topic ${f.topics.input} (create it, or produce to it)`;
    await waitFor(() => says(waiting).length > 0, {
      what: 'the waiting line',
      timeoutMs: 120_000,
      state: () => detector.log.slice(-3),
    });

    const frames = [...new SyntheticSource({ seed: 3, sources: 2, length: 200 }).frames()];
    await f.produce(frames); // the broker creates the topic with the first message
    await waitFor(async () => (await f.committed()) >= frames.length, {
      what: 'every frame produced before the group joined to be committed',
      timeoutMs: 120_000,
      intervalMs: 250,
      state: () => detector.log.slice(-3),
    });
    expect(says(waiting)).toHaveLength(1);
    expect(says('kafka source started')[0]).toMatchObject({ newGroupStarts: 'earliest' });
  });

  it('with input.kafka.createTopics creates the missing topic instead of waiting', async () => {
    const topic = `${f.name}.created`;
    const { file } = f.pipeline(
      { input: { kafka: { topic, group: `${f.name}-created`, createTopics: true } } },
      'creates.yaml',
    );
    const detector = f.spawn(file);
    await waitFor(() => logEntries(detector).some((e) => e.msg === 'kafka source started'), {
      what: 'the detector to start on the topic it created',
      timeoutMs: 120_000,
      state: () => detector.log.slice(-3),
    });
    expect(await f.admin.listTopics()).toContain(topic);
    expect(logEntries(detector).map((e) => e.msg)).not.toContain(
      `waiting for topic ${topic} (create it, or produce to it)`,
    );
    await f.admin.deleteTopics({ topics: [topic] });
  });
});
