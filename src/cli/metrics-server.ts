import { createServer, type Server } from 'node:http';
import { setupError, usageError } from '../core/errors.js';
import { quote } from '../core/quote.js';
import { LiveMetrics } from '../run/live-metrics.js';

/** The longest a run waits, once its results are written, for a scraper to take its final counts. */
const FINAL_SCRAPE_MAX_MS = 30_000;
/**
 * Requests that arrived while the run's last steps held the event loop are answered in the first moments after it,
 * when their scraper may have given up on them (Prometheus waits at most its scrape interval): a scrape counts as the
 * final one when asked for half an interval (at least this long) after the end, which a queued one never is.
 */
const QUEUED_SCRAPES_MIN_MS = 100;

/** --metrics-listen [HOST:]PORT: loopback unless a host is named (the figures are the lab's, not the network's). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[\w.-]+):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw usageError(`--metrics-listen must be [HOST:]PORT, not ${quote(value)}`, 'for example --metrics-listen 9464 (loopback), or 0.0.0.0:9464 to be scraped from other hosts');
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}

/**
 * Serves a run's live metrics at /metrics while it runs (OpenMetrics/Prometheus text). At the end it waits for one
 * more scrape, so that a scraper that has been taking them also takes the final counts; no wait if none came.
 */
export class MetricsServer {
  private scrapes: number[] = [];
  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  static async start(metrics: LiveMetrics, listen: string): Promise<MetricsServer> {
    const { host, port } = parseListen(listen);
    let self: MetricsServer | undefined;
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('hsm-bench serves /metrics\n');
        return;
      }
      // A scrape counts from when it was asked for: one asked before the end carries counts from before it.
      const askedAtMs = Date.now();
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text, () => self?.scrapes.push(askedAtMs));
        },
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(setupError(`--metrics-listen cannot listen on ${host}:${port}: ${error.code ?? error.message}`, 'give a free port (or 0 for any), or a host address of this machine')),
      );
      server.listen(port, host, () => resolve());
    });
    const bound = server.address();
    self = new MetricsServer(server, typeof bound === 'object' && bound !== null ? `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}` : `${host}:${port}`);
    return self;
  }

  /**
   * After the results: waits until a scrape asked for well after `endedAtMs` (not one queued until then) has been
   * answered, up to three times the interval seen so far, then closes.
   */
  async close(endedAtMs: number): Promise<void> {
    const s = this.scrapes;
    if (s.length >= 2) {
      const intervalMs = (s[s.length - 1]! - s[0]!) / (s.length - 1);
      const untilMs = Date.now() + Math.min(FINAL_SCRAPE_MAX_MS, 3 * intervalMs + 2000);
      const freshAfterMs = endedAtMs + Math.max(QUEUED_SCRAPES_MIN_MS, intervalMs / 2);
      while (this.scrapes[this.scrapes.length - 1]! <= freshAfterMs && Date.now() < untilMs) await new Promise((r) => setTimeout(r, 50));
    }
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * --metrics-listen: a run's live metrics served while `work` runs, and closed once it has ended (after the final
 * scrape); without the flag, `work` runs alone.
 */
export async function withLiveMetrics<T>(listen: string | undefined, log: (line: string) => void, work: (live: LiveMetrics | undefined) => Promise<T>): Promise<T> {
  if (listen === undefined) return work(undefined);
  const live = new LiveMetrics();
  const server = await MetricsServer.start(live, listen);
  log(`live metrics: http://${server.address}/metrics`);
  try {
    return await work(live);
  } finally {
    await server.close(Date.now());
  }
}
