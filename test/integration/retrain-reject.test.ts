import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { register } from 'prom-client';
import { describeTraining } from '../../src/cli/retrain';
import type { SensorFrame } from '../../src/core/records';
import { ModelStore } from '../../src/registry/model-store';
import { startDetector, type Detector } from '../../src/app/detect';
import { startRetrainer, type Retrainer } from '../../src/app/retrain';
import { seededRandom } from '../../src/core/seeded-random';
import { waitFor } from '../helpers/wait-for';
import { pipelineFixture, type PipelineFixture } from '../helpers/pipeline-fixture';

/**
 * Issue 7, "Done when" 2: a candidate trained on deliberately corrupted frames is
 * rejected by the validation on clean held-back data; nothing is published, the store
 * keeps its versions and the running detector keeps its model. A candidate trained on the
 * reservoir's clean frames, checked the same way, is published (the check is not a wall).
 */
describe('aestream retrain rejects a bad candidate (real Kafka)', () => {
  let f: PipelineFixture;
  let detector: Detector | undefined;
  let retrainer: Retrainer | undefined;
  beforeAll(async () => {
    f = await pipelineFixture('reject', {
      partitions: 2,
      yaml: {
        model: { train: { epochs: 40, seed: 1, patience: 5 } },
        retrain: {
          trigger: { everyFrames: 1000000 },
          reservoir: 1000,
          epochs: 20,
          minSamples: 100,
        },
      },
    });
  });
  afterAll(async () => {
    await retrainer?.stop();
    await detector?.stop();
    await f?.teardown();
  });

  it('rejects a candidate trained on corrupted frames; the detector keeps its model', async () => {
    const config = f.config;
    const random = seededRandom(21);
    const reading = (t: number) =>
      Math.sin((2 * Math.PI * t) / 20) + 0.05 * (random() - 0.5) * Math.sqrt(12);
    await f.train({ rows: 1500, value: reading });
    const store = new ModelStore(config.model.store);

    let scored = 0;
    detector = await startDetector(config, {
      metricsPort: null,
      onScored: (batch) => (scored += batch.reduce((n, j) => n + j.covered.length, 0)),
    });
    retrainer = await startRetrainer(config);

    // Clean frames fill the retrainer's reservoir (and its held-back share).
    const frames: SensorFrame[] = [];
    for (let t = 0; t < 600; t++) {
      for (const source of ['pump-1', 'pump-2']) {
        frames.push({
          source,
          time: Date.UTC(2026, 0, 1) + t * 60_000,
          values: [reading(t)],
          seq: t,
          attributes: {},
        });
      }
    }
    await f.produce(frames);
    await waitFor(() => scored === frames.length && retrainer!.stats().normal >= 1000, {
      what: 'the detector and the retrainer to score every frame',
      timeoutMs: 60_000,
      state: () => ({ scored, retrainer: retrainer?.stats() }),
    });
    expect(retrainer.stats().heldBack).toBeGreaterThanOrEqual(50);

    // Corrupted training frames: every window replaced by loud uniform noise.
    const noise = seededRandom(5);
    const corrupted = Array.from({ length: 800 }, () =>
      Float32Array.from({ length: 16 }, () => 20 * (noise() - 0.5)),
    );
    const rejected = await retrainer.train({ frames: corrupted });
    console.log(`[retrain] ${describeTraining(rejected)}`);
    expect(rejected.outcome).toBe('rejected');
    expect(rejected.reasons.join('; ')).toMatch(/held-back error .* > /);
    expect(rejected.check!.heldBack.candidate).toBeGreaterThan(rejected.check!.heldBack.limit);
    const rejections = await register.getSingleMetric('aestream_retrain_rejected_total')?.get();
    expect(
      rejections?.values.find((v) => v.labels.pipeline === f.name && v.labels.rule === 'held-back')
        ?.value,
    ).toBe(1);
    // Not published, not in the store (quarantined among the candidates), the detector keeps v000001.
    expect(await store.versions()).toEqual([1]);
    const candidates = join(config.model.store, '.candidates');
    const quarantined = readdirSync(candidates).filter((n) => n.startsWith('.rejected-'));
    expect(quarantined).toHaveLength(1);
    const record = JSON.parse(
      readFileSync(join(candidates, quarantined[0]!, 'rejected.json'), 'utf8'),
    ) as { reasons: string[] };
    expect(record.reasons).toEqual(rejected.reasons);
    const releaseOffsets = () => f.endOffset(f.topics.releases);
    expect(await releaseOffsets()).toBe(0);
    expect(detector.model.version).toBe('v000001');
    expect(retrainer.model.version).toBe('v000001');

    // The same check passes a candidate trained on the reservoir's clean frames.
    const accepted = await retrainer.train();
    console.log(`[retrain] ${describeTraining(accepted)}`);
    expect(accepted.outcome).toBe('published');
    expect(accepted.version).toBe('v000002');
    expect(await releaseOffsets()).toBe(1);
    expect(existsSync(store.pathOf(2))).toBe(true);
    await waitFor(() => detector!.model.version === 'v000002', {
      what: 'the detector to swap to the clean candidate',
      timeoutMs: 60_000,
    });
  });
});
