// etcd's health endpoints on the client port (and on --listen-metrics-urls):
// - GET /health: `{"health":"true","reason":""}` (200) when no alarm is raised, the member knows a
//   leader and a read goes through; otherwise `"false"` with the reason, 503 (etcd 3.5's reasons:
//   "ALARM NOSPACE", "RAFT NO LEADER", "RANGE ERROR:..."). `?exclude=NOSPACE` ignores that alarm;
//   `?serializable=true` skips the leader and reads locally.
// - GET /livez, /readyz: etcd 3.5.12's checks, "ok" or a list of `[-]name failed: why`;
//   `?verbose` lists every check, `?exclude=name` skips one, `/readyz/<name>` runs one.
// - GET /version: `{"etcdserver": ..., "etcdcluster": ...}` as Status reports the version.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MemberServers } from '../../server/servers.js';
import { SERVER_VERSION } from '../handlers.js';
import { CORS_HEADERS, writePlainError } from './http-status.js';

const ALARM_NAMES: Record<number, string> = { 1: 'NOSPACE', 2: 'CORRUPT' };

type Check = () => Promise<string | null>;

export class HealthEndpoints {
  constructor(private readonly member: MemberServers) {}

  /** True when `path` is one of these endpoints; it has then answered. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    // Only the query is wanted; `new URL` throws on request targets such as "//".
    const url = req.url ?? '';
    const queryStart = url.indexOf('?');
    const query = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1));
    if (path === '/health') this.answer(req, res, () => this.health(res, query));
    else if (path === '/version') this.answer(req, res, async () => this.version(res));
    else if (path === '/livez' || path.startsWith('/livez/')) this.answer(req, res, () => this.runChecks(res, path, query, { serializable_read: this.readCheck(true) }));
    else if (path === '/readyz' || path.startsWith('/readyz/')) {
      this.answer(req, res, () =>
        this.runChecks(res, path, query, {
          data_corruption: async () => (this.alarms().includes('CORRUPT') ? 'alarm activated: CORRUPT' : null),
          linearizable_read: this.readCheck(false),
          non_learner: async () => ((await this.member.maintenance.status()).isLearner ? 'not supported for learner' : null),
          serializable_read: this.readCheck(true),
        }),
      );
    } else return false;
    return true;
  }

  private answer(req: IncomingMessage, res: ServerResponse, respond: () => Promise<void>): void {
    if (req.method !== 'GET') return writePlainError(res, 405, 'Method Not Allowed', { Allow: 'GET' });
    respond().catch((error: unknown) => {
      if (!res.headersSent) writePlainError(res, 500, error instanceof Error ? error.message : String(error));
    });
  }

  private async health(res: ServerResponse, query: URLSearchParams): Promise<void> {
    const reason = await this.healthReason(query);
    const body = JSON.stringify({ health: reason === null ? 'true' : 'false', reason: reason ?? '' });
    // etcd writes the healthy answer as text/plain, and the unhealthy one through http.Error.
    if (reason === null) {
      res.writeHead(200, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(body);
    } else writePlainError(res, 503, body);
  }

  /** The alarms raised anywhere in the cluster, by name. */
  private alarms(): string[] {
    return this.member.maintenance.alarmDescriptions().map((description) => /alarm:(\w+)/.exec(description)?.[1] ?? 'UNKNOWN');
  }

  /** etcd's /health verdict: null when healthy, else its reason. */
  async healthReason(query: URLSearchParams): Promise<string | null> {
    const excluded = new Set(query.getAll('exclude'));
    const serializable = query.get('serializable') === 'true';
    for (const alarm of this.alarms()) {
      if (excluded.has(alarm)) continue;
      return Object.values(ALARM_NAMES).includes(alarm) ? `ALARM ${alarm}` : 'ALARM UNKNOWN';
    }
    if (!serializable && !this.member.hasLeader()) return 'RAFT NO LEADER';
    const failure = await this.readCheck(serializable)();
    return failure === null ? null : `RANGE ERROR:${failure}`;
  }

  /**
   * A one-key read, local or linearizable: null, or why it failed. The member bounds a
   * linearizable read by etcd's request timeout itself (read-index.ts), so none is added here.
   */
  private readCheck(serializable: boolean): Check {
    return async () => {
      try {
        await this.member.kv.range({ key: Buffer.from('health'), limit: 1, keys_only: true, serializable } as never);
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
  }

  private async version(res: ServerResponse): Promise<void> {
    const [major, minor] = SERVER_VERSION.split('.');
    res.writeHead(200, { ...CORS_HEADERS, 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ etcdserver: SERVER_VERSION, etcdcluster: `${major}.${minor}.0` }));
  }

  private async runChecks(res: ServerResponse, path: string, query: URLSearchParams, checks: Record<string, Check>): Promise<void> {
    const [, root, only] = path.split('/');
    let names = Object.keys(checks).sort();
    if (only !== undefined) {
      if (!names.includes(only)) return writePlainError(res, 404, '404 page not found');
      names = [only];
    }
    const excluded = new Set(query.getAll('exclude'));
    let report = '';
    let failed = false;
    for (const name of names) {
      if (excluded.has(name)) {
        report += `[+]${name} excluded: ok\n`;
        continue;
      }
      const failure = await checks[name]!();
      if (failure === null) report += `[+]${name} ok\n`;
      else {
        failed = true;
        report += `[-]${name} failed: ${failure}\n`;
      }
    }
    if (failed) {
      res.writeHead(503, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(`${report}${root} check failed\n`);
      return;
    }
    res.writeHead(200, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(query.has('verbose') ? `${report}${root} check passed\n` : 'ok\n');
  }
}
