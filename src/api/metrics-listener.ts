// etcd's --listen-metrics-urls: plain-http listeners beside the client port that serve /metrics
// (Prometheus's text format from the process's registry, src/metrics) and hand every other path to
// a handler the caller supplies (the member's /health); anything neither serves is a 404. The
// client port serves /metrics too, through metricsEndpoint.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { renderMetrics } from '../metrics/index.js';
import { pathOf } from './http/http-status.js';

export const METRICS_PATH = '/metrics';

/**
 * Answers a request it knows (true), or leaves it alone (false) for a 404; `path` is the URL's
 * path without its query (the shape of the client port's HTTP endpoints).
 */
export type MetricsListenerHandler = (request: IncomingMessage, response: ServerResponse, path: string) => boolean;

export interface MetricsListener {
  /** The bound port of each URL, in order (the real one for port 0). */
  readonly ports: readonly number[];
  close(): Promise<void>;
}

/** /metrics as an endpoint of the client port's HTTP side: answers that path, leaves the others. */
export function metricsEndpoint(_request: IncomingMessage, response: ServerResponse, path: string): boolean {
  if (path !== METRICS_PATH) return false;
  void serveMetrics(response);
  return true;
}

/** Writes the metrics as the answer to `response` (500 with the reason if they cannot be read). */
async function serveMetrics(response: ServerResponse): Promise<void> {
  try {
    const { contentType, body } = await renderMetrics();
    response.writeHead(200, { 'Content-Type': contentType }).end(body);
  } catch (error) {
    response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`error gathering metrics: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

/** Listens on every URL (http only; --listen-metrics-urls is checked so) and serves until closed. */
export async function startMetricsListener(urls: readonly string[], handle: MetricsListenerHandler = () => false): Promise<MetricsListener> {
  const servers: Server[] = [];
  const ports: number[] = [];
  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    // As etcd's mux: any method, the exact path, a query string ignored.
    const path = pathOf(request);
    if (metricsEndpoint(request, response, path)) return;
    if (handle(request, response, path)) return;
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
  };
  try {
    for (const url of urls) {
      const server = createServer(onRequest);
      servers.push(server);
      ports.push(await listen(server, url));
    }
  } catch (error) {
    await Promise.all(servers.map(closeServer));
    throw error;
  }
  return { ports, close: () => Promise.all(servers.map(closeServer)).then(() => {}) };
}

function listen(server: Server, url: string): Promise<number> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') throw new Error(`metrics listener: ${url} is not an http URL`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port === '' ? 80 : Number(parsed.port);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
