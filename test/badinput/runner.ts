// Runs bad-input cases against one endpoint: learns what the cases need (member ids), gives the
// endpoint the same starting keys as any other, and after a case that may leave state behind
// (a lease, an alarm, a member) puts it back, so each case meets the same state on every server.

import type { BadInputCase } from './generate.js';
import { GUARD_KEY_COUNT, PRELOADED_KEY_COUNT, fuzzKey, guardKey } from './messages.js';
import type { RawRequest, TargetInfo } from './request.js';
import { GRPC_HEADERS } from './request.js';
import { DEFAULT_SEND_OPTIONS, RawGrpcConnection, type Outcome, type SendOptions } from './send.js';
import { bytesField, decodeFields, grpcFrame, varintField, type DecodedField } from './wire.js';

const request = (path: string, body: Buffer): RawRequest => ({ path, httpMethod: 'POST', headers: { ...GRPC_HEADERS }, chunks: [grpcFrame(body)] });
const fieldsOf = (body: Buffer | undefined): DecodedField[] => (body === undefined ? [] : (decodeFields(body) ?? []));
const numbers = (fields: DecodedField[], field: number): bigint[] => fields.filter((f) => f.field === field && typeof f.value === 'bigint').map((f) => f.value as bigint);
const messages = (fields: DecodedField[], field: number): Buffer[] => fields.filter((f) => f.field === field && Buffer.isBuffer(f.value)).map((f) => f.value as Buffer);

export class StateCheckError extends Error {}

/** Nothing listens on port 1: the spare member is never reached, only recorded. */
const SPARE_MEMBER_URL = 'http://127.0.0.1:1';

interface MemberRecord {
  readonly id: bigint;
  readonly peerUrls: string[];
}

export class BadInputRunner {
  readonly connection: RawGrpcConnection;
  private initialMembers: MemberRecord[] = [];

  constructor(readonly endpoint: string, private readonly sendOptions: SendOptions = DEFAULT_SEND_OPTIONS) {
    this.connection = new RawGrpcConnection(endpoint);
  }

  /** A well-formed unary call that must succeed: setup and clean-up, not a case. */
  async must(path: string, body: Buffer): Promise<DecodedField[]> {
    const outcome = await this.connection.send(request(path, body), false, this.sendOptions);
    if (outcome.status !== 0) throw new StateCheckError(`${path} on ${this.endpoint}: status ${outcome.status} ${outcome.message} ${outcome.transport ?? ''}`);
    return fieldsOf(outcome.bodies[0]);
  }

  async members(): Promise<MemberRecord[]> {
    const list = await this.must('/etcdserverpb.Cluster/MemberList', Buffer.alloc(0));
    return messages(list, 2).map((member) => {
      const fields = fieldsOf(member);
      return { id: numbers(fields, 1)[0] ?? 0n, peerUrls: messages(fields, 3).map((url) => url.toString()) };
    });
  }

  /**
   * Writes the preloaded fuzz keys, and with `guards` the guard keys too. With `spareMember`, adds a
   * learner that never starts and names it as the cases' member id: a MemberUpdate case then
   * rewrites a real member's URLs without cutting off a running one.
   */
  async prepare(guards: boolean, spareMember: boolean, memberAddAsLearner = false): Promise<TargetInfo> {
    let memberIds = (await this.members()).map((m) => m.id);
    if (spareMember) {
      const added = await this.must('/etcdserverpb.Cluster/MemberAdd', Buffer.concat([bytesField(1, SPARE_MEMBER_URL), varintField(2, true)]));
      memberIds = numbers(fieldsOf(messages(added, 2)[0]), 1);
    }
    await this.recordInitialMembers();
    for (let i = 0; i < PRELOADED_KEY_COUNT; i++) await this.put(fuzzKey(i), `preloaded-${i}`);
    if (guards) for (let i = 0; i < GUARD_KEY_COUNT; i++) await this.put(guardKey(i), `guard-${i}`);
    return { memberIds, memberAddAsLearner };
  }

  put(key: string, value: string): Promise<DecodedField[]> {
    return this.must('/etcdserverpb.KV/Put', Buffer.concat([bytesField(1, key), bytesField(2, value)]));
  }

  /** key → "value@mod_revision/version" for every key in [start, end). */
  async snapshot(start: string, end: string): Promise<Map<string, string>> {
    const range = await this.must('/etcdserverpb.KV/Range', Buffer.concat([bytesField(1, start), bytesField(2, end)]));
    const out = new Map<string, string>();
    for (const kv of messages(range, 2)) {
      const fields = fieldsOf(kv);
      out.set(messages(fields, 1)[0]?.toString('latin1') ?? '', `${messages(fields, 5)[0]?.toString('latin1') ?? ''}@${numbers(fields, 3)[0] ?? 0n}/${numbers(fields, 4)[0] ?? 0n}`);
    }
    return out;
  }

  async run(testCase: BadInputCase, target: TargetInfo): Promise<Outcome> {
    const outcome = await this.connection.send(testCase.build(target), testCase.method.streaming, this.sendOptions);
    try {
      await this.restore(testCase);
    } catch (error) {
      return { ...outcome, transport: `${outcome.transport ?? ''} (then restoring state failed: ${(error as Error).message})`.trim() };
    }
    return outcome;
  }

  /** Undoes what a case may have left that would change later cases' answers. */
  private async restore(testCase: BadInputCase): Promise<void> {
    const { service, name } = testCase.method;
    if (service === 'Lease' || testCase.category === 'extreme-int') await this.revokeAllLeases();
    if (name === 'Alarm') await this.disarmAll();
    if (testCase.group === 'membership') await this.restoreMembership();
  }

  private async revokeAllLeases(): Promise<void> {
    const leases = await this.must('/etcdserverpb.Lease/LeaseLeases', Buffer.alloc(0));
    for (const status of messages(leases, 2)) {
      for (const id of numbers(fieldsOf(status), 1)) await this.connection.send(request('/etcdserverpb.Lease/LeaseRevoke', varintField(1, id)), false, this.sendOptions);
    }
  }

  private async disarmAll(): Promise<void> {
    const alarms = await this.must('/etcdserverpb.Maintenance/Alarm', varintField(1, 0));
    for (const alarm of messages(alarms, 2)) {
      const fields = fieldsOf(alarm);
      const body = Buffer.concat([varintField(1, 2), varintField(2, numbers(fields, 1)[0] ?? 0n), varintField(3, numbers(fields, 2)[0] ?? 0n)]);
      await this.connection.send(request('/etcdserverpb.Maintenance/Alarm', body), false, this.sendOptions);
    }
  }

  /**
   * The membership every membership case is undone back to. A runner on another member of a
   * cluster that one runner prepared must record it too, or it would undo the cluster itself.
   */
  async recordInitialMembers(): Promise<void> {
    this.initialMembers = await this.members();
  }

  private async restoreMembership(): Promise<void> {
    if (this.initialMembers.length === 0) throw new Error('restoreMembership before recordInitialMembers: it would remove every member');
    const now = await this.members();
    for (const member of now) {
      const initial = this.initialMembers.find((m) => m.id === member.id);
      if (initial === undefined) {
        await this.connection.send(request('/etcdserverpb.Cluster/MemberRemove', varintField(1, member.id)), false, this.sendOptions);
      } else if (initial.peerUrls.join(',') !== member.peerUrls.join(',')) {
        const body = Buffer.concat([varintField(1, member.id), ...initial.peerUrls.map((url) => bytesField(2, url))]);
        await this.connection.send(request('/etcdserverpb.Cluster/MemberUpdate', body), false, this.sendOptions);
      }
    }
  }

  /** Whether the endpoint still answers Status. */
  async answers(): Promise<boolean> {
    const outcome = await this.connection.send(request('/etcdserverpb.Maintenance/Status', Buffer.alloc(0)), false, { ...this.sendOptions, unaryTimeoutMs: 3000 });
    return outcome.status !== null;
  }

  close(): void {
    this.connection.close();
  }
}

/** The guard range: every guard key, and any key a misapplied guard write could create next to them. */
export const GUARD_RANGE = { start: guardKey(0).slice(0, -1), end: `${guardKey(0).slice(0, -2)}0` } as const;
