/**
 * The edge's request path (SPEC.md §5): one visitor request becomes one HTTP/2 stream on the chosen
 * tunnel connection, bodies stream both ways with backpressure, and failures become registry codes.
 * This is the hot path the benchmark watches: no logging per chunk, no per-chunk allocation,
 * header maps built once per request.
 */
import http2, { type ClientHttp2Stream, type Http2Stream, type IncomingHttpHeaders as H2Headers, type OutgoingHttpHeaders } from 'node:http2'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { addAbortSignal } from 'node:stream'
import type { Logger } from 'pino'
import type { TunnelRegistry } from './registry.js'
import type { TunnelConnection } from './tunnel-connection.js'
import type { RoutingRule } from './routing.js'
import { requestHasBody, writeErrorResponse } from './error-response.js'
import { routingKeyOfHost } from '../protocol/hostname.js'
import { ANY_CONNECTION, cookieValue, POOL_EMPTY, selectPool, stickyCookie, type LabelPool } from './routing.js'
import { connectionListedNames, HOP_BY_HOP, isBurrowHeader, isHopByHop, isValidHeaderName, isValidHeaderValue, SINGLE_VALUE } from '../protocol/headers.js'
import { H_ERROR, H_REQUEST_ID, H_RESPONSE_SOURCE, SOURCE_AGENT } from '../protocol/constants.js'
import { isErrorCode, type ErrorCode } from '../protocol/errors.js'

const NGHTTP2_CANCEL = http2.constants.NGHTTP2_CANCEL
const NGHTTP2_NO_ERROR = http2.constants.NGHTTP2_NO_ERROR
const NGHTTP2_REFUSED_STREAM = http2.constants.NGHTTP2_REFUSED_STREAM

export interface VisitorProxyOptions {
  registry: TunnelRegistry
  logger: Logger
  /** Requests queued beyond the agent's concurrent-stream limit before new ones get TUNNEL_BUSY. */
  queueLimit: number
  /** False while the edge drains: every request gets EDGE_DRAINING. */
  accepting: () => boolean
  /** The edge shield's policy check, if the edge has policies. */
  gate?: RequestGate
}

/**
 * A policy check on a routed request (the edge shield). Returns undefined when no policy applies to
 * the hostname: the request takes the plain path with nothing added.
 */
export interface RequestGate {
  evaluate: (req: IncomingMessage, key: string, path: string) => GateVerdict | Promise<GateVerdict> | undefined
  /** An admitted request broke one of its verdict's limits later (a body past maxBodyBytes): count it as a rejection. */
  countRejection?: (code: ErrorCode) => void
}

export type GateVerdict =
  | {
    ok: true
    /** The target to forward: the path exactly as checked, plus the query. */
    path: string
    /** Fields removed from the visitor's request (credentials the edge consumed, spoofable identity fields). */
    removeHeaders?: readonly string[]
    /** Fields the edge sets (the authenticated identity). */
    setHeaders?: Readonly<Record<string, string>>
    /** Largest request body forwarded; a longer body is cut and answered 413. */
    maxBodyBytes?: number
    /** How long the agent has to start the response before the visitor gets 504. */
    responseTimeoutMs?: number
    /** The hostname's label-weighted routing rule (policy file `split`), applied when picking the tunnel connection. */
    routing?: RoutingRule
  }
  | { ok: false, code: ErrorCode, headers?: Readonly<Record<string, string>> }

/** A request VisitorProxy.handle took, as the listener's guards see it. */
export interface ProxiedRequest {
  /**
   * The visitor's request body stalled (the HTTP/2 body idle guard, visitor-guard.ts). The tunnel
   * stream is cancelled whatever the request's state, so the origin sees an aborted request, never a
   * short body that looks complete; 408 BURROW_ERR_REQUEST_TIMEOUT is answered when no response
   * started. Returns whether it answered (if not, the caller resets the visitor's stream).
   */
  bodyStalled: () => boolean
}

/**
 * Request ids: a random per-process prefix and a counter, 32 hex characters. Unique per edge
 * process without calling the CSPRNG per request (ids identify, they are not secrets).
 */
const ID_PREFIX = randomBytes(10).toString('hex')
let idCounter = 0
function nextRequestId (): string {
  idCounter = (idCounter + 1) % 0x1000000000000
  return ID_PREFIX + idCounter.toString(16).padStart(12, '0')
}

export class VisitorProxy {
  private readonly registry: TunnelRegistry
  readonly logger: Logger
  readonly accessLog: boolean
  private readonly queueLimit: number
  private readonly accepting: () => boolean
  private readonly gate: RequestGate | undefined
  /**
   * Host header -> routing key. Visitors repeat the same few Host values, so a small bounded map
   * saves the parse on almost every request; it is cleared whole when it fills (no eviction work).
   */
  private readonly hostKeys = new Map<string, string | undefined>()

  constructor (options: VisitorProxyOptions) {
    this.registry = options.registry
    this.logger = options.logger
    this.accessLog = options.logger.isLevelEnabled('info')
    this.queueLimit = options.queueLimit
    this.accepting = options.accepting
    this.gate = options.gate
  }

  /**
   * The http.Server 'request' handler, and its 'checkContinue' handler with `expectContinue`: then
   * 100 Continue is sent only once the request passed every check, so a body the edge refuses is
   * never invited.
   */
  handle (req: IncomingMessage, res: ServerResponse, expectContinue = false): ProxiedRequest {
    const exchange = new Exchange(this, req, res)
    if (!this.accepting()) {
      exchange.reject('BURROW_ERR_EDGE_DRAINING')
      return exchange
    }
    const host = visitorHost(req)
    const key = host === undefined ? undefined : this.routingKey(host)
    const path = key === undefined ? undefined : originFormTarget(req.url!, key)
    if (path === undefined) {
      exchange.reject('BURROW_ERR_BAD_REQUEST')
      return exchange
    }
    const verdict = this.gate?.evaluate(req, key!, path)
    if (verdict === undefined) {
      this.forward(exchange, key!, host!, path, undefined, expectContinue)
    } else if ('then' in verdict) {
      verdict.then((v) => this.afterGate(exchange, key!, host!, v, expectContinue), (err: unknown) => {
        this.logger.error({ err, requestId: exchange.requestId }, 'policy check failed')
        exchange.reject('BURROW_ERR_INTERNAL')
      })
    } else {
      this.afterGate(exchange, key!, host!, verdict, expectContinue)
    }
    return exchange
  }

  private afterGate (exchange: Exchange, key: string, host: string, verdict: GateVerdict, expectContinue: boolean): void {
    if (!verdict.ok) {
      exchange.reject(verdict.code, verdict.headers)
      return
    }
    this.forward(exchange, key, host, verdict.path, verdict, expectContinue)
  }

  private forward (exchange: Exchange, key: string, host: string, path: string, verdict: GateVerdict & { ok: true } | undefined, expectContinue: boolean): void {
    if (exchange.closed) return // the visitor left while the policy check ran
    const req = exchange.req
    const rule = verdict?.routing
    let conn: TunnelConnection | undefined
    if (rule === undefined) {
      conn = this.registry.pick(key)
    } else {
      // Label-weighted routing (SPEC.md §5.11): pick the pool, then the connection within it.
      const conns = this.registry.connectionsFor(key)
      if (conns !== undefined) {
        const sticky = rule.sticky
        const value = sticky === undefined
          ? undefined
          : sticky.kind === 'cookie' ? cookieValue(req.headers.cookie, sticky.name) : fieldValue(req.headers[sticky.name])
        const index = selectPool(rule, conns, value)
        if (index === POOL_EMPTY) {
          exchange.reject('BURROW_ERR_POOL_EMPTY')
          return
        }
        if (index === ANY_CONNECTION) {
          conn = this.registry.pick(key)
        } else {
          const pool = rule.pools[index]!
          exchange.pool = pool
          exchange.fallbackAny = rule.fallback === 'any'
          if (sticky?.kind === 'cookie' && value !== pool.name) exchange.setCookie = stickyCookie(sticky, pool)
          conn = this.registry.pick(key, undefined, pool)
        }
      }
    }
    if (conn === undefined) {
      exchange.reject(this.registry.isKnown(key) ? 'BURROW_ERR_NO_TUNNEL' : 'BURROW_ERR_UNKNOWN_HOST')
      return
    }
    const headers = tunnelRequestHeaders(req, path, host, exchange.requestId, verdict?.removeHeaders)
    if (headers === undefined) {
      exchange.reject('BURROW_ERR_BAD_REQUEST')
      return
    }
    if (expectContinue) {
      // The edge answered the expectation itself; the agent must not see it again.
      delete headers.expect
    }
    if (verdict !== undefined) {
      if (verdict.setHeaders !== undefined) for (const name in verdict.setHeaders) headers[name] = verdict.setHeaders[name]
      exchange.limit(verdict.maxBodyBytes, verdict.responseTimeoutMs)
    }
    exchange.route(key, headers, requestHasBody(req))
    if (expectContinue) exchange.res.writeContinue()
    this.dispatch(exchange, conn)
  }

  /** Opens the exchange's stream on `conn`. */
  /** Tells the gate that an admitted request was refused by one of its limits (SPEC.md §11.5: every rejection is counted). */
  limitBroken (code: ErrorCode): void {
    this.gate?.countRejection?.(code)
  }

  private dispatch (exchange: Exchange, conn: TunnelConnection): void {
    // Streams beyond the agent's limit wait in nghttp2's queue until one closes; bound that queue.
    if (conn.inflight >= conn.streamLimit + this.queueLimit) {
      exchange.reject('BURROW_ERR_TUNNEL_BUSY')
      return
    }
    let stream: ClientHttp2Stream
    try {
      stream = conn.request(exchange.headers!, !exchange.hasBody)
    } catch (err) {
      // A header map nghttp2 refuses is the visitor's fault (sanitising should have caught it);
      // anything else (ERR_HTTP2_GOAWAY_SESSION, ERR_HTTP2_INVALID_SESSION) means the connection is
      // going away and the request was never sent: another connection may take it.
      const code = (err as NodeJS.ErrnoException).code
      this.logger.debug({ err, requestId: exchange.requestId }, 'tunnel refused a new stream')
      if (code !== undefined && HEADER_ERRORS.has(code)) exchange.reject('BURROW_ERR_BAD_REQUEST')
      else this.retry(exchange, conn, 'refused')
      return
    }
    exchange.attach(stream, conn)
  }

  /**
   * The tunnel failed a request before its response started (SPEC.md §5.8). `refused`: the connection
   * refused the stream (REFUSED_STREAM, or GOAWAY before it opened), so neither the agent nor the
   * origin saw it: any method may go elsewhere. `lost`: the connection died with the stream open, so
   * the origin may have seen it: only an idempotent method may go elsewhere. Either way only if no
   * byte of the visitor's body was read (a body is never buffered for a replay), at most
   * MAX_ATTEMPTS connections in all, preferring another agent and the request's pool; otherwise the
   * visitor gets 502 BURROW_ERR_TUNNEL_LOST. The origin never receives a non-idempotent request twice.
   */
  retry (exchange: Exchange, failed: TunnelConnection, why: 'refused' | 'lost'): void {
    const req = exchange.req
    const replayable = exchange.attempts < MAX_ATTEMPTS &&
      (!exchange.hasBody || !req.readableDidRead) &&
      (why === 'refused' || IDEMPOTENT.has(req.method!))
    let next: TunnelConnection | undefined
    if (replayable) {
      // Every agent that failed this request so far comes last (a killed agent's other connections
      // may not have noticed yet). Allocated on this rare path only.
      const failedAgents = exchange.failedAgents ??= new Set()
      failedAgents.add(failed.agentId)
      next = this.registry.pick(exchange.key!, failed, exchange.pool, failedAgents)
      if (next === undefined && exchange.pool !== undefined && exchange.fallbackAny) {
        next = this.registry.pick(exchange.key!, failed, undefined, failedAgents)
        // Served outside its pool: a Set-Cookie naming that pool would pin the client to the pool that failed it.
        if (next !== undefined) exchange.setCookie = undefined
      }
    }
    if (next === undefined) {
      exchange.reject('BURROW_ERR_TUNNEL_LOST')
      return
    }
    exchange.attempts++
    this.dispatch(exchange, next)
  }

  /**
   * Answers a request the listener refused before routing (an HTTP/2 header list over the limit),
   * with a request id and an access-log line like any other.
   */
  refuse (req: IncomingMessage, res: ServerResponse, code: ErrorCode): void {
    new Exchange(this, req, res).reject(code)
  }

  private routingKey (host: string): string | undefined {
    let key = this.hostKeys.get(host)
    if (key === undefined && !this.hostKeys.has(host)) {
      key = routingKeyOfHost(host)
      if (this.hostKeys.size >= 1024) this.hostKeys.clear()
      this.hostKeys.set(host, key)
    }
    return key
  }
}

/** How many connections one request may be sent to (the first and two retries). */
const MAX_ATTEMPTS = 3

/** Methods RFC 9110 §9.2.2 calls idempotent: the only ones replayed after a connection died mid-flight. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

/** One value of a request field for header stickiness (repeated values joined as HTTP does). */
function fieldValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * The request target as the stream's :path (SPEC.md §5.1). Origin-form ("/a?b") is used as is, on
 * the hot path without parsing. Absolute-form ("http://host/a?b", which RFC 9112 obliges servers to
 * accept) becomes origin-form when its authority names the same tunnel as Host; when it names
 * another, the request is ambiguous and refused, never routed to a tunnel it did not name. Any other
 * form (asterisk "*", authority-form) has no meaning for an origin behind a tunnel: refused.
 */
function originFormTarget (url: string, routingKey: string): string | undefined {
  if (url.charCodeAt(0) === 47 /* / */) return url
  if (!/^https?:\/\//i.test(url)) return undefined
  let target: URL
  try {
    target = new URL(url)
  } catch {
    return undefined
  }
  if (target.username !== '' || target.password !== '' || routingKeyOfHost(target.host) !== routingKey) return undefined
  return target.pathname + target.search
}

/**
 * The visitor's Host. HTTP/2 (RFC 9113 §8.3.1) carries it as :authority, and may carry a `host`
 * field as well: the two must agree, or the request is ambiguous (undefined: refused as bad).
 */
function visitorHost (req: IncomingMessage): string | undefined {
  const host = req.headers.host
  if (req.httpVersionMajor !== 2) return host
  const authority = req.headers[':authority'] as string | undefined
  if (authority === undefined) return host
  return host === undefined || host === authority ? authority : undefined
}

/** Errors ClientHttp2Session.request() throws for a header map it refuses (the session survives). */
const HEADER_ERRORS: ReadonlySet<string> = new Set([
  'ERR_HTTP2_HEADER_SINGLE_VALUE', 'ERR_HTTP2_INVALID_CONNECTION_HEADERS', 'ERR_HTTP2_INVALID_HEADER_VALUE',
  'ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN',
])

/** Fields the edge sets, strips or answers itself; their underscore spellings are dropped too. */
function isEdgeOwned (name: string, listed: ReturnType<typeof connectionListedNames>): boolean {
  return name.startsWith('x-forwarded-') || isBurrowHeader(name) || isHopByHop(name, listed)
}

/**
 * Builds the stream's header block from the visitor's raw headers (SPEC.md §5.1, §5.3): hop-by-hop,
 * proxy-* and burrow-* removed, invalid names and values dropped (a bad name would destroy the
 * shared session inside Node), X-Forwarded-* and the request id set. Returns undefined for an
 * ambiguous request: a single-value field (Host, Content-Type, Authorization…) given twice.
 */
function tunnelRequestHeaders (req: IncomingMessage, path: string, host: string, requestId: string, drop?: readonly string[]): OutgoingHttpHeaders | undefined {
  const headers: OutgoingHttpHeaders = Object.create(null)
  headers[':method'] = req.method
  headers[':path'] = path
  headers[':authority'] = host
  headers[':scheme'] = 'http'
  const listed = connectionListedNames(req.headers.connection)
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    const value = raw[i + 1]!
    if (name.charCodeAt(0) === 58 /* : */) continue // an HTTP/2 visitor's pseudo-headers: set above
    if (name === 'host') {
      if (value !== host) return undefined // a second Host
      continue
    }
    if (isHopByHop(name, listed) || isBurrowHeader(name)) {
      if (name === 'te' && value.trim().toLowerCase() === 'trailers') headers.te = 'trailers'
      continue
    }
    if (name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue
    // CGI-style origins read "x_forwarded_for" as X-Forwarded-For: an underscore spelling of a field the
    // edge sets or strips, or of one a policy removes, would let a visitor spoof it (SPEC.md §5.3.2).
    if (name.includes('_')) {
      const dashed = name.replace(/_/g, '-')
      if (isEdgeOwned(dashed, listed) || (drop !== undefined && drop.includes(dashed))) continue
    }
    if (!isValidHeaderName(name) || !isValidHeaderValue(value)) continue
    const prev = headers[name]
    if (prev === undefined) headers[name] = value
    else if (name === 'cookie') headers.cookie = `${prev as string}; ${value}` // HTTP/2 cookie crumbs (RFC 9113 §8.2.3)
    else if (SINGLE_VALUE.has(name)) return undefined
    else if (Array.isArray(prev)) prev.push(value)
    else headers[name] = [prev as string, value]
  }
  // Fields a policy removes (credentials the edge consumed, the identity field it sets), after the
  // loop so that a repeated single-value one is still refused as ambiguous.
  if (drop !== undefined) for (const name of drop) delete headers[name]
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? ''
  headers['x-forwarded-proto'] = (req.socket as TLSSocket).encrypted === true ? 'https' : 'http'
  headers['x-forwarded-host'] = host
  headers[H_REQUEST_ID] = requestId
  return headers
}

/**
 * One visitor request in flight. Owns nothing: the visitor's req/res belong to the http server and
 * the stream to the tunnel session; it wires them together, decides the outcome once, and writes
 * the access-log line when the visitor's response closes.
 */
class Exchange implements ProxiedRequest {
  readonly requestId = nextRequestId()
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** Routing state, kept so a refused request can be sent again (VisitorProxy.retry). */
  key: string | undefined
  headers: OutgoingHttpHeaders | undefined
  hasBody = false
  attempts = 1
  /** The label pool the routing rule chose (SPEC.md §5.11); retries stay in it when they can. */
  pool: LabelPool | undefined
  /** The rule lets a retry leave the pool for any connection of the hostname. */
  fallbackAny = false
  /** Agents whose connection failed this request (VisitorProxy.retry). */
  failedAgents: Set<string> | undefined
  /** Set-Cookie pinning the client to its pool (cookie stickiness), added to the origin's response. */
  setCookie: string | undefined
  /** The body-size counter on the visitor's request, removed when the request moves to another connection. */
  private bodyCounter: ((chunk: Buffer) => void) | undefined
  private readonly proxy: VisitorProxy
  private conn: TunnelConnection | undefined
  /** Set by the shield: body size cap and response deadline (SPEC.md §6). */
  private maxBodyBytes: number | undefined
  private responseTimeoutMs: number | undefined
  private responseTimer: NodeJS.Timeout | undefined
  private readonly started: number
  private stream: ClientHttp2Stream | undefined
  private responded = false
  private visitorClosed = false
  private done = false
  /** The error code answered, for the access log (headers given to writeHead are not readable back). */
  private errorCode: ErrorCode | undefined

  constructor (proxy: VisitorProxy, req: IncomingMessage, res: ServerResponse) {
    this.proxy = proxy
    this.req = req
    this.res = res
    this.started = proxy.accessLog ? performance.now() : 0
    res.once('close', () => this.onVisitorClose())
  }

  route (key: string, headers: OutgoingHttpHeaders, hasBody: boolean): void {
    this.key = key
    this.headers = headers
    this.hasBody = hasBody
  }

  /** The visitor's response is closed (it left, or it was answered). */
  get closed (): boolean {
    // visitorClosed: Node's HTTP/2 compat response has no `closed`.
    return this.visitorClosed || this.res.closed || this.res.writableEnded
  }

  limit (maxBodyBytes: number | undefined, responseTimeoutMs: number | undefined): void {
    this.maxBodyBytes = maxBodyBytes
    this.responseTimeoutMs = responseTimeoutMs
  }

  /** Answers with an edge error before any response started. */
  reject (code: ErrorCode, headers?: Readonly<Record<string, string>>): void {
    this.done = true
    this.errorCode = code
    writeErrorResponse(this.req, this.res, code, this.requestId, headers)
  }

  attach (stream: ClientHttp2Stream, conn: TunnelConnection): void {
    this.stream = stream
    this.conn = conn
    stream.once('response', (headers: H2Headers, _flags: number, rawHeaders: string[]) => this.onResponse(headers, rawHeaders))
    stream.on('error', noop) // outcomes are decided in onStreamClose from rstCode
    stream.once('close', () => this.onStreamClose())
    if (this.responseTimeoutMs !== undefined) {
      this.responseTimer = setTimeout(() => this.fail('BURROW_ERR_ORIGIN_TIMEOUT'), this.responseTimeoutMs)
    }
    if (this.hasBody) {
      const max = this.maxBodyBytes
      if (max !== undefined) {
        // Only hostnames with a body limit pay for counting.
        let seen = 0
        const count = (chunk: Buffer): void => {
          seen += chunk.length
          if (seen > max) {
            this.req.off('data', count)
            this.req.unpipe(stream)
            this.fail('BURROW_ERR_BODY_TOO_LARGE')
            this.proxy.limitBroken('BURROW_ERR_BODY_TOO_LARGE')
          }
        }
        this.bodyCounter = count
        this.req.on('data', count)
      }
      this.req.pipe(stream)
    }
  }

  private onResponse (headers: H2Headers, raw: string[]): void {
    clearTimeout(this.responseTimer)
    const res = this.res
    const stream = this.stream!
    if (headers[H_RESPONSE_SOURCE] === SOURCE_AGENT) {
      const code = headers[H_ERROR]
      this.responded = true
      // Answered in full here: a later reset of the stream must not cut this answer.
      this.done = true
      this.errorCode = isErrorCode(code) ? code : 'BURROW_ERR_INTERNAL'
      writeErrorResponse(this.req, res, this.errorCode, this.requestId)
      stream.resume()
      return
    }
    // From the raw field list, not Node's header object: that one joins repeated fields (Link,
    // Vary…) into one line, and repeated values must reach the visitor as sent (SPEC.md §5.5).
    const flat: string[] = []
    const h2 = this.req.httpVersionMajor === 2
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!
      if (name.charCodeAt(0) === 58 /* : */ || isBurrowHeader(name)) continue
      // Connection-specific fields do not exist in HTTP/2 (RFC 9113 §8.2.2); Node would drop them with a warning.
      if (h2 && HOP_BY_HOP.has(name)) continue
      flat.push(name, raw[i + 1]!)
    }
    flat.push(H_REQUEST_ID, this.requestId)
    if (this.setCookie !== undefined) flat.push('set-cookie', this.setCookie)
    this.responded = true
    try {
      res.writeHead(Number(headers[':status']), flat)
    } catch {
      // An origin header Node's HTTP/1 writer refuses: answer as an invalid origin response.
      this.responded = false
      this.fail('BURROW_ERR_ORIGIN_RESET')
      return
    }
    stream.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        stream.pause()
        res.once('drain', () => stream.resume())
      }
    })
    stream.once('end', () => {
      // Node also ends the readable side of a stream torn down with its connection (the agent's
      // socket closed: rstCode CANCEL; the session destroyed: rstCode NO_ERROR but destroyed).
      // Only a clean END_STREAM completes the response; a cut one must stay visibly cut (SPEC.md §5.8).
      if (stream.destroyed || (stream.closed && stream.rstCode !== NGHTTP2_NO_ERROR)) {
        this.fail('BURROW_ERR_TUNNEL_LOST')
        return
      }
      this.done = true
      res.end()
    })
  }

  private onStreamClose (): void {
    clearTimeout(this.responseTimer)
    if (this.done) return
    const rstCode = this.stream!.rstCode
    if (rstCode === NGHTTP2_NO_ERROR && this.responded) {
      // A clean END_STREAM closes the stream only after its readable side ended ('end' finishes the
      // response). Closed with body data still unread (the session destroyed while the visitor was
      // applying backpressure): 'end' will never come, so the response is cut visibly.
      if (!this.stream!.readableEnded) this.fail('BURROW_ERR_TUNNEL_LOST')
      return
    }
    if (!this.responded && !this.res.headersSent) {
      // No response byte reached the visitor: maybe another connection can take it (VisitorProxy.retry).
      if (this.hasBody) {
        this.req.unpipe(this.stream!)
        if (this.bodyCounter !== undefined) this.req.off('data', this.bodyCounter)
        this.bodyCounter = undefined
      }
      this.proxy.retry(this, this.conn!, rstCode === NGHTTP2_REFUSED_STREAM ? 'refused' : 'lost')
      return
    }
    this.fail('BURROW_ERR_TUNNEL_LOST')
  }

  private onVisitorClose (): void {
    this.visitorClosed = true
    clearTimeout(this.responseTimer)
    if (!this.done && !this.res.writableFinished) {
      // The visitor went away first: cancel the stream so the agent aborts the origin request.
      this.done = true
      const stream = this.stream
      if (stream !== undefined && !stream.closed) cancelStream(stream)
    }
    if (this.proxy.accessLog) this.logAccess()
  }

  bodyStalled (): boolean {
    if (!this.done && !this.res.headersSent) {
      this.fail('BURROW_ERR_REQUEST_TIMEOUT')
      return true
    }
    // A response started (or was relayed whole while the upload went on): the visitor's stream is
    // the caller's to reset; the origin's request is aborted here.
    this.done = true
    this.errorCode ??= 'BURROW_ERR_REQUEST_TIMEOUT'
    clearTimeout(this.responseTimer)
    const stream = this.stream
    if (stream !== undefined && !stream.closed) cancelStream(stream)
    return false
  }

  private fail (code: ErrorCode): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.responseTimer)
    if (this.responded || this.res.headersSent) {
      // Part of the response is out: break the visitor connection so the truncation is visible.
      this.res.destroy()
    } else {
      writeErrorResponse(this.req, this.res, code, this.requestId)
    }
    this.errorCode ??= code
    const stream = this.stream
    if (stream !== undefined && !stream.closed) cancelStream(stream)
  }

  private logAccess (): void {
    const { req, res } = this
    this.proxy.logger.info({
      requestId: this.requestId,
      method: req.method,
      host: req.headers.host ?? req.headers[':authority'],
      path: req.url,
      status: res.statusCode,
      error: this.errorCode,
      ms: Math.round((performance.now() - this.started) * 10) / 10,
      remote: req.socket.remoteAddress,
      aborted: !res.writableFinished,
    }, 'request')
  }
}

/**
 * RST_STREAM CANCEL and nothing before it (SPEC.md §5.8). Node's close(code) first ends the
 * writable side (DATA with END_STREAM), so while the upload is still open the agent would see a
 * cut-off body end cleanly; a destroy by an AbortError sends RST_STREAM CANCEL alone. Once our side
 * has ended, close(CANCEL) is equivalent and allocates nothing. Also resets a visitor's HTTP/2
 * stream (visitor-guard.ts), where the same holds for a response under way.
 */
export function cancelStream (stream: Http2Stream): void {
  if (stream.closed || stream.destroyed) return
  if (stream.writableEnded) {
    stream.close(NGHTTP2_CANCEL)
    return
  }
  const ac = new AbortController()
  addAbortSignal(ac.signal, stream)
  ac.abort()
}

function noop (): void {}
