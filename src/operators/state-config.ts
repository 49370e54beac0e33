import { z } from 'zod';
import { topicName } from '../connectors/connector-config';

/** The per-source state changelog of a detector (`state:` in a pipeline file). */
export const stateSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Keep each source's window, threshold, score rules and event rule in the changelog topic, written before offsets are committed and read back when partitions are assigned.",
      ),
    topic: topicName
      .optional()
      .describe(
        'Compacted changelog topic, co-partitioned with the input; default <name>.state (created by detect when missing).',
      ),
  })
  .describe('Per-source state that survives restarts, rebalances and scale-out.');

export type StateConfig = z.infer<typeof stateSchema>;
