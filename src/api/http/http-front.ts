// The HTTP/1.1 side of a client URL: health and version, /metrics, and the JSON gateway, each
// answering the paths it owns; anything else gets Go's ServeMux answer, as on etcd.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CORS_HEADERS, pathOf, writePlainError } from './http-status.js';

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
    for (const endpoint of endpoints) if (endpoint(req, res, path)) return;
    writePlainError(res, 404, '404 page not found');
  });
  // A watch answers for as long as the client stays; nothing here times a response out.
  server.requestTimeout = 0;
  return server;
}
