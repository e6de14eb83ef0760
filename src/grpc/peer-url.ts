// Member URLs as etcd reads them (its types.NewURLs): a scheme, then host:port with the port
// written out, and no path. A query, user info or fragment is allowed and ignored when dialling,
// as etcd ignores them. One parser for the flags (peer and client URLs), the Cluster API and the
// transport, so whatever one of them accepts the others can use: a URL the transport cannot dial
// must be refused before it is proposed, never discovered while a committed entry is applied.
//
// Kept narrower than etcd: only http and https (no unix sockets), and a host must be present
// (etcd's ":2380" dials localhost; the WHATWG parser refuses it).

import { InvalidPeerUrlError } from './errors.js';

export interface PeerAddress {
  readonly url: string;
  /** `host:port` as gRPC wants it (IPv6 hosts keep their brackets). */
  readonly target: string;
  readonly hostname: string;
  readonly port: number;
  readonly secure: boolean;
}

const SCHEMES: Record<string, boolean> = { http: false, https: true };

/** scheme "://" authority, then the path, up to a query or fragment. */
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/;
/** What is left of the authority without user info: a host (IPv6 in brackets), ':' and a port. */
const HOST_PORT = /^(\[[^\]]*\]|[^:[\]]*):(\d{1,5})$/;
const PORT_MAX = 65_535;

export function parsePeerUrl(url: string): PeerAddress {
  const parts = URL_PARTS.exec(url);
  if (parts === null) throw new InvalidPeerUrlError(url, 'not a URL');
  const [, scheme, authority, path] = parts as unknown as [string, string, string, string];
  const secure = SCHEMES[scheme.toLowerCase()];
  if (secure === undefined) throw new InvalidPeerUrlError(url, 'scheme must be http or https');
  // Go's url.Parse keeps "/" as a path too, and etcd refuses it: "http://h:2380/" is invalid there.
  if (path !== '') throw new InvalidPeerUrlError(url, 'must not contain a path');
  const hostPort = HOST_PORT.exec(authority.slice(authority.lastIndexOf('@') + 1));
  if (hostPort === null) throw new InvalidPeerUrlError(url, 'must be host:port, with the port written out');
  const port = Number(hostPort[2]);
  if (port > PORT_MAX) throw new InvalidPeerUrlError(url, `port ${port} is out of range`);
  let hostname: string;
  try {
    // The WHATWG parser checks the host (and normalises it: case, IDNA, IPv4 forms).
    hostname = new URL(url).hostname;
  } catch {
    throw new InvalidPeerUrlError(url, 'not a URL');
  }
  if (hostname === '') throw new InvalidPeerUrlError(url, 'has no host');
  return { url, target: `${hostname}:${port}`, hostname: hostname.replace(/^\[|\]$/g, ''), port, secure };
}

export function isValidPeerUrl(url: string): boolean {
  try {
    parsePeerUrl(url);
    return true;
  } catch (error) {
    if (error instanceof InvalidPeerUrlError) return false;
    throw error;
  }
}
