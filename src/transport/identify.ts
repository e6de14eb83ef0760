// Asking a peer URL which cluster and member answer there, before this member has a transport (or
// a cluster id) of its own: how a member joining an existing cluster learns the cluster id.

import { Client, Metadata } from '@grpc/grpc-js';
import { PeerCredentials } from './credentials.js';
import { InvalidPeerUrlError } from '../grpc/errors.js';
import { parsePeerUrl, type PeerAddress } from '../grpc/peer-url.js';
import { IdentifyFailedError, type IdentifyAttempt } from './errors.js';
import { identifyChannelOptions } from './grpc-options.js';
import { resolveIdentifyTimeoutMs, type IdentifyOptions } from './options.js';
import { EMPTY, identifyMethod, type Identity } from './service.js';

/** Who answered Identify, and at which of the URLs tried. */
export interface PeerIdentity extends Identity {
  readonly url: string;
}

/**
 * Tries each URL in turn, each with its own deadline, and returns the first answer. Bad URLs,
 * options or TLS files throw before anything is tried; otherwise it throws IdentifyFailedError.
 */
export async function identify(urls: readonly string[], options: IdentifyOptions = {}): Promise<PeerIdentity> {
  if (urls.length === 0) throw new InvalidPeerUrlError('', 'identify needs at least one URL');
  const addresses = urls.map(parsePeerUrl);
  const timeoutMs = resolveIdentifyTimeoutMs(options);
  const credentials = new PeerCredentials(options.tls);
  const attempts: IdentifyAttempt[] = [];
  for (const address of addresses) {
    try {
      return { ...(await identifyOne(address, credentials, timeoutMs)), url: address.url };
    } catch (error) {
      attempts.push({ url: address.url, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }
  throw new IdentifyFailedError(attempts);
}

async function identifyOne(address: PeerAddress, credentials: PeerCredentials, timeoutMs: number): Promise<Identity> {
  const client = new Client(address.target, credentials.forChannel(address), identifyChannelOptions());
  try {
    const { path, requestSerialize, responseDeserialize } = identifyMethod;
    return await new Promise<Identity>((resolve, reject) => {
      client.makeUnaryRequest(path, requestSerialize, responseDeserialize, EMPTY, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, identity) =>
        error || identity === undefined ? reject(error ?? new Error('empty Identify response')) : resolve(identity),
      );
    });
  } finally {
    // Closes the connection once answered. A handshake still in progress (a listener that accepted
    // but never answered) is not cut short by grpc-js 1.14: its socket, unreferenced, lives until
    // the other side closes it or TCP gives up.
    client.close();
  }
}
