// gRPC channel and server options, set explicitly rather than left to grpc-js defaults (its
// receive limit is 4 MiB and its send limit unbounded; its reconnect backoff reaches 120 s).

import type { ChannelOptions, ServerOptions } from '@grpc/grpc-js';
import type { TransportSettings } from './options.js';

/**
 * Pings on an idle connection find a peer that vanished without closing its sockets (power loss,
 * partition) in ~15 s, instead of waiting for TCP to give up.
 */
const KEEPALIVE_TIME_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;

export function channelOptions(settings: TransportSettings): ChannelOptions {
  return {
    'grpc.max_send_message_length': settings.frameBytesMax,
    'grpc.max_receive_message_length': settings.frameBytesMax,
    // The transport has its own backoff; keep gRPC's own connection backoff in the same range so
    // it does not hold a restarted peer unreachable for longer.
    'grpc.initial_reconnect_backoff_ms': settings.reconnectDelayMs.initial,
    'grpc.max_reconnect_backoff_ms': settings.reconnectDelayMs.max,
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    'grpc.keepalive_permit_without_calls': 1,
    // Each peer owns its connection: closing a peer closes its socket, shared with nobody.
    'grpc.use_local_subchannel_pool': 1,
    // channelz (gRPC's introspection service, not served) costs bookkeeping on every message.
    'grpc.enable_channelz': 0,
  };
}

/** A throwaway channel for one Identify call: its answer is 16 bytes, and it never reconnects. */
export function identifyChannelOptions(): ChannelOptions {
  return {
    'grpc.max_send_message_length': 1024,
    'grpc.max_receive_message_length': 1024,
    // Its own connection, closed with the channel, never one a later channel might pick up.
    'grpc.use_local_subchannel_pool': 1,
  };
}

export function serverOptions(settings: TransportSettings): ServerOptions {
  return {
    'grpc.max_send_message_length': settings.frameBytesMax,
    'grpc.max_receive_message_length': settings.frameBytesMax,
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    // channelz stays on here: with it off, grpc-js (1.14) stops tracking connections, and
    // forceShutdown() leaves them open.
  };
}
