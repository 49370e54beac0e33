import {
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { AeError, ErrorCodes, messageOf } from '../../core/errors';

/**
 * The broker states that pass by themselves, by kafkajs protocol error type, with the
 * message kafkajs gives them (its log lines carry only the message): a topic just created
 * (no partition hosted, no leader yet), leadership moving, a group rebalancing, its
 * coordinator loading or moving. kafkajs retries them itself.
 */
const TRANSIENT = new Map([
  ['UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition'],
  ['LEADER_NOT_AVAILABLE', 'There is no leader for this topic-partition'],
  ['NOT_LEADER_FOR_PARTITION', 'This server is not the leader for that topic-partition'],
  ['REBALANCE_IN_PROGRESS', 'The group is rebalancing'],
  ['GROUP_LOAD_IN_PROGRESS', 'The coordinator is loading'],
  ['GROUP_COORDINATOR_NOT_AVAILABLE', 'The group coordinator is not available'],
  ['NOT_COORDINATOR_FOR_GROUP', 'This is not the correct coordinator for this group'],
]);

/** Whether a kafkajs log line is about a transient state (kafkajs logs them at ERROR while it retries). */
export function isTransientLogLine(message: string, error: unknown): boolean {
  const text = `${message} ${String(error ?? '')}`;
  for (const start of TRANSIENT.values()) if (text.includes(start)) return true;
  return false;
}

/** Protocol error types of a wrong password or a missing ACL: waiting never heals them. */
const REFUSED_TYPES = /^(SASL_AUTHENTICATION_FAILED|ILLEGAL_SASL_STATE|.*_AUTHORIZATION_FAILED)$/;

/**
 * Whether a failed Kafka call is worth making again, by the error's class, protocol type
 * and `retriable` flag along its causes:
 * - refused credentials or permissions never are;
 * - an error kafkajs marks retriable is (broker unreachable or restarting, request timed
 *   out, leadership moving), also once kafkajs used up its own retries on it
 *   (KafkaJSNumberOfRetriesExceeded: kafkajs retries only what it deems retriable);
 * - so are the transient protocol states above, and a group coordinator not found (kafkajs
 *   gives up on it while a restarted broker loads the group offsets).
 * A message too large, an invalid request or a programming error are not.
 */
export function isRetriableKafkaError(err: unknown): boolean {
  const chain: unknown[] = [];
  for (let e = err; e && chain.length < 5; e = causeOf(e)) chain.push(e);
  if (chain.some(isRefused)) return false;
  return chain.some(
    (e) =>
      (e as { retriable?: unknown }).retriable === true ||
      e instanceof KafkaJSNumberOfRetriesExceeded ||
      e instanceof KafkaJSGroupCoordinatorNotFound ||
      (e instanceof KafkaJSProtocolError && TRANSIENT.has(e.type)),
  );
}

function isRefused(e: unknown): boolean {
  return (
    e instanceof KafkaJSSASLAuthenticationError ||
    (e instanceof KafkaJSProtocolError && REFUSED_TYPES.test(e.type))
  );
}

function causeOf(e: unknown): unknown {
  const { cause, originalError } = e as { cause?: unknown; originalError?: unknown };
  return cause ?? originalError;
}

/** AE_ERR_KAFKA for a failed Kafka call, `retriable` as isRetriableKafkaError judges its cause. */
export function kafkaError(what: string, cause: unknown): AeError {
  return new AeError(ErrorCodes.KAFKA, `${what}: ${messageOf(cause)}`, {
    cause,
    retriable: isRetriableKafkaError(cause),
  });
}
