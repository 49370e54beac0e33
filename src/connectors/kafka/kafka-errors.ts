/** What kafkajs says when a broker is restarting or its group coordinator is not loaded yet. */
const TRANSIENT_MESSAGE =
  /find group coordinator|not the correct coordinator|coordinator is (loading|not available)|ECONNREFUSED|Closed connection|Connection error|Broker not connected|timed out/i;

/**
 * Whether a failed Kafka call is worth making again: the broker is unreachable, restarting,
 * or moving leadership (kafkajs marks those retriable, also inside the error it throws once
 * its own few retries are used up, or gives up finding a group coordinator while a broker
 * restarts). A message too large or a missing permission is not.
 */
export function isRetriableKafkaError(err: unknown): boolean {
  let e = err as
    { retriable?: boolean; name?: string; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    // A wrong password or a missing ACL never heals by waiting.
    if (e.name !== undefined && /Authentication|Authorization/.test(e.name)) return false;
    if (e.retriable === true) return true;
    if (e.name !== undefined && /Connection|RequestTimeout|BrokerNotFound/.test(e.name))
      return true;
    if (typeof (e as { message?: unknown }).message === 'string') {
      if (TRANSIENT_MESSAGE.test((e as { message: string }).message)) return true;
    }
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}
