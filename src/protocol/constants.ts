/** Wire constants of protocol v1 (SPEC.md §1, §2, §5, §9). */

/** ALPN token of protocol v1 (§1.2). */
export const ALPN_V1 = 'burrow/1'
export const PROTOCOL_VERSION = 1

/** Largest control frame payload, in bytes (§2.3). */
export const MAX_FRAME_BYTES = 65536
/** Bytes of the big-endian length prefix in front of every control frame. */
export const FRAME_HEADER_BYTES = 4

export const CONTROL_PATH = '/burrow/v1/control'
export const CONTROL_AUTHORITY = 'burrow.control'

/** Header names. HTTP/2 header names are lower-case. */
export const H_STREAM_TYPE = 'burrow-stream-type'
export const H_RESPONSE_SOURCE = 'burrow-response-source'
export const H_ERROR = 'burrow-error'
export const H_REQUEST_ID = 'burrow-request-id'

export const STREAM_TYPE_CONTROL = 'control'
export const STREAM_TYPE_HTTP = 'http'
export const SOURCE_ORIGIN = 'origin'
export const SOURCE_AGENT = 'agent'

/** HTTP/2 settings of the tunnel (§1.5). */
export const TUNNEL_MAX_CONCURRENT_STREAMS = 1024
export const TUNNEL_INITIAL_WINDOW_SIZE = 1024 * 1024
export const TUNNEL_CONNECTION_WINDOW_SIZE = 16 * 1024 * 1024
export const TUNNEL_MAX_HEADER_LIST_SIZE = 65536

/** Defaults (§9). */
export const DEFAULT_REGISTRATION_TIMEOUT_MS = 10_000
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 10_000
export const DEFAULT_QUEUE_LIMIT = 1024
export const MAX_HOSTNAMES_PER_REGISTER = 64

/** ALPN token of the enrollment connection on the tunnel port (§4.5). */
export const ALPN_ENROLL_V1 = 'burrow-enroll/1'
/** How long an enrollment connection may take to send its EnrollRequest (§4.5). */
export const ENROLLMENT_DEADLINE_MS = 10_000
/** Default lifetime of a client certificate (§4.2) and of an enrollment token (§4.6). */
export const DEFAULT_CERT_LIFETIME_MS = 7 * 86_400_000
export const DEFAULT_TOKEN_TTL_MS = 86_400_000

/** Tunnel connections an agent holds (§8.5), and the most it may hold. */
export const DEFAULT_HA_CONNECTIONS = 4
export const MAX_HA_CONNECTIONS = 16
/** Dial attempts one connection slot may make in a rolling minute (§8.1). */
export const MAX_DIALS_PER_MINUTE = 30
