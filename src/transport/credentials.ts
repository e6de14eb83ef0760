// Peer URLs and the TLS material behind them. The URL scheme decides: http is plaintext, https is
// TLS with the member's peer certificate (etcd's --peer-cert-file, --peer-key-file,
// --peer-trusted-ca-file, --peer-client-cert-auth).

import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { TlsConfigError } from './errors.js';
import type { PeerAddress } from '../grpc/peer-url.js';

export interface PeerTlsOptions {
  certFile: string;
  keyFile: string;
  /** Verifies the other side's certificate; without it, the system's roots verify servers. */
  trustedCaFile?: string;
  /** The listener demands a client certificate signed by `trustedCaFile`. */
  clientCertAuth?: boolean;
}

interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly trustedCa: Buffer | null;
  readonly clientCertAuth: boolean;
}

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TlsConfigError(`cannot read ${what} ${path}`, { cause: error });
  }
}

function loadTlsMaterial(tls: PeerTlsOptions): TlsMaterial {
  if (tls.clientCertAuth && tls.trustedCaFile === undefined) {
    throw new TlsConfigError('clientCertAuth needs trustedCaFile to verify client certificates');
  }
  return {
    cert: readTlsFile(tls.certFile, 'certificate'),
    key: readTlsFile(tls.keyFile, 'key'),
    trustedCa: tls.trustedCaFile === undefined ? null : readTlsFile(tls.trustedCaFile, 'trusted CA'),
    clientCertAuth: tls.clientCertAuth ?? false,
  };
}

/** Credentials for the listener and for each peer channel; files are read once, up front. */
export class PeerCredentials {
  private readonly tls: TlsMaterial | null;

  constructor(tls: PeerTlsOptions | undefined) {
    this.tls = tls === undefined ? null : loadTlsMaterial(tls);
  }

  forServer(address: PeerAddress): ServerCredentials {
    if (!address.secure) return ServerCredentials.createInsecure();
    if (this.tls === null) throw new TlsConfigError(`listening on ${address.url} needs a certificate and key`);
    const { trustedCa, cert, key, clientCertAuth } = this.tls;
    return ServerCredentials.createSsl(trustedCa, [{ cert_chain: cert, private_key: key }], clientCertAuth);
  }

  forChannel(address: PeerAddress): ChannelCredentials {
    if (!address.secure) return ChannelCredentials.createInsecure();
    if (this.tls === null) return ChannelCredentials.createSsl();
    return ChannelCredentials.createSsl(this.tls.trustedCa, this.tls.key, this.tls.cert);
  }

  /** Whether certificates are configured while listening in plaintext (worth a warning). */
  ignoredFor(address: PeerAddress): boolean {
    return this.tls !== null && !address.secure;
  }
}
