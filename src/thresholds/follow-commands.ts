import type { Kafka } from 'kafkajs';
import type { ThresholdCommand as ThresholdCommandRecord } from '../core/records';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import { PipelineTopicSource } from '../connectors/kafka/pipeline-topic-source';
import { logger } from '../observability/logger';
import { counter } from '../observability/metrics';
import { thresholdCommandFromRecord } from './threshold-command';
import type { ThresholdRegistry } from './threshold-registry';

/**
 * Applies the pipeline's ThresholdCommands from the control topic to a running registry:
 * every command on the topic from its start (so a restarted detector comes back with the
 * settings operators gave it), then each new one as it arrives (within the fetch wait,
 * 100 ms). Each command is confirmed in a log line and counted in
 * `aestream_threshold_commands_total{result="applied"}`; one that cannot apply (bad
 * parameters, an unusable spec) is logged with its reason, counted as `refused`, and
 * changes nothing.
 *
 * @example const follow = followCommands(kafka, 'aestream.control', 'sensors', registry); await follow.stop();
 */
export function followCommands(
  kafka: Kafka,
  topic: string,
  pipeline: string,
  registry: Pick<ThresholdRegistry, 'command'>,
): { stop(): Promise<void> } {
  const commands = counter(
    'aestream_threshold_commands_total',
    'Threshold commands from the control topic, by action and result (applied, refused).',
    ['pipeline', 'action', 'result'],
  );
  const source = new PipelineTopicSource<ThresholdCommandRecord>(kafka, {
    topic,
    pipeline,
    recordType: 'ThresholdCommand',
    what: 'threshold command',
    badRecordCode: ErrorCodes.THRESHOLD_COMMAND,
    compact: false,
  });
  const subscription = source.records().subscribe({
    next: (record) => {
      const action = record.action.toLowerCase();
      const context = {
        pipeline,
        key: record.key ?? '*',
        action,
        parameters: record.parameters,
        issuedBy: record.issuedBy,
        issuedAt: new Date(record.issuedAt).toISOString(),
      };
      try {
        registry.command(thresholdCommandFromRecord(record));
        commands.inc({ pipeline, action, result: 'applied' });
        logger.info(context, 'threshold command applied');
      } catch (err) {
        commands.inc({ pipeline, action, result: 'refused' });
        logger.warn(
          {
            ...context,
            code: err instanceof AeError ? err.code : ErrorCodes.THRESHOLD_COMMAND,
            err: messageOf(err),
          },
          'threshold command refused',
        );
      }
    },
    error: (err: unknown) =>
      logger.warn({ pipeline, err: messageOf(err) }, 'threshold commands unavailable'),
  });
  return {
    async stop() {
      subscription.unsubscribe();
      await source.stop();
    },
  };
}
