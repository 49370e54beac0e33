import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register } from 'prom-client';

/**
 * Readiness as the detector sees it: each named check is true when that part is ready
 * (consumer joined, model loaded, ...). Liveness fails only when a part reports itself broken.
 */
export class Health {
  private readonly ready = new Map<string, boolean>();
  private readonly reasons = new Map<string, string>();
  private broken: string | null = null;

  /** A readiness check's state; a failing one may say why (shown in the /readyz body). */
  set(check: string, ok: boolean, reason?: string): void {
    this.ready.set(check, ok);
    if (!ok && reason) this.reasons.set(check, reason);
    else this.reasons.delete(check);
  }

  fail(reason: string): void {
    this.broken = reason;
  }

  get isReady(): boolean {
    return this.broken === null && this.ready.size > 0 && [...this.ready.values()].every(Boolean);
  }

  get isLive(): boolean {
    return this.broken === null;
  }

  report(): {
    live: boolean;
    ready: boolean;
    checks: Record<string, boolean>;
    reasons: Record<string, string>;
    broken: string | null;
  } {
    return {
      live: this.isLive,
      ready: this.isReady,
      checks: Object.fromEntries(this.ready),
      reasons: Object.fromEntries(this.reasons),
      broken: this.broken,
    };
  }
}

/** Extra read-only JSON endpoints, e.g. `/thresholds`: path → what to serve. */
export type JsonRoutes = Readonly<Record<string, () => unknown>>;

/**
 * Serves /metrics (Prometheus text), /healthz (liveness) and /readyz (readiness) for
 * Kubernetes probes, plus any `routes` as JSON. Port 0 picks a free port; the bound port is
 * returned.
 *
 * @example const { port, close } = await startHealthServer(health, 9464, '0.0.0.0', { '/thresholds': () => registry.list() })
 */
export async function startHealthServer(
  health: Health,
  port: number,
  host = '0.0.0.0',
  routes: JsonRoutes = {},
): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      register.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': register.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(err.message);
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' ? health.isLive : health.isReady;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(health.report()));
      return;
    }
    const route = path !== undefined ? routes[path] : undefined;
    if (route) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(route()));
      return;
    }
    const paths = ['/metrics', '/healthz', '/readyz', ...Object.keys(routes)];
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`not found: try ${paths.join(', ')}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
