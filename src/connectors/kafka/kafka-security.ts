import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import { readSecret } from '../../core/secrets';
import type { KafkaSaslConfig, KafkaTlsConfig } from '../connector-config';

/**
 * The kafkajs `sasl` and `ssl` options of a pipeline's `input.kafka.sasl` / `.tls`, with
 * `*File` settings read now. Without either section the connection stays plaintext.
 *
 * @example
 * kafkaSecurity({ sasl: { mechanism: 'scram-sha-256', username: 'ae', passwordFile: 'pw' } })
 * // { sasl: { mechanism: 'scram-sha-256', username: 'ae', password: '…' } }
 */
export function kafkaSecurity(options: { sasl?: KafkaSaslConfig; tls?: KafkaTlsConfig }): {
  sasl?: SASLOptions;
  ssl?: ConnectionOptions;
} {
  const out: { sasl?: SASLOptions; ssl?: ConnectionOptions } = {};
  if (options.sasl) {
    const s = options.sasl;
    const password = readSecret(s, 'password', 'input.kafka.sasl') ?? '';
    out.sasl =
      s.mechanism === 'plain'
        ? { mechanism: 'plain', username: s.username, password }
        : s.mechanism === 'scram-sha-256'
          ? { mechanism: 'scram-sha-256', username: s.username, password }
          : { mechanism: 'scram-sha-512', username: s.username, password };
  }
  if (options.tls) {
    const t = options.tls;
    const where = 'input.kafka.tls';
    const ssl: ConnectionOptions = { rejectUnauthorized: t.rejectUnauthorized };
    const ca = readSecret(t, 'ca', where, false);
    const cert = readSecret(t, 'cert', where, false);
    const key = readSecret(t, 'key', where, false);
    const passphrase = readSecret(t, 'passphrase', where);
    if (ca !== undefined) ssl.ca = [ca];
    if (cert !== undefined) ssl.cert = cert;
    if (key !== undefined) ssl.key = key;
    if (passphrase !== undefined) ssl.passphrase = passphrase;
    if (t.servername !== undefined) ssl.servername = t.servername;
    out.ssl = ssl;
  }
  return out;
}
