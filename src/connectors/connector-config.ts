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

export const topicName = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[a-zA-Z0-9._-]+$/, 'a Kafka topic name uses only letters, digits, ".", "_" and "-"');

/**
 * A secret: write `${ENV_VAR}` (the value stays text, digits included) or use the `*File`
 * sibling rather than a literal. Messages about it never repeat the value.
 */
const secret = (what: string) =>
  z
    .string({
      error: `${what} must be a string (quote a literal of digits; better, use \${VAR} or ${what}File)`,
    })
    .min(1, `${what} is empty`);

/** Exactly one of `field` and `fieldFile` when `required`, at most one otherwise. */
function oneOf(field: string, required: boolean) {
  return (value: Record<string, unknown>, ctx: z.core.$RefinementCtx<Record<string, unknown>>) => {
    const n = Number(value[field] !== undefined) + Number(value[`${field}File`] !== undefined);
    if (n > 1 || (required && n === 0)) {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `give ${required ? 'exactly' : 'at most'} one of ${field} and ${field}File`,
      });
    }
  };
}

export const kafkaSaslSchema = z
  .strictObject({
    mechanism: z
      .enum(['scram-sha-256', 'scram-sha-512', 'plain'])
      .describe('SASL mechanism. PLAIN sends the password as is: use it only over TLS.'),
    username: z.string().min(1).describe('SASL user name.'),
    password: secret('input.kafka.sasl.password')
      .optional()
      .describe('Password; write ${KAFKA_PASSWORD}, never a literal.'),
    passwordFile: z
      .string()
      .min(1)
      .optional()
      .describe('File holding the password (a mounted secret); one trailing newline is ignored.'),
  })
  .superRefine(oneOf('password', true))
  .describe('SASL authentication of the Kafka clients (listener SASL_PLAINTEXT or SASL_SSL).');

export const kafkaTlsSchema = z
  .strictObject({
    ca: z.string().min(1).optional().describe('PEM CA certificate(s) to trust (e.g. ${KAFKA_CA}).'),
    caFile: z.string().min(1).optional().describe('File with the PEM CA certificate(s) to trust.'),
    cert: z.string().min(1).optional().describe('PEM client certificate, for mutual TLS.'),
    certFile: z.string().min(1).optional().describe('File with the PEM client certificate.'),
    key: secret('input.kafka.tls.key')
      .optional()
      .describe('PEM client private key (e.g. ${KAFKA_KEY}).'),
    keyFile: z.string().min(1).optional().describe('File with the PEM client private key.'),
    passphrase: secret('input.kafka.tls.passphrase')
      .optional()
      .describe('Passphrase of an encrypted client key.'),
    passphraseFile: z.string().min(1).optional().describe('File holding the key passphrase.'),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe('Verify the broker certificate and host name; false only for local experiments.'),
    servername: z
      .string()
      .min(1)
      .optional()
      .describe('Host name expected in the broker certificate when it differs from the address.'),
  })
  .superRefine(oneOf('ca', false))
  .superRefine(oneOf('cert', false))
  .superRefine(oneOf('key', false))
  .superRefine(oneOf('passphrase', false))
  .superRefine((value, ctx) => {
    const hasCert = value.cert !== undefined || value.certFile !== undefined;
    const hasKey = value.key !== undefined || value.keyFile !== undefined;
    if (hasCert !== hasKey) {
      ctx.addIssue({
        code: 'custom',
        path: [hasCert ? 'key' : 'cert'],
        message: 'a client certificate and its key come together',
      });
    }
  })
  .describe('TLS to the brokers (listener SSL or SASL_SSL); `tls: {}` trusts the system CAs.');

/** The parts of `input.kafka` a client connection needs; every kafkajs client is made from it. */
export const kafkaConnectionShape = {
  brokers: brokerList,
  clientId: z.string().min(1).default('aestream').describe('Kafka client id.'),
  sasl: kafkaSaslSchema.optional(),
  tls: kafkaTlsSchema.optional(),
  connectTimeoutMs: z
    .int()
    .min(1_000)
    .default(20_000)
    .describe(
      'Longest a client tries to reach the brokers before the command fails, naming them (a wrong address, no broker running).',
    ),
};

/**
 * How often a detector commits, by default: Kafka's own consumer default
 * (`auto.commit.interval.ms`). Each commit writes one state record per source judged since
 * the last, so a shorter interval costs CPU per frame; a longer one lengthens the redo
 * after a crash (README "State").
 */
export const DEFAULT_COMMIT_INTERVAL_MS = 5_000;

/**
 * Unacked records per partition before its batch waits, by default. Enough for a full
 * InfluxDB write (5,000 points) in flight over two partitions, few enough that most frames
 * are written before V8's young generation collects them (README "Performance").
 */
export const DEFAULT_MAX_IN_FLIGHT = 3_000;

export const kafkaInputSchema = z
  .strictObject({
    ...kafkaConnectionShape,
    topic: topicName.describe('The input topic; its key is the source id.'),
    group: z.string().min(1).describe('Consumer group id of the detectors of this pipeline.'),
    start: z
      .enum(['earliest', 'latest'])
      .optional()
      .describe(
        'Where a group without committed offsets starts: earliest (default: frames already on the topic are scored too) or latest (only frames produced after the first start).',
      ),
    fromBeginning: z.boolean().optional().meta({
      description: 'Older spelling of `start`: true is earliest, false latest; `start` wins.',
      deprecated: true,
    }),
    createTopics: z
      .boolean()
      .default(false)
      .describe(
        'Create a missing input topic (broker defaults for partitions and replication); otherwise the detector waits for it.',
      ),
    maxInFlight: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(DEFAULT_MAX_IN_FLIGHT)
      .describe(
        'Unacked records per partition before its batch waits for half of them to be acked (backpressure; also bounds the redo after a crash). Readings waiting in a window for later ones of their source do not count.',
      ),
    commitIntervalMs: z
      .int()
      .min(10)
      .default(DEFAULT_COMMIT_INTERVAL_MS)
      .describe(
        'How often acked offsets are committed (with the state on, the state of each changed source is written first): shorter costs CPU per frame, longer redoes more input after a crash.',
      ),
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
    url: z
      .url()
      // The sink never reads credentials from the URL, and URLs end up in logs and messages.
      .refine((u) => !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(u), {
        message: 'credentials do not belong in the URL: use username and password/passwordFile',
      })
      .describe('InfluxDB 1.x HTTP endpoint (or a 2.x/3.x v1-compatible one).'),
    database: z.string().min(1).default('aestream').describe('Database the points go to.'),
    username: z.string().optional().describe('User name, when InfluxDB has authentication on.'),
    password: secret('output.influx.password')
      .optional()
      .describe('Password; write ${INFLUX_PASSWORD} rather than a literal.'),
    passwordFile: z
      .string()
      .min(1)
      .optional()
      .describe('File holding the password (a mounted secret); one trailing newline is ignored.'),
    batchSize: z.int().min(1).max(100000).default(5000).describe('Points per write request.'),
    flushMs: z.int().min(1).optional().meta({
      description:
        'No longer used (points are written as soon as the previous write is done); accepted so older files stay valid.',
      deprecated: true,
    }),
    maxBuffered: z
      .int()
      .min(1)
      .optional()
      .describe(
        'Points held while InfluxDB is slow or down before the pipeline waits (default 10 x batchSize).',
      ),
  })
  .superRefine(oneOf('password', false))
  .describe('InfluxDB sink of score points.');

export type KafkaInputConfig = z.infer<typeof kafkaInputSchema>;

/** Where a new group of the input starts: `start`, else `fromBeginning`, else earliest. */
export function newGroupStart(config: Pick<KafkaInputConfig, 'start' | 'fromBeginning'>) {
  return config.start ?? (config.fromBeginning === false ? 'latest' : 'earliest');
}
export type KafkaSaslConfig = z.infer<typeof kafkaSaslSchema>;
export type KafkaTlsConfig = z.infer<typeof kafkaTlsSchema>;
/** brokers and clientId, with optional sasl and tls: what `createKafka` needs. */
export interface KafkaConnectionConfig {
  brokers: string | string[];
  clientId?: string;
  sasl?: KafkaSaslConfig;
  tls?: KafkaTlsConfig;
  /** Longest a client tries to reach the brokers (default 20 s). */
  connectTimeoutMs?: number;
}
export type InfluxOutputConfig = z.infer<typeof influxOutputSchema>;
export type TopicOutputConfig = z.infer<typeof topicOutputSchema>;
export type ReconstructionOutputConfig = z.infer<typeof reconstructionOutputSchema>;
export type LatentOutputConfig = z.infer<typeof latentOutputSchema>;
