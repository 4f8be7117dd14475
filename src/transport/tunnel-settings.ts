/**
 * HTTP/2 settings of the tunnel, one place for both ends (SPEC.md §1.5).
 * One tunnel connection carries every visitor of a hostname, so the connection window is the
 * shared bound on bytes in flight, and the stream window lets one large body use the link.
 */
import type { ClientSessionOptions, ServerOptions, Settings } from 'node:http2'
import {
  TUNNEL_INITIAL_WINDOW_SIZE, TUNNEL_MAX_CONCURRENT_STREAMS, TUNNEL_MAX_HEADER_LIST_SIZE,
} from '../protocol/constants.js'

/** What the agent (the HTTP/2 server) advertises. */
export const agentSettings: Settings = {
  maxConcurrentStreams: TUNNEL_MAX_CONCURRENT_STREAMS,
  initialWindowSize: TUNNEL_INITIAL_WINDOW_SIZE,
  maxHeaderListSize: TUNNEL_MAX_HEADER_LIST_SIZE,
}

/** What the edge (the HTTP/2 client) advertises. */
export const edgeSettings: Settings = {
  enablePush: false,
  initialWindowSize: TUNNEL_INITIAL_WINDOW_SIZE,
  maxHeaderListSize: TUNNEL_MAX_HEADER_LIST_SIZE,
}

/** Session options of the agent's server session. */
export const agentSessionOptions: ServerOptions = {
  settings: agentSettings,
  // The tunnel multiplexes many visitors: give nghttp2 more room than the 10 MB default.
  maxSessionMemory: 128,
  maxHeaderListPairs: 256,
  maxSendHeaderBlockLength: TUNNEL_MAX_HEADER_LIST_SIZE,
}

/** Session options of the edge's client session (without createConnection). */
export const edgeSessionOptions: ClientSessionOptions = {
  settings: edgeSettings,
  maxSessionMemory: 128,
  maxHeaderListPairs: 256,
  maxReservedRemoteStreams: 0,
  maxSendHeaderBlockLength: TUNNEL_MAX_HEADER_LIST_SIZE,
  // The agent's SETTINGS raise this at once; until they arrive, do not flood it.
  peerMaxConcurrentStreams: 100,
}
