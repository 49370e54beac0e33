/**
 * Event-level detection quality against known anomalies: an injected anomaly is found
 * when an event of its source falls inside it or within `tailMs` after it (a window keeps
 * an anomalous reading for W more readings, so its later windows still show it). An
 * event that matches no anomaly is a false event.
 */

export interface KnownAnomaly {
  source: string;
  startTime: number;
  endTime: number;
}

export interface DetectedEvent {
  source: string;
  eventTime: number;
}

export interface MatchResult {
  injected: number;
  found: number;
  events: number;
  trueEvents: number;
  falseEvents: number;
  /** Share of events that fall on an anomaly. */
  precision: number;
  /** Share of anomalies found. */
  recall: number;
  /** Per anomaly: was it found, and when first (event time). */
  perAnomaly: Array<{ anomaly: KnownAnomaly; firstEvent: number | null }>;
  /** How long after an anomaly's end an event still counts as on it. */
  tailMs: number;
}

/**
 * @example matchEvents(gen.anomalies, events, 32 * 60_000) // { found: 17, injected: 18, precision: 0.97, ... }
 */
export function matchEvents(
  anomalies: readonly KnownAnomaly[],
  events: readonly DetectedEvent[],
  tailMs: number,
): MatchResult {
  const bySource = new Map<string, KnownAnomaly[]>();
  for (const a of anomalies) {
    if (!bySource.has(a.source)) bySource.set(a.source, []);
    bySource.get(a.source)!.push(a);
  }
  const first = new Map<KnownAnomaly, number>();
  let trueEvents = 0;
  for (const e of events) {
    const hit = (bySource.get(e.source) ?? []).find(
      (a) => e.eventTime >= a.startTime && e.eventTime <= a.endTime + tailMs,
    );
    if (!hit) continue;
    trueEvents++;
    const seen = first.get(hit);
    if (seen === undefined || e.eventTime < seen) first.set(hit, e.eventTime);
  }
  const found = first.size;
  return {
    injected: anomalies.length,
    found,
    events: events.length,
    trueEvents,
    falseEvents: events.length - trueEvents,
    precision: events.length === 0 ? 1 : trueEvents / events.length,
    recall: anomalies.length === 0 ? 1 : found / anomalies.length,
    perAnomaly: anomalies.map((a) => ({ anomaly: a, firstEvent: first.get(a) ?? null })),
    tailMs,
  };
}
