import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { isRetriableKafkaError } from '../../../src/connectors/kafka/kafka-errors';

describe('isRetriableKafkaError', () => {
  it('sends again while the broker is unreachable, also after kafkajs used up its own retries', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    expect(isRetriableKafkaError(refused)).toBe(true);
    expect(
      isRetriableKafkaError(
        new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 3000 }),
      ),
    ).toBe(true);
  });

  it('fails at once on what a retry cannot fix', () => {
    const tooLarge = new KafkaJSProtocolError({
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
      message:
        'The request included a message larger than the max message size the server will accept',
    } as never);
    expect(isRetriableKafkaError(tooLarge)).toBe(false);
    const login = new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)(
      'SASL SCRAM SHA256 authentication failed: Connection error',
    );
    expect(isRetriableKafkaError(login)).toBe(false);
    expect(isRetriableKafkaError(new TypeError('x'))).toBe(false);
    expect(isRetriableKafkaError(undefined)).toBe(false);
  });
});
