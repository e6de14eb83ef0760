// Member URLs as etcd 3.4 accepts them (types.NewURLs): the cases a fuzz run sent to both.

import { describe, expect, it } from 'vitest';
import { isValidPeerUrl, parsePeerUrl } from '../../src/grpc/peer-url.js';

describe('peer URLs', () => {
  it('parses http and https URLs into gRPC targets', () => {
    expect(parsePeerUrl('http://127.0.0.1:2380')).toEqual({ url: 'http://127.0.0.1:2380', target: '127.0.0.1:2380', hostname: '127.0.0.1', port: 2380, secure: false });
    expect(parsePeerUrl('https://[::1]:2380')).toMatchObject({ target: '[::1]:2380', hostname: '::1', secure: true });
    expect(parsePeerUrl('HTTP://Member-1.Example:80').target).toBe('member-1.example:80');
  });

  it('accepts and ignores a query, user info and a fragment, as etcd does', () => {
    expect(parsePeerUrl('http://127.0.0.1:9999?x=1').target).toBe('127.0.0.1:9999');
    expect(parsePeerUrl('http://u:p@127.0.0.1:9999').target).toBe('127.0.0.1:9999');
    expect(parsePeerUrl('http://127.0.0.1:9999#frag').target).toBe('127.0.0.1:9999');
  });

  it.each([
    ['a path', 'http://127.0.0.1:9999/some/path', /must not contain a path/],
    ['a bare "/" path (Go keeps it as a path)', 'http://127.0.0.1:9999/', /must not contain a path/],
    ['no port', 'http://127.0.0.1', /host:port/],
    ['an empty port', 'http://127.0.0.1:', /host:port/],
    ['a port past 65535', 'http://127.0.0.1:65536', /out of range/],
    ['a named port', 'http://127.0.0.1:http', /host:port/],
    ['another scheme', 'unix:///tmp/sock', /scheme must be http or https/],
    ['ftp', 'ftp://127.0.0.1:21', /scheme must be http or https/],
    ['no scheme', '127.0.0.1:2380', /not a URL/],
    ['no host', 'http://:2380', /not a URL|no host/],
    ['a bad host', 'http://exa mple:2380', /not a URL/],
    ['nothing', '', /not a URL/],
  ])('refuses %s', (_name, url, reason) => {
    expect(() => parsePeerUrl(url)).toThrow(reason);
    expect(isValidPeerUrl(url)).toBe(false);
  });
});
