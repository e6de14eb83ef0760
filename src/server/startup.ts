// Bringing a member's disk state up before its core starts: opening (or refusing) the WAL,
// learning the cluster id when joining, bootstrapping a new cluster, and checking that the store
// holds what the WAL's snapshot covers.

import type { Logger } from 'pino';
import type { Snapshot } from '../raft/index.js';
import type { MvccStore } from '../mvcc/mvcc-store.js';
import { Wal, WalNotFoundError } from '../storage/index.js';
import { PeerTransport } from '../transport/index.js';
import type { ServerConfig } from './config.js';
import { ServerError, ServerErrorCode } from './errors.js';
import { formatId } from './identity.js';
import type { Failpoints } from '../failpoints/failpoints.js';

/**
 * The store must hold at least what the WAL's snapshot covers: the log before it is gone. Current
 * snapshots carry no image (src/server/snapshots.ts) and the store is synced past them before they
 * are written, so a store behind one lost synced data, and the member cannot recover by itself.
 * A snapshot written by an older version may still carry a store image; images are no longer
 * installed (snapshots are streamed store dumps now), so that case is refused the same way.
 */
export async function checkStoreCoversSnapshot(store: MvccStore, wal: Wal): Promise<void> {
  const snapshot = wal.storage.snapshot();
  // Index 1 is the bootstrap snapshot: the founders' configuration and an empty store.
  if (snapshot.metadata.index <= Math.max(1, store.appliedIndex)) return;
  const legacy = snapshot.data.byteLength === 0 ? '' : ' (the snapshot carries a store image from an older raftkv version, which this version no longer installs)';
  throw new ServerError(
    ServerErrorCode.StoreBehindSnapshot,
    `the key-value store has applied index ${store.appliedIndex}, behind the write-ahead log's snapshot at ${snapshot.metadata.index}${legacy}, ` +
      'and the log before the snapshot is gone; remove this member and add it again with an empty data dir',
  );
}

/**
 * Opens this member's WAL. As in etcd, the --initial-cluster* flags only matter for an empty data
 * dir: a restarted member resumes from what it stored, whatever --initial-cluster now lists, as
 * long as the data dir is its own (same member id).
 */
export async function openWal(config: ServerConfig, derivedClusterId: number, selfId: number, logger: Logger, failpoints: Failpoints): Promise<Wal> {
  try {
    const wal = await Wal.open(config.dataDir, null, { logger, failpoints });
    if (wal.identity.memberId === selfId) return wal;
    await wal.close();
    throw new ServerError(
      ServerErrorCode.BadConfig,
      `the data dir ${config.dataDir} belongs to member ${formatId(wal.identity.memberId)} of cluster ${formatId(wal.identity.clusterId)}, ` +
        `not to ${config.name} (${formatId(selfId)}, from its peer URLs and --initial-cluster-token); refusing to start, nothing was changed`,
    );
  } catch (error) {
    if (!(error instanceof WalNotFoundError)) throw error;
  }
  const clusterId = await resolveClusterId(config, derivedClusterId, selfId, logger);
  return Wal.open(config.dataDir, { clusterId, memberId: selfId, name: config.name }, { logger, failpoints });
}

/**
 * A founder derives the cluster id from --initial-cluster. A member joining an existing cluster
 * cannot (the id comes from the founders), so it asks the other members listed there, as etcd does.
 */
async function resolveClusterId(config: ServerConfig, derived: number, selfId: number, logger: Logger): Promise<number> {
  if (config.initialClusterState === 'new') return derived;
  const peerUrls = config.initialCluster.filter((member) => member.name !== config.name).flatMap((member) => member.peerUrls);
  if (peerUrls.length === 0) throw new ServerError(ServerErrorCode.BadConfig, '--initial-cluster-state existing needs the existing members in --initial-cluster');
  const tls = config.peerTls === null ? undefined : { ...config.peerTls, trustedCaFile: config.peerTls.trustedCaFile ?? undefined };
  try {
    const answer = await PeerTransport.identify(peerUrls, tls === undefined ? {} : { tls });
    logger.info({ clusterId: formatId(answer.clusterId), from: answer.url, memberId: formatId(selfId) }, 'joining an existing cluster');
    return answer.clusterId;
  } catch (error) {
    throw new ServerError(ServerErrorCode.BadConfig, `cannot reach any existing member to join (${peerUrls.join(', ')})`, { cause: error });
  }
}

/** A brand-new cluster: every founding member starts from the same snapshot naming the founders. */
export async function bootstrap(wal: Wal, voters: number[]): Promise<void> {
  const snapshot: Snapshot = { metadata: { index: 1, term: 1, confState: { voters, learners: [] } }, data: new Uint8Array(0) };
  await wal.save({ hardState: { term: 1, vote: 0, commit: 1 }, entries: [], snapshot }, true);
}
