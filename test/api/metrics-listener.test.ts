// The --listen-metrics-urls listener on its own: /metrics from the process's registry, other paths
// to the caller's handler, 404 for what neither serves.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsListener, type MetricsListener } from '../../src/api/metrics-listener.js';

describe('startMetricsListener', () => {
  let listener: MetricsListener;
  const handledPaths: string[] = [];
  let base: string;

  beforeAll(async () => {
    listener = await startMetricsListener(['http://127.0.0.1:0'], (_request, response, path) => {
      handledPaths.push(path);
      if (path !== '/health') return false;
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"health":"true"}');
      return true;
    });
    base = `http://127.0.0.1:${listener.ports[0]}`;
  });

  afterAll(() => listener?.close());

  it("serves /metrics in Prometheus's text format, for any method and with a query string, as etcd does", async () => {
    for (const [method, path] of [['GET', '/metrics'], ['POST', '/metrics'], ['GET', '/metrics?name[]=up']] as const) {
      const response = await fetch(`${base}${path}`, { method });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await response.text()).toContain('# TYPE etcd_server_has_leader gauge\n');
    }
  });

  it("hands other paths to the caller's handler, and answers 404 for what it leaves", async () => {
    const health = await fetch(`${base}/health?serializable=true`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ health: 'true' });
    const missing = await fetch(`${base}/metricsx`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('404 page not found\n');
    expect(handledPaths).toEqual(['/health', '/metricsx']);
  });

  it('closes its port', async () => {
    const extra = await startMetricsListener(['http://127.0.0.1:0']);
    await extra.close();
    await expect(fetch(`http://127.0.0.1:${extra.ports[0]}/metrics`)).rejects.toThrow();
  });
});
