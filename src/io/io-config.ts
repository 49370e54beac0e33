import { z } from 'zod';

/**
 * Config schemas of the Kafka and InfluxDB endpoints a pipeline file names.
 * They are the validators and the documentation of `input.kafka`, `output.*`.
 */

const brokerList = z
  .string()
  .min(1)
  .regex(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, 'expected host:port[,host:port...]')
  .describe('Comma-separated bootstrap brokers, e.g. 127.0.0.1:9092');

const topicName = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[a-zA-Z0-9._-]+$/, 'a Kafka topic name uses only letters, digits, ".", "_" and "-"');

export const kafkaInputSchema = z
  .strictObject({
    brokers: brokerList,
    topic: topicName.describe('The input topic; its key is the source id.'),
    group: z.string().min(1).describe('Consumer group id of the detectors of this pipeline.'),
    clientId: z.string().min(1).default('aestream').describe('Kafka client id.'),
    fromBeginning: z
      .boolean()
      .default(false)
      .describe('Where a new group starts: the earliest offset (true) or the latest (false).'),
    maxInFlight: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(10_000)
      .describe('Unacked records per partition before the partition is paused (backpressure).'),
    commitIntervalMs: z
      .int()
      .min(10)
      .default(1_000)
      .describe('How often acked offsets are committed.'),
    shutdownMs: z
      .int()
      .min(0)
      .default(10_000)
      .describe('On SIGTERM/SIGINT, how long in-flight records get to be acked before exit.'),
  })
  .describe('The Kafka topic the frames come from.');

export const topicOutputSchema = z.strictObject({
  topic: topicName.describe('Topic to write to.'),
  // Optional without schema defaults: the loader fills default topics as { topic } alone.
  batchSize: z
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .describe('Messages per produce request (default 1000).'),
  lingerMs: z
    .int()
    .min(0)
    .optional()
    .describe('Longest a message waits for its batch to fill (default 5 ms).'),
});

export const reconstructionOutputSchema = topicOutputSchema.describe(
  'Frames rebuilt by the model (the denoised input), in the input schema, keyed by source; ' +
    'one per input frame, from the scoring pass. Off when absent.',
);

export const latentOutputSchema = topicOutputSchema
  .extend({
    influx: z
      .boolean()
      .default(false)
      .describe(
        "Also write the first two latent dimensions per source to output.influx's `latent` measurement (fields z0, z1).",
      ),
  })
  .describe(
    'LatentVector records (schemas/latent-vector.avsc): source, event time, model version and ' +
      'the latent vector of every scored input, keyed by source. Off when absent.',
  );

export const influxOutputSchema = z
  .strictObject({
    url: z.url().describe('InfluxDB 1.x HTTP endpoint (or a 2.x/3.x v1-compatible one).'),
    database: z.string().min(1).default('aestream').describe('Database the points go to.'),
    username: z.string().optional().describe('User name, when InfluxDB has authentication on.'),
    password: z.string().optional().describe('Password; use ${ENV} rather than a literal.'),
    batchSize: z.int().min(1).max(100000).default(5000).describe('Points per write request.'),
    flushMs: z.int().min(1).default(1000).describe('Longest a point waits before a write.'),
    maxBuffered: z
      .int()
      .min(1)
      .optional()
      .describe(
        'Points held while InfluxDB is slow or down before the pipeline waits (default 10 x batchSize).',
      ),
  })
  .describe('InfluxDB sink of score points.');

export const schemaRegistrySchema = z
  .strictObject({
    url: z.url().describe('Confluent schema registry URL; frames then use its wire format.'),
    subject: z
      .string()
      .min(1)
      .optional()
      .describe('Subject of the input schema; default <topic>-value (TopicNameStrategy).'),
  })
  .describe('Optional schema registry (Confluent wire format: magic byte + schema id).');

export type KafkaInputConfig = z.infer<typeof kafkaInputSchema>;
export type InfluxOutputConfig = z.infer<typeof influxOutputSchema>;
export type TopicOutputConfig = z.infer<typeof topicOutputSchema>;
export type ReconstructionOutputConfig = z.infer<typeof reconstructionOutputSchema>;
export type LatentOutputConfig = z.infer<typeof latentOutputSchema>;
export type SchemaRegistryConfig = z.infer<typeof schemaRegistrySchema>;
