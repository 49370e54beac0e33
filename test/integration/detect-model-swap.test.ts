import { join } from 'node:path';
import { register } from 'prom-client';
import { createAvroCodec } from '../../src/codecs/avro-codec';
import type { ModelRelease, SensorFrame } from '../../src/core/records';
import type { OutboundMessage } from '../../src/connectors/kafka/kafka-sink';
import { SyntheticSource } from '../../src/connectors/synthetic-source';
import { packRelease } from '../../src/registry/model-release';
import { ModelStore } from '../../src/registry/model-store';
import { architectureOf } from '../../src/training/architecture';
import { Autoencoder } from '../../src/training/autoencoder';
import * as tf from '@tensorflow/tfjs';
import { startDetector, type Detector } from '../../src/app/detect';
import { waitFor } from '../helpers/wait-for';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/**
 * A running detector follows the pipeline's model releases: a newer release put on the
 * releases topic is swapped in between micro-batches (every frame scored once, by one
 * model or the other); a tampered release is refused and the detector keeps its model.
 */
describe('aestream detect follows model releases (real Kafka and InfluxDB)', () => {
  let f: PipelineFixture;
  let detector: Detector | undefined;
  beforeAll(async () => {
    f = await pipelineFixture('swap', {
      influx: true,
      yaml: { model: { train: { epochs: 3, seed: 1 } } },
    });
  });
  afterAll(async () => {
    await detector?.stop();
    await f?.teardown();
  });

  it('swaps to a newer release between batches; refuses tampered, wrong-shape and NaN-weight releases', async () => {
    const { config, name, dir, topics, influx } = f;
    // Two versions in the store; the detector starts on the first.
    await f.train({ rows: 600 });
    // v2 trained less: its errors are on another scale, which the thresholds must follow.
    await f.train({ rows: 600, seed: 2, epochs: 1 });
    const store = new ModelStore(config.model.store);
    expect(await store.versions()).toEqual([1, 2]);

    detector = await startDetector(config, { metricsPort: null, modelVersion: 1 });
    expect(detector.model.version).toBe('v000001');

    const gen = new SyntheticSource({ seed: 5, sources: 2, length: 600, anomaliesPerSource: 0 });
    const frames = [...gen.frames()];
    const produce = (part: SensorFrame[]) => f.produce(part);
    const pointsOf = async (model: string) => {
      const rows = await influx.query<{ count: number }>(
        `SELECT count("error") AS "count" FROM "score" WHERE "model" = '${model}'`,
      );
      return rows[0]?.count ?? 0;
    };

    await produce(frames.slice(0, 400));
    await waitFor(async () => (await pointsOf('v000001')) === 400, {
      what: '400 points scored by v000001',
      timeoutMs: 120_000,
      intervalMs: 250,
    });

    const releases = {
      send: (m: OutboundMessage) => f.produce([m], topics.releases),
    };
    const releaseCodec = createAvroCodec<ModelRelease>('ModelRelease');
    const v2 = await packRelease(store, 2, name);
    await releases.send({
      key: name,
      value: releaseCodec.encode(v2),
      headers: releaseCodec.headers,
    });
    await waitFor(() => detector!.model.version === 'v000002', {
      what: 'the detector to swap to v000002',
      timeoutMs: 60_000,
    });

    await produce(frames.slice(400, 800));
    await waitFor(async () => (await pointsOf('v000002')) === 400, {
      what: '400 points scored by v000002',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    // The thresholds were carried over to v000002's error scale, not reset to warm-up: every
    // point it scored has a threshold (a calibrating key's point has none).
    const withThreshold = await influx.query<{ count: number }>(
      `SELECT count("threshold") AS "count" FROM "score" WHERE "model" = 'v000002'`,
    );
    expect(withThreshold[0]?.count).toBe(400);
    // ... carried over by the ratio of the versions' validation losses: a source's first
    // threshold under v000002 is its last under v000001 times that ratio (up to what one
    // more score taught it).
    const lossOf = async (version: number) =>
      (
        JSON.parse(Buffer.from((await store.files(version))['metadata.json']).toString()) as {
          validation: { loss: number };
        }
      ).validation.loss;
    const ratio = (await lossOf(2)) / (await lossOf(1));
    expect(Math.abs(Math.log(ratio))).toBeGreaterThan(Math.log(1.1)); // the check means something
    for (const source of gen.sources) {
      const [last] = await influx.query<{ last: number }>(
        `SELECT last("threshold") FROM "score" WHERE "model" = 'v000001' AND "source" = '${source}'`,
      );
      const [first] = await influx.query<{ first: number }>(
        `SELECT first("threshold") FROM "score" WHERE "model" = 'v000002' AND "source" = '${source}'`,
      );
      expect(first!.first / last!.last / ratio).toBeCloseTo(1, 1);
    }

    // A release whose artifact was altered after it was hashed: refused, v000002 stays.
    const tampered = {
      ...v2,
      version: 'v000003',
      artifact: { bytes: Buffer.concat([v2.artifact.bytes!, Buffer.from(' ')]), uri: null },
    };
    await releases.send({
      key: name,
      value: releaseCodec.encode(tampered),
      headers: releaseCodec.headers,
    });
    const refusals = async () => {
      const metric = await register.getSingleMetric('aestream_model_releases_refused_total')?.get();
      return (
        metric?.values.find(
          (v) => v.labels.pipeline === name && v.labels.reason === 'AE_ERR_MODEL_CORRUPT',
        )?.value ?? 0
      );
    };
    await waitFor(async () => (await refusals()) >= 1, {
      what: 'the tampered release to be refused',
      timeoutMs: 60_000,
    });
    expect(detector.model.version).toBe('v000002');
    expect(await store.versions()).toEqual([1, 2]);

    // A release for another input shape (window 8 instead of 16) and one whose weights hold
    // NaN (hashed correctly, so only the weight check can catch it): both refused with
    // their reason, v000002 stays.
    const elsewhere = (sub: string) => join(dir, sub);
    const { config: narrow } = f.pipeline(
      {
        frame: { window: 8 },
        model: { store: elsewhere('narrow'), train: { epochs: 1, seed: 1 } },
      },
      'narrow.yaml',
    );
    await f.train({ rows: 600, config: narrow });
    const nanStore = new ModelStore(elsewhere('nan'));
    const nan = Autoencoder.create(
      architectureOf(config.frame, config.model),
      { kind: 'range', min: -1, max: 1 },
      3,
    );
    nan.model.setWeights(
      nan.model.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, Number.NaN) : w)),
    );
    await nanStore.save(nan, {
      pipeline: name,
      training: { source: 'test', count: 10 },
      validation: { loss: 0.1 },
    });
    const relabel = async (from: ModelStore, version: string) => ({
      ...(await packRelease(from, 1, name)),
      version,
    });
    for (const release of [
      await relabel(new ModelStore(elsewhere('narrow')), 'v000004'),
      await relabel(nanStore, 'v000005'),
    ]) {
      await releases.send({
        key: name,
        value: releaseCodec.encode(release),
        headers: releaseCodec.headers,
      });
    }
    const refusedFor = async (reason: string) =>
      (await register.getSingleMetric('aestream_model_releases_refused_total')?.get())?.values.find(
        (v) => v.labels.pipeline === name && v.labels.reason === reason,
      )?.value ?? 0;
    await waitFor(
      async () =>
        (await refusedFor('AE_ERR_MODEL_INCOMPATIBLE')) === 1 &&
        (await refusedFor('AE_ERR_MODEL_CORRUPT')) === 2,
      { what: 'the wrong-shape and NaN releases refused', timeoutMs: 60_000 },
    );
    expect(detector.model.version).toBe('v000002');

    await produce(frames.slice(800));
    await waitFor(async () => (await pointsOf('v000002')) === 800, {
      what: 'the rest scored by v000002',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    // Every frame scored exactly once across the swap (one point per source and time).
    expect((await pointsOf('v000001')) + (await pointsOf('v000002'))).toBe(frames.length);
  });
});
