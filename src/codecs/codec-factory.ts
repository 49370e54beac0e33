import { z } from 'zod';
import { createAvroCodec, type RecordCodec } from './avro-codec';
import { createConfluentCodec } from './confluent-codec';
import { loadSchema } from './schema-loader';

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

export type SchemaRegistryConfig = z.infer<typeof schemaRegistrySchema>;

export interface CodecOptions {
  /** Schema name (`SensorFrame`), shipped file, or .avsc path. */
  schema: string;
  /** Topic the records travel on; names the registry subject `<topic>-value`. */
  topic: string;
  /** When set, the Confluent wire format through this registry; plain Avro otherwise. */
  registry?: SchemaRegistryConfig;
  /** Older/newer writer schemas that may appear on the topic (plain-Avro mode). */
  writers?: string[];
}

/**
 * The codec a pipeline's input (or output) uses: plain Avro with the `ae.schema` writer
 * header, or the Confluent wire format when a schema registry is configured.
 *
 * @example
 * const codec = createCodec<SensorFrame>({ schema: config.input.schema, topic: config.input.kafka.topic, registry: config.input.registry });
 * await codec.ready();
 */
export function createCodec<T>(options: CodecOptions): RecordCodec<T> {
  const type = loadSchema(options.schema);
  if (options.registry) {
    return createConfluentCodec<T>(type, {
      url: options.registry.url,
      subject: options.registry.subject ?? `${options.topic}-value`,
    });
  }
  return createAvroCodec<T>(type, { writers: options.writers });
}
