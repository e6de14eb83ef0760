// The failpoint control endpoint (test harnesses only): started when RAFTKV_FAILPOINTS_ADDR names a
// loopback host:port. GET / lists the failpoints set; PUT /<name> with the value as the body sets
// one; DELETE /<name> clears it. An unknown name answers 404.

import { createServer, type Server } from 'node:http';
import { UnknownFailpointError, type Failpoints } from '../failpoints/failpoints.js';

export async function startFailpointServer(address: string, failpoints: Failpoints): Promise<Server> {
  const { hostname, port } = new URL(`http://${address}`);
  if (hostname !== '127.0.0.1' && hostname !== 'localhost' && hostname !== '[::1]') throw new Error(`RAFTKV_FAILPOINTS_ADDR must be a loopback address, got ${address}`);
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const name = decodeURIComponent((request.url ?? '/').slice(1));
      try {
        if (request.method === 'PUT') failpoints.set(name, body);
        else if (request.method === 'DELETE') failpoints.clear(name);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(failpoints.list()));
      } catch (error) {
        response.writeHead(error instanceof UnknownFailpointError ? 404 : 400).end(error instanceof Error ? error.message : String(error));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), hostname.replace(/^\[|\]$/g, ''), resolve);
  });
  server.unref();
  return server;
}
