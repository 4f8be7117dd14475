/**
 * The one registry of Burrow's stable error codes (SPEC.md §6).
 *
 * Codes never change meaning once released; users and tools match on `code`, never on messages.
 * `status` is the HTTP status the edge answers a visitor with; control-plane codes have none.
 * Only the edge maps codes to statuses (src/edge/error-response.ts reads `status` from here).
 */
export const ErrorCodes = {
  BURROW_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed or ambiguous (Host, target or header fields).' },
  BURROW_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request headers did not arrive in time.' },
  BURROW_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request header fields are too large.' },
  BURROW_ERR_UNAUTHORIZED: { status: 401, message: 'This hostname requires authentication at the edge.' },
  BURROW_ERR_IP_DENIED: { status: 403, message: 'The edge policy does not allow requests from this address.' },
  BURROW_ERR_ROUTE_DENIED: { status: 403, message: 'The edge policy does not allow this path.' },
  BURROW_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'The edge policy does not allow this method.' },
  BURROW_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body exceeds the limit of this hostname.' },
  BURROW_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests or connections: slow down (see Retry-After).' },
  BURROW_ERR_UNKNOWN_HOST: { status: 404, message: 'No tunnel is registered for this hostname.' },
  BURROW_ERR_NO_TUNNEL: { status: 503, message: 'The tunnel for this hostname is offline: no agent is connected.' },
  BURROW_ERR_POOL_EMPTY: { status: 503, message: 'No tunnel with the labels this request was routed to is connected, and the hostname has no fallback.' },
  BURROW_ERR_TUNNEL_BUSY: { status: 503, message: 'The tunnel is at its concurrent request limit.' },
  BURROW_ERR_TUNNEL_LOST: { status: 502, message: 'The tunnel connection failed before the origin answered.' },
  BURROW_ERR_EDGE_DRAINING: { status: 503, message: 'The edge is shutting down.' },
  BURROW_ERR_ORIGIN_UNREACHABLE: { status: 502, message: 'The agent could not connect to the origin.' },
  BURROW_ERR_ORIGIN_TIMEOUT: { status: 504, message: 'The origin did not answer in time.' },
  BURROW_ERR_ORIGIN_RESET: { status: 502, message: 'The origin closed the connection or sent an invalid response.' },
  BURROW_ERR_UNSUPPORTED_STREAM: { status: 501, message: 'The agent does not support this stream type.' },
  BURROW_ERR_INTERNAL: { status: 500, message: 'Internal error.' },
  BURROW_ERR_PROTOCOL: { status: undefined, message: 'Tunnel protocol violation.' },
  BURROW_ERR_AUTH_FAILED: { status: undefined, message: 'The identity was not accepted.' },
  BURROW_ERR_CERT_REQUIRED: { status: undefined, message: 'No client certificate was presented: enroll with `burrow login` first.' },
  BURROW_ERR_CERT_INVALID: { status: undefined, message: 'The client certificate was not issued by this edge for an agent.' },
  BURROW_ERR_CERT_EXPIRED: { status: undefined, message: 'The client certificate has expired (or is not yet valid).' },
  BURROW_ERR_CERT_REVOKED: { status: undefined, message: 'The client certificate has been revoked.' },
  BURROW_ERR_ENROLLMENT_INVALID: { status: undefined, message: 'The enrollment token is malformed or unknown.' },
  BURROW_ERR_ENROLLMENT_USED: { status: undefined, message: 'The enrollment token has already been used.' },
  BURROW_ERR_ENROLLMENT_EXPIRED: { status: undefined, message: 'The enrollment token has expired.' },
  BURROW_ERR_CSR_INVALID: { status: undefined, message: 'The certificate signing request is invalid (an ECDSA P-256 key, self-signed, is required).' },
  BURROW_ERR_REGISTRATION_TIMEOUT: { status: undefined, message: 'No registration arrived before the deadline.' },
  BURROW_ERR_HOSTNAME_INVALID: { status: undefined, message: 'A hostname is not a valid DNS name.' },
  BURROW_ERR_HOSTNAME_FORBIDDEN: { status: undefined, message: 'The certificate grants no zone containing this hostname.' },
  BURROW_ERR_HOSTNAME_TAKEN: { status: undefined, message: 'Another account serves this hostname.' },
  BURROW_ERR_LABEL_INVALID: { status: undefined, message: 'A tunnel label is invalid (key or value syntax, or too many labels).' },
  BURROW_ERR_UNSUPPORTED_VERSION: { status: undefined, message: 'The protocol version is not supported.' },
  BURROW_ERR_HEARTBEAT_TIMEOUT: { status: undefined, message: 'The peer did not answer a heartbeat in time.' },
} as const satisfies Record<string, { status: number | undefined, message: string }>

export type ErrorCode = keyof typeof ErrorCodes

const kBurrowError = Symbol.for('burrow.error')

/** Base error: always a stable `code`, optionally a `cause`. Match on `code` (or `isBurrowError`). */
export class BurrowError extends Error {
  readonly code: ErrorCode
  readonly [kBurrowError] = true

  constructor (code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code].message, options)
    this.name = 'BurrowError'
    this.code = code
  }
}

/** True for any BurrowError, even one from a second copy of this module. */
export function isBurrowError (err: unknown): err is BurrowError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kBurrowError] === true
}

export function isErrorCode (value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value)
}

/** The visitor-facing HTTP status of a code; control-plane codes map to 502. */
export function httpStatusOf (code: ErrorCode): number {
  return ErrorCodes[code].status ?? 502
}
