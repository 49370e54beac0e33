import { schemaRegistrySchema } from '../codecs/codec-factory';
import { z } from 'zod';
import { frameSchema } from '../core/frame-config';
import {
  influxOutputSchema,
  kafkaInputSchema,
  latentOutputSchema,
  reconstructionOutputSchema,
  topicOutputSchema,
} from '../connectors/connector-config';
import { modelSchema } from '../training/model-config';
import { retrainSchema } from '../retrain/retrain-config';
import { microBatchSchema } from '../operators/micro-batch-config';
import { scoreRulesSchema } from '../operators/score-rules';
import { stateSchema } from '../operators/state-config';
import { thresholdSchema } from '../thresholds/threshold-config';
import { eventRulesSchema } from '../outputs/event-rules';

/**
 * The pipeline file: input, the processing steps (frame, model, batch, threshold) and
 * output. Each part's schema lives with the component it configures; this file only
 * assembles them. Unknown keys are errors everywhere, so a misspelt key is never ignored.
 */
export const pipelineSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9._-]*$/,
        'lower-case letters, digits, ".", "_" and "-", e.g. "sensors"',
      )
      .max(100)
      .describe('Pipeline name: prefixes its default topics and tags its InfluxDB points.'),
    input: z.strictObject({
      kafka: kafkaInputSchema,
      schema: z.string().min(1).describe('Avro schema file of the input frames (.avsc).'),
      registry: schemaRegistrySchema.optional(),
    }),
    frame: frameSchema,
    model: modelSchema,
    batch: microBatchSchema.prefault({}),
    rules: scoreRulesSchema.optional(),
    threshold: thresholdSchema,
    output: z.strictObject({
      kafka: topicOutputSchema
        .optional()
        .describe('Anomaly events; default topic <name>.anomalies.'),
      events: eventRulesSchema.optional(),
      influx: influxOutputSchema.optional().describe('Score points; off when absent.'),
      dlq: topicOutputSchema.optional().describe('Dead letters; default topic <name>.dlq.'),
      reconstruction: reconstructionOutputSchema.optional(),
      latent: latentOutputSchema.optional(),
    }),
    retrain: retrainSchema.prefault({}),
    state: stateSchema.prefault({}),
  })
  .describe('An aestream pipeline.');

/** What a pipeline file holds after validation; defaults filled, topics named. */
export type PipelineConfig = z.infer<typeof pipelineSchema> & {
  output: {
    kafka: { topic: string };
    dlq: { topic: string };
  };
  state: { topic: string };
};
