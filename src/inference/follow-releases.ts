import type { Kafka } from 'kafkajs';
import { concatMap } from 'rxjs';
import type { ModelSection } from '../training/model-config';
import { AeError, messageOf } from '../core/errors';
import { ReleaseSource } from '../registry/release-source';
import { logger } from '../observability/logger';
import { counter } from '../observability/metrics';
import { activate, type ActiveModel } from './active-model';
import { architectureOf } from '../training/architecture';
import { importRelease, versionNumber } from '../registry/model-release';
import { ModelStore } from '../registry/model-store';

/**
 * Follows the pipeline's model releases: each release newer than the model in use is
 * installed into the store, checked (hash, files, architecture, finite weights) and opened
 * on the pipeline's engine; only then `swap` is called. A refused release is logged with
 * its reason and counted; the running model stays. The detector and the retrainer both
 * follow releases with it.
 *
 * @example const follow = followReleases(config, kafka, () => current, (next) => { current = next; }); await follow.stop();
 */
export function followReleases(
  config: ModelSection,
  kafka: Kafka,
  current: () => ActiveModel,
  swap: (next: ActiveModel) => void,
): { stop(): Promise<void> } {
  const pipeline = config.name;
  const store = new ModelStore(config.model.store);
  const expect = architectureOf(config.frame, config.model);
  const refused = counter(
    'aestream_model_releases_refused_total',
    'Model releases refused, by reason code.',
    ['pipeline', 'reason'],
  );
  const source = new ReleaseSource(kafka, config.model.releases.topic, pipeline);
  const subscription = source
    .releases()
    .pipe(
      concatMap(async (release) => {
        const active = current();
        if (versionNumber(release.version) <= versionNumber(active.version)) return;
        try {
          const stored = await importRelease(release, store, expect);
          swap(await activate(stored, config.model, active.backend));
        } catch (err) {
          const reason = err instanceof AeError ? err.code : 'AE_ERR_MODEL_CORRUPT';
          refused.inc({ pipeline, reason });
          logger.warn(
            {
              pipeline,
              release: release.version,
              keeps: active.version,
              reason,
              err: messageOf(err),
            },
            'model release refused',
          );
        }
      }),
    )
    .subscribe({
      error: (err: unknown) =>
        logger.warn({ pipeline, err: messageOf(err) }, 'model releases unavailable'),
    });
  return {
    async stop() {
      subscription.unsubscribe();
      await source.stop();
    },
  };
}
