// The HTTP/1.1 side of a client URL: health and version, /metrics, and the JSON gateway, each
// answering the paths it owns; anything else gets Go's ServeMux answer, as on etcd.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CORS_HEADERS, pathOf, writePlainError } from './http-status.js';

/** A connection that sends and receives nothing for this long is closed (see createHttpFront). */
export const HTTP_IDLE_TIMEOUT_MS = 60_000;

/** Answers the request and returns true when `path` is its own. */
export type HttpEndpoint = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export function createHttpFront(endpoints: readonly HttpEndpoint[]): Server {
  const server = createServer((req, res) => {
    const path = pathOf(req);
    if (req.method === 'OPTIONS') {
      // etcd's CORS handling answers a preflight itself.
      res.writeHead(200, { ...CORS_HEADERS, 'Content-Length': '0' });
      res.end();
      return;
    }
    try {
      for (const endpoint of endpoints) if (endpoint(req, res, path)) return;
      writePlainError(res, 404, '404 page not found');
    } catch (error) {
      // An endpoint that throws answers 500; a request never takes the member down.
      if (!res.headersSent) writePlainError(res, 500, error instanceof Error ? error.message : String(error));
      else res.destroy();
    }
  });
  // Node enforces headersTimeout and requestTimeout only on a server that listens itself, and
  // this one is handed its connections: a connection idle this long is closed instead (a watch
  // turns it off for its own response, which may rightly be quiet for hours).
  server.timeout = HTTP_IDLE_TIMEOUT_MS;
  return server;
}
