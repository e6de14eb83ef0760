// Cluster administration: etcd's member add, remove, promote and update, proposed as
// configuration changes; and publishing this member's name and client URLs once a leader exists.

import { ConfChangeType } from '../raft/index.js';
import { isValidPeerUrl } from '../grpc/peer-url.js';
import { ServerError, ServerErrorCode } from './errors.js';
import { memberIdFor } from './identity.js';
import type { Membership } from './membership.js';
import type { FrontBasics } from './parts.js';
import type { ClusterServer, MemberInfo, ResponseHeader } from './servers.js';

/** A failed publish is proposed again after this long. */
const PUBLISH_RETRY_MS = 500;
/** etcd promotes a learner once it holds this share of the leader's log. */
const LEARNER_READY_SHARE = 0.9;

export interface ClusterAdminParts extends FrontBasics {
  readonly name: string;
  readonly advertiseClientUrls: readonly string[];
  readonly initialClusterToken: string;
  readonly membership: Membership;
}

export class ClusterAdmin implements ClusterServer {
  private published = false;

  constructor(private readonly parts: ClusterAdminParts) {}

  header(revision?: number): ResponseHeader {
    return this.parts.header(revision);
  }

  linearizableBarrier(): Promise<void> {
    return this.parts.linearizableBarrier();
  }

  members(): MemberInfo[] {
    return this.parts.membership.list();
  }

  async addMember(peerUrls: readonly string[], isLearner: boolean): Promise<{ header: ResponseHeader; member: MemberInfo; members: MemberInfo[] }> {
    checkPeerUrls(peerUrls);
    const { membership } = this.parts;
    // The registry checked must include every change committed before this request, wherever it
    // was made: a member answers an add as soon as it has applied it, before the others have.
    await this.parts.linearizableBarrier();
    if (membership.findByPeerUrl(peerUrls) !== undefined) throw new ServerError(ServerErrorCode.PeerUrlExists, 'etcdserver: Peer URLs already exists');
    // The same derivation the new member applies to its own flags, so it knows its id.
    const id = memberIdFor(peerUrls, this.parts.initialClusterToken);
    const result = await this.parts.proposals.proposeConfChange(isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, id, peerUrls, isLearner);
    const member = membership.get(id) ?? { id, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner };
    return { header: this.header(result.revision), member, members: this.members() };
  }

  async removeMember(id: number): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    this.existing(id);
    const result = await this.parts.proposals.proposeConfChange(ConfChangeType.RemoveNode, id, [], false);
    return { header: this.header(result.revision), members: this.members() };
  }

  async promoteMember(id: number): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    const member = this.existing(id);
    if (!member.isLearner) throw new ServerError(ServerErrorCode.MemberNotLearner, 'etcdserver: can only promote a learner member');
    if (!this.learnerIsReady(id)) {
      throw new ServerError(ServerErrorCode.LearnerNotReady, 'etcdserver: can only promote a learner member which is in sync with leader');
    }
    const result = await this.parts.proposals.proposeConfChange(ConfChangeType.AddNode, id, member.peerUrls, false);
    return { header: this.header(result.revision), members: this.members() };
  }

  async updateMember(id: number, peerUrls: readonly string[]): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    // The member first: etcd 3.4.23 answers "member not found" for an unknown id whatever the URLs
    // (curl against it: {"ID":"1","peerURLs":["bad"]} and {"ID":"1"} both get NotFound). It takes
    // bad or no URLs for a member that exists; raftkv refuses those, so they cannot break the cluster.
    const member = this.existing(id);
    checkPeerUrls(peerUrls);
    const result = await this.parts.proposals.proposeConfChange(ConfChangeType.UpdateNode, id, peerUrls, member.isLearner);
    return { header: this.header(result.revision), members: this.members() };
  }

  /** Once a leader exists, tells the cluster this member's name and client URLs (as etcd members do). */
  maybePublish(): void {
    const { membership, memberId, name } = this.parts;
    if (this.published || this.parts.node.leaderId() === 0) return;
    const own = membership.get(memberId);
    const urls = [...this.parts.advertiseClientUrls];
    this.published = true;
    if (own !== undefined && own.name === name && own.clientUrls.join(',') === urls.join(',')) return;
    this.parts.proposals.propose({ publish: { member_id: memberId, name, client_urls: urls } }).catch((error: Error) => {
      this.published = false;
      if (error instanceof ServerError && error.code === ServerErrorCode.Stopped) return;
      this.parts.logger.warn({ err: error }, 'publishing member attributes failed; will retry');
      // Leader changes call this too; a failure under a steady leader needs its own retry.
      setTimeout(() => this.maybePublish(), PUBLISH_RETRY_MS).unref();
    });
  }

  private existing(id: number): MemberInfo {
    const member = this.parts.membership.get(id);
    if (member === undefined) throw new ServerError(ServerErrorCode.MemberNotFound, 'etcdserver: member not found');
    return member;
  }

  /**
   * As etcd: a learner may be promoted once it holds at least 90% of the leader's log. Only the
   * leader knows; elsewhere the promotion is proposed without the check.
   */
  private learnerIsReady(id: number): boolean {
    const { node, memberId } = this.parts;
    if (!node.isLeader()) return true;
    const match = node.matchIndexOf(id);
    const leaderMatch = node.matchIndexOf(memberId) ?? node.lastIndex();
    return match !== undefined && match >= leaderMatch * LEARNER_READY_SHARE;
  }
}

function checkPeerUrls(peerUrls: readonly string[]): void {
  if (peerUrls.length === 0 || !peerUrls.every(isValidPeerUrl)) throw new ServerError(ServerErrorCode.BadMemberUrls, 'etcdserver: given member URLs are invalid');
}
