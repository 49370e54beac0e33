import {
  KafkaJSConnectionError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { AeError, ErrorCodes } from '../../../src/core/errors';
import {
  isRetriableKafkaError,
  isTransientLogLine,
} from '../../../src/connectors/kafka/kafka-errors';

const protocolError = (type: string, retriable: boolean, message: string) =>
  new KafkaJSProtocolError({ type, code: 0, retriable, message } as never);

describe('isRetriableKafkaError', () => {
  it('sends again while the broker is unreachable, also after kafkajs used up its own retries', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    expect(isRetriableKafkaError(refused)).toBe(true);
    expect(
      isRetriableKafkaError(
        new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 3000 }),
      ),
    ).toBe(true);
    // kafkajs retries an untyped error too; once its retries are used up the state may still pass.
    const untyped = new Error('Broker not connected');
    expect(
      isRetriableKafkaError(
        new KafkaJSNumberOfRetriesExceeded(untyped, { retryCount: 5, retryTime: 3000 }),
      ),
    ).toBe(true);
  });

  it('waits out a restarting broker: group coordinator not found, rebalancing, leaders moving', () => {
    const notFound = new (KafkaJSGroupCoordinatorNotFound as unknown as new (m: string) => Error)(
      'Failed to find group coordinator',
    );
    expect(isRetriableKafkaError(notFound)).toBe(true);
    expect(
      isRetriableKafkaError(
        protocolError('REBALANCE_IN_PROGRESS', false, 'The group is rebalancing'),
      ),
    ).toBe(true);
    expect(
      isRetriableKafkaError(
        protocolError('NOT_LEADER_FOR_PARTITION', true, 'This server is not the leader'),
      ),
    ).toBe(true);
    expect(
      isRetriableKafkaError(
        new AeError(ErrorCodes.KAFKA, 'send failed', { cause: notFound, retriable: false }),
      ),
    ).toBe(true);
  });

  it('fails at once on what a retry cannot fix, whatever the message says', () => {
    const tooLarge = protocolError(
      'MESSAGE_TOO_LARGE',
      false,
      'The request included a message larger than the max message size the server will accept',
    );
    expect(isRetriableKafkaError(tooLarge)).toBe(false);
    const login = new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)(
      'SASL SCRAM SHA256 authentication failed: Connection error',
    );
    expect(isRetriableKafkaError(login)).toBe(false);
    expect(
      isRetriableKafkaError(
        new KafkaJSNumberOfRetriesExceeded(login, { retryCount: 5, retryTime: 3000 }),
      ),
    ).toBe(false);
    const acl = protocolError(
      'TOPIC_AUTHORIZATION_FAILED',
      false,
      'Not authorized to access topics: [Topic authorization failed]',
    );
    expect(isRetriableKafkaError(acl)).toBe(false);
    // A message that reads like a transient one does not make an untyped error retriable.
    expect(isRetriableKafkaError(new Error('Connection error: timed out'))).toBe(false);
    expect(isRetriableKafkaError(new TypeError('x'))).toBe(false);
    expect(isRetriableKafkaError(undefined)).toBe(false);
  });
});

describe('isTransientLogLine', () => {
  it('recognizes the states kafkajs logs at ERROR while it retries them', () => {
    expect(
      isTransientLogLine(
        'Failed to send messages: This server does not host this topic-partition',
        undefined,
      ),
    ).toBe(true);
    expect(
      isTransientLogLine(
        'The group is rebalancing, re-joining',
        'The group is rebalancing, so a rejoin is needed',
      ),
    ).toBe(true);
    expect(isTransientLogLine('Crash: KafkaJSSASLAuthenticationError', 'SASL failed')).toBe(false);
  });
});
