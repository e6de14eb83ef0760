// The same etcdctl command sequence against a one-member etcd 3.4 and a three-member raftkv cluster,
// output compared field by field. What legitimately differs between the two is normalized away:
// cluster and member ids, raft terms and indexes, db sizes, the server version string, member
// names and URLs, and absolute revisions (each system's revisions are taken relative to the
// revision of its own first write, so create/mod revision *differences* are still compared). Keys,
// values, versions, counts, `more`, ordering, error texts and exit codes must match exactly.
// member list and endpoint status are compared by structure (keys and value types), since the
// clusters have different sizes, plus a few consistency checks of their own.
//
// Each `it` continues from the state the previous ones left, in both systems alike.
// The inner headers of txn answers and the Cluster header are compared in cases of their own.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../support/external.js';
import { ComparisonProcesses, spawnReferenceEtcd } from './reference-etcd.js';
import { TestCluster } from './harness.js';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface System {
  readonly name: 'etcd' | 'raftkv';
  endpoint: string;
  /** The revision of this system's first write; every revision is compared relative to it. */
  base: number;
}

type Format = 'text' | 'json' | 'fields';

/** etcdctl -w json prints 64-bit ids as bare integers; keep the ones past 2^53 exact as bigints. */
const BIG = 'bigint:';
function parseJson(text: string): unknown {
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (token) =>
    token.startsWith('"') || !/^-?\d+$/.test(token) || Number.isSafeInteger(Number(token)) ? token : `"${BIG}${token}"`,
  );
  return JSON.parse(marked, (_key, value: unknown) => (typeof value === 'string' && value.startsWith(BIG) ? BigInt(value.slice(BIG.length)) : value));
}

const ID_FIELDS = new Set(['cluster_id', 'member_id', 'ID', 'leader', 'memberID', 'ClusterID', 'MemberID']);
const TERM_FIELDS = new Set(['raft_term', 'raftTerm', 'RaftTerm']);
const INDEX_FIELDS = new Set(['raftIndex', 'raftAppliedIndex']);
const SIZE_FIELDS = new Set(['dbSize', 'dbSizeInUse']);
const REVISION_FIELDS = new Set(['revision', 'create_revision', 'mod_revision', 'compact_revision', 'Revision', 'CreateRevision', 'ModRevision']);

/** Replaces what legitimately differs between the systems, by field name; everything else is kept. */
function normalize(value: unknown, system: System, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => normalize(item, system, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v, system, k)]));
  }
  if (ID_FIELDS.has(key)) return '<id>';
  if (TERM_FIELDS.has(key)) return '<term>';
  if (INDEX_FIELDS.has(key)) return '<index>';
  if (SIZE_FIELDS.has(key)) return '<bytes>';
  if (REVISION_FIELDS.has(key)) return `base${signed(Number(value) - system.base)}`;
  if (key === 'version' && typeof value === 'string') return /^\d+\.\d+\.\d+/.test(value) ? '<semver>' : value;
  if (key === 'name' || key === 'Endpoint') return '<name>';
  if (key === 'peerURLs' || key === 'clientURLs') return /^https?:\/\/127\.0\.0\.1:\d+$/.test(String(value)) ? '<url>' : value;
  return value;
}

function signed(n: number): string {
  return n < 0 ? `${n}` : `+${n}`;
}

/** `-w fields` prints `"Name" : value` lines; normalize the values by the same rules as JSON. */
function normalizeFields(text: string, system: System): string[] {
  return text.split('\n').map((line) => {
    const match = /^"(\w+)" : (.*)$/.exec(line);
    if (match === null) return line;
    const [, name, raw] = match;
    return `"${name}" : ${String(normalize(/^\d+$/.test(raw) ? Number(raw) : raw, system, name))}`;
  });
}

/** etcdctl's stderr: its retry warning is a JSON log line whose timestamp and target (a client uuid) vary. */
function normalizeStderr(text: string): unknown[] {
  return text.split('\n').map((line) => {
    if (!line.startsWith('{')) return line;
    const { ts: _ts, target: _target, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  });
}

/** The shape of a JSON value: object keys with their shapes, arrays by their (uniform) element shape, leaves by type. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) {
    const shapes = value.map(shape);
    const distinct = [...new Set(shapes.map((s) => JSON.stringify(s)))];
    return distinct.length <= 1 ? [shapes[0] ?? 'empty'] : { mixedArray: distinct };
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape((value as Record<string, unknown>)[k])]));
  }
  return typeof value === 'bigint' ? 'number' : typeof value;
}

/** Drops the header of each response inside a txn answer (compared in cases of their own). */
function withoutInnerHeaders(txn: unknown): unknown {
  const copy = structuredClone(txn) as { responses?: { Response: Record<string, { header?: unknown }> }[] };
  for (const response of copy.responses ?? []) for (const op of Object.values(response.Response)) delete op.header;
  return copy;
}

/** The header of each response inside a txn answer, normalized. */
function innerHeaders(txn: unknown, system: System): unknown[] {
  const responses = (txn as { responses?: { Response: Record<string, { header?: unknown }> }[] }).responses ?? [];
  return responses.flatMap((response) => Object.values(response.Response).map((op) => normalize(op.header, system, 'header')));
}

const processes = new ComparisonProcesses('raftkv-etcdctl-compare-');
const { root } = processes;
const children = processes.children;
let cluster: TestCluster | null = null;

afterAll(() => processes.remove(cluster));

describeWithBinaries(['etcd', 'etcdctl'], 'etcdctl output: etcd 3.4 (1 member) vs raftkv (3 members)', (paths) => {
  const etcd: System = { name: 'etcd', endpoint: '', base: 0 };
  const raftkv: System = { name: 'raftkv', endpoint: '', base: 0 };
  const systems = [etcd, raftkv] as const;

  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCDCTL_')));
  env.ETCDCTL_API = '3';

  const etcdctl = (endpoint: string, args: readonly string[], input?: string): Promise<Outcome> =>
    new Promise((resolve, reject) => {
      const child = spawn(paths.etcdctl, [`--endpoints=${endpoint}`, '--command-timeout=5s', ...args], {
        env,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      if (input !== undefined) child.stdin?.end(input);
    });

  /** Runs the same command (its arguments may depend on the system, e.g. a relative --rev) on both. */
  const onBoth = async (args: readonly string[] | ((system: System) => string[]), input?: string): Promise<[Outcome, Outcome]> => {
    const argv = (system: System): readonly string[] => (typeof args === 'function' ? args(system) : args);
    const [a, b] = await Promise.all(systems.map((system) => etcdctl(system.endpoint, argv(system), input)));
    return [a, b];
  };

  const view = (outcome: Outcome, system: System, format: Format, text?: (stdout: string, system: System) => string): unknown => ({
    code: outcome.code,
    stdout:
      outcome.code !== 0 || outcome.stdout === ''
        ? outcome.stdout
        : format === 'json'
          ? normalize(parseJson(outcome.stdout), system)
          : format === 'fields'
            ? normalizeFields(outcome.stdout, system)
            : text === undefined
              ? outcome.stdout
              : text(outcome.stdout, system),
    stderr: normalizeStderr(outcome.stderr),
  });

  /** Runs a command on both and expects the same normalized output (parsed as -w says); returns both outcomes. */
  const same = async (
    args: readonly string[] | ((system: System) => string[]),
    options: { input?: string; text?: (stdout: string, system: System) => string } = {},
  ): Promise<[Outcome, Outcome]> => {
    const [a, b] = await onBoth(args, options.input);
    const argv = typeof args === 'function' ? args(etcd) : args;
    const writeOut = argv.indexOf('-w');
    const format: Format = writeOut >= 0 && (argv[writeOut + 1] === 'json' || argv[writeOut + 1] === 'fields') ? argv[writeOut + 1] as Format : 'text';
    const label = argv.join(' ');
    expect(view(b, raftkv, format, options.text), `etcdctl ${label}`).toEqual(view(a, etcd, format, options.text));
    return [a, b];
  };

  const rev = (offset: number) => (system: System) => String(system.base + offset);

  const waitHealthy = async (endpoint: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      // etcdctl 3.4 prints `endpoint health` on stderr.
      const { stdout, stderr } = await etcdctl(endpoint, ['endpoint', 'health']);
      if ((stdout + stderr).includes('is healthy')) return;
      if (Date.now() > deadline) throw new Error(`${endpoint} not healthy: ${stdout}${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  beforeAll(async () => {
    const reference = await spawnReferenceEtcd(paths.etcd, root);
    children.push(reference.child);
    etcd.endpoint = `127.0.0.1:${reference.clientPort}`;
    cluster = await TestCluster.start(3);
    raftkv.endpoint = `127.0.0.1:${cluster.members[0].clientPort}`;
    await Promise.all(systems.map((system) => waitHealthy(system.endpoint)));
  });

  it('put: the first write fixes each system\'s base revision; further puts, overwrites, --prev-kv', async () => {
    const [a, b] = await onBoth(['put', 'k/a', 'v3', '-w', 'json']);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    etcd.base = Number((parseJson(a.stdout) as { header: { revision: number } }).header.revision);
    raftkv.base = Number((parseJson(b.stdout) as { header: { revision: number } }).header.revision);
    expect(view(b, raftkv, 'json')).toEqual(view(a, etcd, 'json'));

    await same(['put', 'k/b', 'v1']); // base+1
    await same(['put', 'k/c', 'v2', '-w', 'json']); // base+2
    await same(['put', 'other', 'zz']); // base+3
    await same(['put', 'k/a', 'v33', '--prev-kv']); // base+4, k/a version 2
    await same(['put', 'k/d', 'v2', '--prev-kv', '-w', 'json']); // base+5, no previous value
    await same(['put', 'k/b', 'v11', '--prev-kv', '-w', 'json']); // base+6, k/b version 2
    await same(['get', 'k/a', '-w', 'json']);
  });

  it('get --prefix, simple and json', async () => {
    await same(['get', 'k/', '--prefix']);
    await same(['get', 'k/', '--prefix', '-w', 'json']);
    await same(['get', 'nothing/', '--prefix', '-w', 'json']);
    await same(['get', 'nothing', '-w', 'json']);
    await same(['get', 'k/c']);
  });

  it('get --from-key', async () => {
    await same(['get', 'k/c', '--from-key']);
    await same(['get', 'k/c', '--from-key', '-w', 'json']);
    await same(['get', '', '--from-key', '--keys-only']);
  });

  it('get --rev=N, N relative to the first write', async () => {
    await same((s) => ['get', 'k/', '--prefix', `--rev=${rev(0)(s)}`, '-w', 'json']);
    await same((s) => ['get', 'k/', '--prefix', `--rev=${rev(2)(s)}`]);
    await same((s) => ['get', 'k/a', `--rev=${rev(3)(s)}`, '-w', 'json']);
    await same((s) => ['get', 'k/a', `--rev=${rev(4)(s)}`, '-w', 'json']);
    await same((s) => ['get', 'k/d', `--rev=${rev(4)(s)}`, '-w', 'json']);
    await same((s) => ['get', '', '--from-key', `--rev=${rev(5)(s)}`, '--print-value-only']);
  });

  it('get --limit: count is the full range, more is set', async () => {
    await same(['get', 'k/', '--prefix', '--limit=2']);
    await same(['get', 'k/', '--prefix', '--limit=2', '-w', 'json']);
    await same(['get', 'k/', '--prefix', '--limit=4', '-w', 'json']);
    await same(['get', 'k/', '--prefix', '--limit=10', '-w', 'json']);
    await same(['get', '', '--from-key', '--limit=1', '-w', 'json']);
  });

  it('get --sort-by=VALUE --order=DESCEND, with ties (k/c and k/d both hold v2) and with --limit', async () => {
    await same(['get', 'k/', '--prefix', '--sort-by=VALUE', '--order=DESCEND']);
    await same(['get', 'k/', '--prefix', '--sort-by=VALUE', '--order=DESCEND', '-w', 'json']);
    await same(['get', 'k/', '--prefix', '--sort-by=VALUE', '--order=DESCEND', '--limit=2', '-w', 'json']);
    await same(['get', 'k/', '--prefix', '--sort-by=VALUE', '--order=ASCEND', '--limit=2', '-w', 'json']);
    await same(['get', '', '--from-key', '--sort-by=VALUE', '--order=DESCEND', '--keys-only']);
  });

  it('get --keys-only and --print-value-only', async () => {
    await same(['get', 'k/', '--prefix', '--keys-only']);
    await same(['get', 'k/', '--prefix', '--keys-only', '-w', 'json']);
    await same(['get', 'k/', '--prefix', '--print-value-only']);
    await same(['get', 'k/b', '--print-value-only']);
  });

  it('get -w fields', async () => {
    await same(['get', 'k/b', '-w', 'fields']);
    await same(['get', 'k/', '--prefix', '--limit=1', '-w', 'fields']);
  });

  it('del --prev-kv: one key, a prefix, a missing key', async () => {
    await same(['del', 'k/d', '--prev-kv']); // base+7
    await same(['del', 'k/d', '--prev-kv', '-w', 'json']); // nothing deleted, no new revision
    await same(['put', 'd/1', 'x']); // base+8
    await same(['put', 'd/2', 'y']); // base+9
    await same(['del', 'd/', '--prefix', '--prev-kv', '-w', 'json']); // base+10
    await same(['put', 'd/3', 'z']); // base+11
    await same(['del', 'd/', '--prefix']); // base+12
    await same(['get', '', '--from-key', '-w', 'json']);
  });

  it('txn from stdin, simple output: success branch, failure branch', async () => {
    // base+13: compares hold, so the success ops run.
    await same(['txn'], {
      input: ['value("k/a") = "v33"', 'version("k/b") = "2"', '', 'put t/1 one', 'get k/a', 'del k/c --prev-kv', '', 'put t/1 nope', '', ''].join('\n'),
    });
    // base+14: a compare fails, so the failure ops run.
    await same(['txn'], {
      input: ['value("k/a") = "wrong"', '', 'put t/2 nope', '', 'put t/2 two', 'get t/ --prefix', '', ''].join('\n'),
    });
    // A read-only txn: no new revision.
    await same(['txn'], { input: ['create("t/3") = "0"', '', 'get t/ --prefix --keys-only', '', '', ''].join('\n') });
    await same(['get', 't/', '--prefix', '-w', 'json']);
  });

  // Each txn below runs on both systems before anything is compared, so the state stays the same
  // in both whichever comparison fails.
  const txnJson: { input: string; outcomes: [Outcome, Outcome] | null }[] = [
    // base+15: mod compare, a read before the writes, two puts, a read after them.
    { input: ['mod("t/1") > "0"', '', 'get t/ --prefix', 'put t/1 uno --prev-kv', 'put t/4 four', 'get t/ --prefix --limit=1', '', '', ''].join('\n'), outcomes: null },
    // base+16: failure branch with a delete.
    { input: ['create("t/1") = "0"', '', 'put never x', '', 'del t/4 --prev-kv', 'get t/4', '', ''].join('\n'), outcomes: null },
    // Read-only, success branch.
    { input: ['version("t/1") > "0"', '', 'get t/1', 'get t/2', '', '', ''].join('\n'), outcomes: null },
  ];

  it('txn -w json: succeeded, responses, kvs, prev_kvs, deleted, top-level header (inner headers compared below)', async () => {
    for (const txn of txnJson) txn.outcomes = await onBoth(['txn', '-w', 'json'], txn.input);
    for (const { input, outcomes } of txnJson) {
      const [a, b] = outcomes!;
      expect(b.code, input).toBe(a.code);
      expect(b.stderr, input).toBe(a.stderr);
      expect(normalize(withoutInnerHeaders(parseJson(b.stdout)), raftkv), input).toEqual(normalize(withoutInnerHeaders(parseJson(a.stdout)), etcd));
    }
    await same(['get', '', '--from-key', '-w', 'json']);
  });

  // Inside a txn answer, etcd 3.4 fills only `revision` in each response's header
  // ({"header":{"revision":N}}), not the full header of a top-level answer.
  it('txn -w json: inner response headers carry only `revision`', () => {
    for (const { input, outcomes } of txnJson) {
      const [a, b] = outcomes!;
      const fields = (stdout: string): string[][] => innerHeaders(parseJson(stdout), etcd).map((h) => Object.keys(h as object).sort());
      expect(fields(b.stdout), input).toEqual(fields(a.stdout));
    }
  });

  // Inside a txn answer, etcd 3.4 gives each response the revision as of that op: a range before
  // the txn's first write reports the revision before the txn (base+14 for the first txn above),
  // the writes and later ranges the txn's new revision (base+15).
  it('txn -w json: an inner range before the txn\'s writes reports the revision before the txn', () => {
    for (const { input, outcomes } of txnJson) {
      const [a, b] = outcomes!;
      const revisions = (stdout: string, system: System): unknown[] => innerHeaders(parseJson(stdout), system).map((h) => (h as { revision?: unknown }).revision);
      expect(revisions(b.stdout, raftkv), input).toEqual(revisions(a.stdout, etcd));
    }
  });

  it('txn: malformed input and duplicate keys are refused alike', async () => {
    await same(['txn'], { input: ['bogus("k/a") = "x"', '', '', '', ''].join('\n') });
    await same(['txn'], { input: ['', 'put dup 1', 'put dup 2', '', '', ''].join('\n') });
    await same(['get', 'dup', '-w', 'json']);
  });

  const compacted = (stdout: string, system: System): string => stdout.replace(/^compacted revision (\d+)$/m, (_m, n: string) => `compacted revision base${signed(Number(n) - system.base)}`);

  it('compaction, then reads at, below and above the compacted revision', async () => {
    await same((s) => ['compaction', rev(4)(s)], { text: compacted });
    await same((s) => ['get', 'k/a', `--rev=${rev(3)(s)}`]); // compacted: error text compared
    await same((s) => ['get', 'k/', '--prefix', `--rev=${rev(0)(s)}`, '-w', 'json']); // compacted
    await same((s) => ['get', 'k/', '--prefix', `--rev=${rev(4)(s)}`, '-w', 'json']); // the compacted revision itself is readable
    await same((s) => ['get', 'k/', '--prefix', `--rev=${rev(6)(s)}`]);
    await same((s) => ['compaction', rev(2)(s)], { text: compacted }); // already compacted
    await same((s) => ['compaction', rev(4)(s)], { text: compacted }); // same revision again
    await same((s) => ['get', 'k/a', `--rev=${rev(1000)(s)}`]); // future revision
    await same((s) => ['compaction', rev(1000)(s)], { text: compacted }); // future revision
    await same((s) => ['compaction', rev(9)(s), '--physical'], { text: compacted });
    await same((s) => ['get', '', '--from-key', `--rev=${rev(9)(s)}`]); // the revision just compacted physically
    await same((s) => ['get', '', '--from-key', `--rev=${rev(8)(s)}`]); // below it: compacted
    await same(['get', '', '--from-key', '-w', 'json']);
  });

  const memberList = async (): Promise<[Outcome, Outcome]> => {
    const [a, b] = await onBoth(['member', 'list', '-w', 'json']);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    return [a, b];
  };
  type Members = { header: Record<string, unknown>; members: { ID: unknown; name: string; peerURLs: string[]; clientURLs: string[] }[] };

  it('member list -w json: same structure; ids, names and URLs consistent with each cluster', async () => {
    const [a, b] = await memberList();
    const ours = parseJson(b.stdout) as Members;
    const theirs = parseJson(a.stdout) as Members;
    expect(shape(ours.members)).toEqual(shape(theirs.members));
    expect(ours.members.every((m) => typeof m.ID === 'number' || typeof m.ID === 'bigint')).toBe(true);
    expect(shape(theirs.header)).toEqual({ cluster_id: 'number', member_id: 'number', raft_term: 'number' });

    expect(theirs.members).toHaveLength(1);
    expect(String(theirs.members[0].ID)).toBe(String(theirs.header.member_id));
    expect(theirs.members[0].clientURLs).toEqual([`http://${etcd.endpoint}`]);

    // Sorted by id, as etcd lists them; the answering member is one of them; names and URLs are the harness's.
    const ids = ours.members.map((m) => BigInt(m.ID as number | bigint));
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(ids);
    expect(ids).toContain(BigInt(ours.header.member_id as number | bigint));
    const byName = new Map(ours.members.map((m) => [m.name, m]));
    for (const member of cluster!.members) {
      expect(byName.get(member.name)?.peerURLs).toEqual([`http://127.0.0.1:${member.peerPort}`]);
      expect(byName.get(member.name)?.clientURLs).toEqual([`http://127.0.0.1:${member.clientPort}`]);
    }
  });

  // etcd's Cluster service header has no revision (cluster_id, member_id, raft_term).
  it('member list -w json: header fields', async () => {
    const [a, b] = await memberList();
    expect(shape((parseJson(b.stdout) as Members).header)).toEqual(shape((parseJson(a.stdout) as Members).header));
  });

  it('endpoint status -w json: same structure; leader, term and indexes consistent', async () => {
    const [a, b] = await onBoth(['endpoint', 'status', '-w', 'json']);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    type Status = { Endpoint: string; Status: { header: Record<string, unknown>; version: string; leader: unknown; raftIndex: number; raftAppliedIndex: number; raftTerm: number } }[];
    const theirs = parseJson(a.stdout) as Status;
    const ours = parseJson(b.stdout) as Status;
    expect(shape(ours)).toEqual(shape(theirs));
    expect(normalize(ours, raftkv)).toEqual(normalize(theirs, etcd));

    expect(theirs[0].Endpoint).toBe(etcd.endpoint);
    expect(ours[0].Endpoint).toBe(raftkv.endpoint);
    expect(String(theirs[0].Status.leader)).toBe(String(theirs[0].Status.header.member_id));
    const [, list] = await memberList();
    const ids = (parseJson(list.stdout) as Members).members.map((m) => String(m.ID));
    expect(ids).toContain(String(ours[0].Status.leader));
    expect(ids).toContain(String(ours[0].Status.header.member_id));
    for (const [status, system] of [[theirs[0].Status, etcd], [ours[0].Status, raftkv]] as const) {
      expect(status.version, system.name).toMatch(/^3\.\d+\.\d+/);
      expect(Number(status.raftTerm), system.name).toBe(Number(status.header.raft_term));
      expect(Number(status.raftAppliedIndex), system.name).toBeLessThanOrEqual(Number(status.raftIndex));
      // The revision after everything above: the same distance from the first write in both.
      expect(Number(status.header.revision) - system.base, system.name).toBe(Number(theirs[0].Status.header.revision) - etcd.base);
    }
  });

  it('endpoint hashkv -w json: the same structure, and the hash revision where each system is', async () => {
    const [a, b] = await onBoth(['endpoint', 'hashkv', '-w', 'json']);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    type HashKV = { Endpoint: string; HashKV: { header: Record<string, unknown>; hash: number; compact_revision: number } }[];
    const theirs = parseJson(a.stdout) as HashKV;
    const ours = parseJson(b.stdout) as HashKV;
    expect(shape(ours)).toEqual(shape(theirs));
    // The hash functions differ (etcd hashes its bbolt records); what each covers lines up.
    expect(Number(ours[0].HashKV.compact_revision) - raftkv.base).toBe(Number(theirs[0].HashKV.compact_revision) - etcd.base);
  });

  it('alarm list: nothing raised, printed alike', async () => {
    await same(['alarm', 'list']);
  });

  it('endpoint health: healthy, printed alike (timing aside)', async () => {
    const [a, b] = await onBoth(['endpoint', 'health']);
    const strip = (outcome: Outcome, system: System): string =>
      (outcome.stdout + outcome.stderr).replace(system.endpoint, 'ENDPOINT').replace(/took = [\d.]+[µm]?s/, 'took = T');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(strip(b, raftkv)).toBe(strip(a, etcd));
  });
});
