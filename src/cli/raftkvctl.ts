// raftkvctl: a client for people without etcdctl. Same command and argument shapes as etcdctl v3
// (put, get, del, txn, compaction, watch, lease grant|revoke|timetolive|list|keep-alive, member list,
// endpoint status|health), its "simple" output and `-w json`. Lease IDs are hex, as etcdctl's. --endpoints defaults to the cluster `npm start` brings up.

import { readFileSync } from 'node:fs';
import { credentials, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { services } from '../api/protos.js';

const DEFAULT_ENDPOINTS = '127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379';
const TIMEOUT_MS = 5000;

class UsageError extends Error {}

interface Options {
  endpoints: string[];
  json: boolean;
  flags: Map<string, string>;
  args: string[];
}

function parse(argv: readonly string[]): Options {
  const flags = new Map<string, string>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('--') && !(word.startsWith('-') && word.length === 2)) {
      args.push(word);
      continue;
    }
    const body = word.replace(/^--?/, '');
    const eq = body.indexOf('=');
    if (eq >= 0) flags.set(body.slice(0, eq), body.slice(eq + 1));
    else if (['w', 'write-out', 'endpoints', 'rev', 'limit', 'sort-by', 'order', 'lease'].includes(body)) flags.set(body, argv[++i] ?? '');
    else flags.set(body, 'true');
  }
  const endpoints = (flags.get('endpoints') ?? process.env.RAFTKVCTL_ENDPOINTS ?? DEFAULT_ENDPOINTS).split(',').map((e) => e.replace(/^https?:\/\//, ''));
  const json = (flags.get('w') ?? flags.get('write-out')) === 'json';
  return { endpoints, json, flags, args };
}

type Unary = (request: object, options: object, callback: (error: Error | null, response: any) => void) => void;

/** Calls `method` on the first endpoint that answers. */
async function call(options: Options, service: keyof typeof services, method: string, request: object, endpoint?: string): Promise<any> {
  let lastError: unknown;
  for (const target of endpoint === undefined ? options.endpoints : [endpoint]) {
    const client: Client = new services[service](target, credentials.createInsecure());
    try {
      return await new Promise((resolve, reject) => {
        const fn = (client as unknown as Record<string, Unary>)[method].bind(client);
        fn(request, { deadline: Date.now() + TIMEOUT_MS }, (error, response) => (error ? reject(error) : resolve(response)));
      });
    } catch (error) {
      lastError = error;
      // etcd's own errors are answers, not unreachable endpoints: stop at the first one.
      if ((error as { details?: string }).details?.startsWith('etcdserver:')) throw error;
    } finally {
      client.close();
    }
  }
  throw lastError;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** The byte after the prefix's last non-0xff byte: etcd's prefix range end. */
function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) return Buffer.concat([end.subarray(0, i), Buffer.from([end[i] + 1])]);
  }
  return Buffer.from([0]);
}

function rangeEnd(options: Options, key: Buffer, explicit: string | undefined): Buffer | undefined {
  if (options.flags.has('prefix')) return prefixEnd(key);
  if (options.flags.has('from-key')) return Buffer.from([0]);
  return explicit === undefined ? undefined : bytes(explicit);
}

const SORT_TARGETS: Record<string, number> = { KEY: 0, VERSION: 1, CREATE: 2, MODIFY: 3, VALUE: 4 };
const SORT_ORDERS: Record<string, number> = { ASCEND: 1, DESCEND: 2 };

function printKvs(options: Options, kvs: any[]): void {
  for (const kv of kvs) {
    if (!options.flags.has('print-value-only')) console.log(kv.key.toString());
    if (!options.flags.has('keys-only')) console.log(kv.value.toString());
  }
}

/** etcd's JSON form: bytes as base64, as etcdctl prints them. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('base64') : v));
}

async function put(options: Options): Promise<void> {
  const [key, value] = options.args;
  if (key === undefined || value === undefined) throw new UsageError('put needs <key> <value>');
  const response = await call(options, 'KV', 'Put', { key: bytes(key), value: bytes(value), prev_kv: options.flags.has('prev-kv'), lease: parseLeaseId(options.flags.get('lease') ?? '0') });
  if (options.json) return console.log(toJson(response));
  console.log('OK');
  if (response.prev_kv) printKvs(options, [response.prev_kv]);
}

function rangeRequest(options: Options, key: string, explicitEnd: string | undefined): object {
  const keyBytes = bytes(key);
  const end = rangeEnd(options, keyBytes, explicitEnd);
  return {
    key: keyBytes,
    ...(end === undefined ? {} : { range_end: end }),
    revision: Number(options.flags.get('rev') ?? 0),
    limit: Number(options.flags.get('limit') ?? 0),
    keys_only: options.flags.has('keys-only'),
    count_only: options.flags.has('count-only'),
    sort_target: SORT_TARGETS[(options.flags.get('sort-by') ?? 'KEY').toUpperCase()] ?? 0,
    sort_order: SORT_ORDERS[(options.flags.get('order') ?? '').toUpperCase()] ?? (options.flags.has('sort-by') ? 1 : 0),
    serializable: options.flags.get('consistency') === 's',
  };
}

async function get(options: Options): Promise<void> {
  const [key, end] = options.args;
  if (key === undefined) throw new UsageError('get needs <key> [range_end]');
  const response = await call(options, 'KV', 'Range', rangeRequest(options, key, end));
  if (options.json) return console.log(toJson(response));
  printKvs(options, response.kvs);
}

async function del(options: Options): Promise<void> {
  const [key, end] = options.args;
  if (key === undefined) throw new UsageError('del needs <key> [range_end]');
  const keyBytes = bytes(key);
  const rangeEndBytes = rangeEnd(options, keyBytes, end);
  const response = await call(options, 'KV', 'DeleteRange', { key: keyBytes, ...(rangeEndBytes === undefined ? {} : { range_end: rangeEndBytes }), prev_kv: options.flags.has('prev-kv') });
  if (options.json) return console.log(toJson(response));
  console.log(String(response.deleted));
  printKvs(options, response.prev_kvs ?? []);
}

const COMPARE_TARGETS: Record<string, [number, string]> = {
  version: [0, 'version'],
  create: [1, 'create_revision'],
  mod: [2, 'mod_revision'],
  value: [3, 'value'],
  lease: [4, 'lease'],
};
const COMPARE_RESULTS: Record<string, number> = { '=': 0, '>': 1, '<': 2, '!=': 3 };

/** etcdctl's interactive txn input: compares, blank line, success ops, blank line, failure ops. */
function parseTxn(input: string): object {
  const [compares = '', success = '', failure = ''] = input.replace(/\r/g, '').split(/\n\s*\n/);
  const compare = compares.split('\n').filter((line) => line.trim()).map((line) => {
    const match = /^\s*(\w+)\("([^"]*)"\)\s*(=|!=|<|>)\s*"([^"]*)"\s*$/.exec(line);
    if (match === null) throw new UsageError(`bad compare: ${line}`);
    const [, targetName, key, operator, operand] = match;
    const target = COMPARE_TARGETS[targetName];
    if (target === undefined) throw new UsageError(`bad compare target: ${targetName}`);
    return { key: bytes(key), target: target[0], result: COMPARE_RESULTS[operator], [target[1]]: target[0] === 3 ? bytes(operand) : Number(operand) };
  });
  const ops = (text: string): object[] =>
    text.split('\n').filter((line) => line.trim()).map((line) => {
      const [verb, key, value] = line.trim().split(/\s+/);
      if (verb === 'put' && key !== undefined && value !== undefined) return { request_put: { key: bytes(key), value: bytes(value) } };
      if (verb === 'get' && key !== undefined) return { request_range: { key: bytes(key) } };
      if (verb === 'del' && key !== undefined) return { request_delete_range: { key: bytes(key) } };
      throw new UsageError(`bad txn operation: ${line}`);
    });
  return { compare, success: ops(success), failure: ops(failure) };
}

async function txn(options: Options): Promise<void> {
  const response = await call(options, 'KV', 'Txn', parseTxn(readFileSync(0, 'utf8')));
  if (options.json) return console.log(toJson(response));
  console.log(response.succeeded ? 'SUCCESS' : 'FAILURE');
  for (const op of response.responses) {
    console.log('');
    if (op.response_put) console.log('OK');
    else if (op.response_range) printKvs(options, op.response_range.kvs);
    else if (op.response_delete_range) console.log(String(op.response_delete_range.deleted));
  }
}

async function compaction(options: Options): Promise<void> {
  const revision = Number(options.args[0]);
  if (!Number.isSafeInteger(revision) || revision <= 0) throw new UsageError('compaction needs <revision>');
  await call(options, 'KV', 'Compact', { revision, physical: options.flags.has('physical') });
  console.log(`compacted revision ${revision}`);
}

const hex = (id: unknown): string => Number(id).toString(16);
const leaseHex = (id: unknown): string => Number(id).toString(16).padStart(16, '0');

function parseLeaseId(text: string): number {
  const id = parseInt(text, 16);
  if (!/^[0-9a-fA-F]+$/.test(text) || !Number.isSafeInteger(id)) throw new UsageError(`bad lease ID "${text}" (hex expected)`);
  return id;
}

/** A bidirectional stream on the first endpoint; ends the process with its error. */
function openStream(options: Options, service: 'Watch' | 'Lease', method: string): ClientDuplexStream<any, any> {
  const client = new services[service](options.endpoints[0], credentials.createInsecure());
  const stream = (client as unknown as Record<string, () => ClientDuplexStream<any, any>>)[method].call(client);
  stream.on('error', (error: Error & { details?: string; code?: number }) => {
    if (error.code === 1) return; // canceled by us
    console.error(`Error: ${error.details ?? error.message}`);
    process.exit(1);
  });
  return stream;
}

async function watch(options: Options): Promise<void> {
  const [key, end] = options.args;
  if (key === undefined) throw new UsageError('watch needs <key> [range_end]');
  const keyBytes = bytes(key);
  const rangeEndBytes = rangeEnd(options, keyBytes, end);
  const stream = openStream(options, 'Watch', 'Watch');
  stream.write({
    create_request: {
      key: keyBytes,
      ...(rangeEndBytes === undefined ? {} : { range_end: rangeEndBytes }),
      start_revision: Number(options.flags.get('rev') ?? 0),
      prev_kv: options.flags.has('prev-kv'),
      progress_notify: options.flags.has('progress-notify'),
    },
  });
  await new Promise<void>((resolve) => {
    stream.on('data', (response: any) => {
      if (options.json) return console.log(toJson(response));
      if (response.canceled) {
        console.error(`watch was canceled (${response.cancel_reason || 'no reason'})`);
        stream.cancel();
        resolve();
        return;
      }
      for (const event of response.events ?? []) {
        console.log(event.type === 1 || event.type === 'DELETE' ? 'DELETE' : 'PUT');
        if (event.prev_kv) printKvs(options, [event.prev_kv]);
        printKvs(options, [event.kv]);
      }
    });
    stream.on('end', () => resolve());
  });
}

async function lease(options: Options, subcommand: string | undefined): Promise<void> {
  const [argument] = options.args;
  switch (subcommand) {
    case 'grant': {
      const ttl = Number(argument);
      if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new UsageError('lease grant needs <ttl> in seconds');
      const response = await call(options, 'Lease', 'LeaseGrant', { TTL: ttl, ID: 0 });
      return options.json ? console.log(toJson(response)) : console.log(`lease ${leaseHex(response.ID)} granted with TTL(${response.TTL}s)`);
    }
    case 'revoke': {
      const id = parseLeaseId(argument ?? '');
      const response = await call(options, 'Lease', 'LeaseRevoke', { ID: id });
      return options.json ? console.log(toJson(response)) : console.log(`lease ${leaseHex(id)} revoked`);
    }
    case 'timetolive': {
      const id = parseLeaseId(argument ?? '');
      const response = await call(options, 'Lease', 'LeaseTimeToLive', { ID: id, keys: options.flags.has('keys') });
      if (options.json) return console.log(toJson(response));
      if (Number(response.TTL) === -1) return console.log(`lease ${leaseHex(id)} already expired`);
      const keys = options.flags.has('keys') ? `, attached keys([${response.keys.map((key: Buffer) => key.toString()).join(' ')}])` : '';
      return console.log(`lease ${leaseHex(id)} granted with TTL(${response.grantedTTL}s), remaining(${response.TTL}s)${keys}`);
    }
    case 'list': {
      const response = await call(options, 'Lease', 'LeaseLeases', {});
      if (options.json) return console.log(toJson(response));
      console.log(`found ${response.leases.length} leases`);
      for (const { ID } of response.leases) console.log(leaseHex(ID));
      return;
    }
    case 'keep-alive':
      return keepAlive(options, parseLeaseId(argument ?? ''));
  }
  throw new UsageError('usage: raftkvctl lease grant <ttl> | revoke <id> | timetolive <id> [--keys] | list | keep-alive [--once] <id>');
}

/** Renews every third of the TTL until stopped (or once); ends when the lease is gone. */
async function keepAlive(options: Options, id: number): Promise<void> {
  const stream = openStream(options, 'Lease', 'LeaseKeepAlive');
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    const finish = (): void => {
      if (timer !== null) clearTimeout(timer);
      stream.cancel();
      resolve();
    };
    stream.on('data', (response: any) => {
      const ttl = Number(response.TTL);
      if (ttl <= 0) {
        console.log(`lease ${leaseHex(id)} expired or revoked.`);
        return finish();
      }
      console.log(options.json ? toJson(response) : `lease ${leaseHex(id)} keepalived with TTL(${ttl})`);
      if (options.flags.has('once')) return finish();
      timer = setTimeout(() => stream.write({ ID: id }), Math.max(500, (ttl * 1000) / 3));
    });
    stream.write({ ID: id });
  });
}

async function memberList(options: Options): Promise<void> {
  const response = await call(options, 'Cluster', 'MemberList', {});
  if (options.json) return console.log(toJson(response));
  for (const m of response.members) {
    console.log(`${hex(m.ID)}, ${m.name === '' ? 'unstarted' : 'started'}, ${m.name}, ${m.peerURLs.join(',')}, ${m.clientURLs.join(',')}, ${m.isLearner}`);
  }
}

async function endpointStatus(options: Options): Promise<void> {
  for (const endpoint of options.endpoints) {
    const s = await call(options, 'Maintenance', 'Status', {}, endpoint);
    if (options.json) {
      console.log(toJson({ Endpoint: endpoint, Status: s }));
      continue;
    }
    const isLeader = Number(s.leader) === Number(s.header.member_id);
    console.log(`${endpoint}, ${hex(s.header.member_id)}, ${s.version}, ${s.dbSize} B, ${isLeader}, ${s.isLearner}, ${s.raftTerm}, ${s.raftIndex}, ${s.raftAppliedIndex}, ${s.errors.join(', ')}`);
  }
}

async function endpointHealth(options: Options): Promise<boolean> {
  let healthy = true;
  for (const endpoint of options.endpoints) {
    const started = Date.now();
    try {
      // A linearizable read proves a leader and a quorum, as etcdctl's health check does.
      await call(options, 'KV', 'Range', { key: bytes('health') }, endpoint);
      console.log(`${endpoint} is healthy: successfully committed proposal: took = ${Date.now() - started}ms`);
    } catch (error) {
      healthy = false;
      console.log(`${endpoint} is unhealthy: failed to commit proposal: ${(error as Error).message}`);
    }
  }
  return healthy;
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parse(argv);
  const [command, subcommand] = options.args;
  options.args = options.args.slice(command === 'member' || command === 'endpoint' ? 2 : 1);
  switch (command) {
    case 'put': await put(options); return 0;
    case 'get': await get(options); return 0;
    case 'del': await del(options); return 0;
    case 'txn': await txn(options); return 0;
    case 'compaction': await compaction(options); return 0;
    case 'watch': await watch(options); return 0;
    case 'lease': options.args = options.args.slice(1); await lease(options, subcommand); return 0;
    case 'member':
      if (subcommand === 'list') { await memberList(options); return 0; }
      break;
    case 'endpoint':
      if (subcommand === 'status') { await endpointStatus(options); return 0; }
      if (subcommand === 'health') return (await endpointHealth(options)) ? 0 : 1;
      break;
  }
  throw new UsageError('usage: raftkvctl [--endpoints=a,b] [-w json] put|get|del|txn|compaction|watch|lease …|member list|endpoint status|endpoint health ...');
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: Error & { details?: string }) => {
    console.error(`Error: ${error.details ?? error.message}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
