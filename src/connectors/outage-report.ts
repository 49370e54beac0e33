import type { Gauge } from 'prom-client';
import { messageOf } from '../core/errors';
import { logger } from '../observability/logger';

/** How often a lasting outage is logged again. */
const REMINDER_MS = 30_000;

/**
 * How a sink that retries through outages (InfluxDB, Kafka) reports them: one warning when
 * its writes start failing, a reminder every 30 s while they keep failing (a long wait is
 * never silent), one info line when they work again, and a 0/1 gauge
 * (`aestream_influx_up`, `aestream_kafka_sink_up`) for alerts.
 *
 * @example
 * const outage = new OutageReport(upGauge, { topic }, 'Kafka unavailable: ...', 'Kafka writes work again');
 * await retry(send, { onRetry: (err) => outage.failed(err, { messages: n }) });
 * outage.succeeded();
 */
export class OutageReport<L extends string> {
  private down = false;
  private downSince = 0;
  private remindedAt = 0;

  constructor(
    private readonly up: Gauge<L>,
    private readonly labels: Partial<Record<L, string>>,
    private readonly downMessage: string,
    private readonly upMessage: string,
  ) {
    up.set(labels, 1);
  }

  /** True while writes are failing and being retried. */
  get isDown(): boolean {
    return this.down;
  }

  /** How long writes have been failing (ms); 0 while they work. */
  downForMs(now = Date.now()): number {
    return this.down ? now - this.downSince : 0;
  }

  /**
   * A write failed and will be retried: the first failure of an outage is logged, then a
   * reminder at most every `REMINDER_MS` while it lasts, so a long wait is never silent.
   */
  failed(err: unknown, fields: Record<string, unknown> = {}, now = Date.now()): void {
    if (this.down) {
      if (now - this.remindedAt < REMINDER_MS) return;
      this.remindedAt = now;
      const seconds = Math.round((now - this.downSince) / 1000);
      const where = { ...this.where(), err: messageOf(err), seconds, ...fields };
      logger.warn(where, `${this.downMessage.split(':')[0]} for ${seconds} s, still retrying`);
      return;
    }
    this.down = true;
    this.downSince = now;
    this.remindedAt = now;
    this.up.set(this.labels, 0);
    logger.warn({ ...this.where(), err: messageOf(err), ...fields }, this.downMessage);
  }

  /** A write went through; ends the outage if there was one. */
  succeeded(): void {
    if (!this.down) return;
    this.down = false;
    this.up.set(this.labels, 1);
    logger.info(this.where(), this.upMessage);
  }

  /** The labels as log fields (which database, which topic). */
  private where(): Record<string, unknown> {
    return { ...this.labels };
  }
}
