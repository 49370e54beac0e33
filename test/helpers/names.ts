import { randomBytes } from 'node:crypto';

/** A name no other test (or earlier run) uses: topics, groups, databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** InfluxDB database names are safest without dashes. */
export function uniqueDatabase(prefix: string): string {
  return uniqueName(prefix).replace(/-/g, '_');
}
