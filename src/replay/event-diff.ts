import type { AnomalyEvent } from '../core/records';

/** An event present in both sets (same id: the same input record), with both scores. */
export interface UnchangedEvent {
  id: string;
  source: string;
  production: { score: number; threshold: number; modelVersion: string };
  replay: { score: number; threshold: number; modelVersion: string };
}

/** Counts of one source (or of all sources: `source` '*'). */
export interface EventDiffRow {
  source: string;
  production: number;
  replay: number;
  added: number;
  removed: number;
  unchanged: number;
}

/**
 * How a replay's events differ from production's for the same input records. Events are
 * matched by id (the input coordinates), so a frame flagged by both is `unchanged` even
 * when its score moved; `added` are flagged by the replay only, `removed` by production only.
 */
export interface EventDiff {
  added: AnomalyEvent[];
  removed: AnomalyEvent[];
  unchanged: UnchangedEvent[];
  /** One row per source, by source name, then the total (source '*'). */
  rows: EventDiffRow[];
}

/**
 * Compares two event sets by id. Duplicates within a set (at-least-once redelivery gives
 * the same id again) count once, the last one seen.
 *
 * @example diffEvents(productionEvents, replayEvents).rows.at(-1) // { source: '*', added: 3, removed: 1, ... }
 */
export function diffEvents(
  production: readonly AnomalyEvent[],
  replay: readonly AnomalyEvent[],
): EventDiff {
  const prod = byId(production);
  const next = byId(replay);
  const added: AnomalyEvent[] = [];
  const removed: AnomalyEvent[] = [];
  const unchanged: UnchangedEvent[] = [];
  for (const [id, e] of next) {
    const p = prod.get(id);
    if (p === undefined) {
      added.push(e);
    } else {
      unchanged.push({
        id,
        source: e.source,
        production: { score: p.score, threshold: p.threshold, modelVersion: p.modelVersion },
        replay: { score: e.score, threshold: e.threshold, modelVersion: e.modelVersion },
      });
    }
  }
  for (const [id, p] of prod) if (!next.has(id)) removed.push(p);

  const rows = new Map<string, EventDiffRow>();
  const row = (source: string): EventDiffRow => {
    let r = rows.get(source);
    if (!r) {
      r = { source, production: 0, replay: 0, added: 0, removed: 0, unchanged: 0 };
      rows.set(source, r);
    }
    return r;
  };
  for (const e of prod.values()) row(e.source).production++;
  for (const e of next.values()) row(e.source).replay++;
  for (const e of added) row(e.source).added++;
  for (const e of removed) row(e.source).removed++;
  for (const u of unchanged) row(u.source).unchanged++;
  const sorted = [...rows.values()].sort((a, b) => (a.source < b.source ? -1 : 1));
  const total: EventDiffRow = {
    source: '*',
    production: prod.size,
    replay: next.size,
    added: added.length,
    removed: removed.length,
    unchanged: unchanged.length,
  };
  const byOffset = (a: AnomalyEvent, b: AnomalyEvent) =>
    a.input.partition - b.input.partition || a.input.offset - b.input.offset;
  return {
    added: added.sort(byOffset),
    removed: removed.sort(byOffset),
    unchanged: unchanged.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    rows: [...sorted, total],
  };
}

function byId(events: readonly AnomalyEvent[]): Map<string, AnomalyEvent> {
  const out = new Map<string, AnomalyEvent>();
  for (const e of events) out.set(e.id, e);
  return out;
}

/**
 * The diff as a plain-text table, one line per source and a total line.
 *
 * @example console.log(diffTable(diffEvents(prod, replay)))
 */
export function diffTable(diff: EventDiff): string {
  const head = ['source', 'production', 'replay', 'added', 'removed', 'unchanged'];
  const lines = diff.rows.map((r) => [
    r.source === '*' ? 'total' : r.source,
    String(r.production),
    String(r.replay),
    String(r.added),
    String(r.removed),
    String(r.unchanged),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(head), ...lines.map(fmt)].join('\n');
}

/**
 * The diff as JSON-ready data (events with their contributions, the counts), for the file
 * `aestream replay --diff` writes.
 */
export function diffJson(diff: EventDiff, meta: Record<string, unknown>): Record<string, unknown> {
  const total = diff.rows.at(-1)!;
  return {
    ...meta,
    counts: {
      production: total.production,
      replay: total.replay,
      added: total.added,
      removed: total.removed,
      unchanged: total.unchanged,
    },
    bySource: diff.rows.filter((r) => r.source !== '*'),
    added: diff.added,
    removed: diff.removed,
    unchanged: diff.unchanged,
  };
}
