/**
 * The edge shield (README "Edge policies"): the policy of a hostname, compiled once, applied to each
 * visitor request before anything reaches a tunnel. Order: connection rate limit, client IP, header
 * limits, body size, request rate limit, route allow-list, authentication. A hostname without a
 * policy takes the plain path (evaluate returns undefined, nothing allocated).
 */
import type { IncomingMessage } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import type { BlockList, Socket } from 'node:net'
import type { Logger } from 'pino'
import type { ErrorCode } from '../../protocol/errors.js'
import type { GateVerdict, RequestGate } from '../visitor-proxy.js'
import { policyFor, type HostPolicy, type ShieldConfig } from './config.js'
import { normaliseTarget } from './paths.js'
import { compileRoutes, type RouteMatcher } from './routes.js'
import { buildBlockList, canonicalIp, clientIp, ipAllowed, rateKeyIp } from './client-ip.js'
import { createAuthenticator, type Authenticator } from './auth.js'
import { RateLimits, keyFor, type RateLimiter } from './rate-limit.js'
import { visitorSocketOf } from '../public-listener.js'

/** Rejections are summarised in the log at most this often (never one line per rejected request). */
const SUMMARY_INTERVAL_MS = 10_000

interface Compiled {
  policy: HostPolicy
  routes: RouteMatcher | undefined
  ipAllow: BlockList | undefined
  ipDeny: BlockList | undefined
  auth: Authenticator | undefined
  limiter: RateLimiter | undefined
  per: 'ip' | 'host'
  identityHeader: string
  removeHeaders: readonly string[]
}

type Deny = GateVerdict & { ok: false }

export class Shield implements RequestGate {
  private config: ShieldConfig
  private compiled = new WeakMap<HostPolicy, Compiled>()
  private trusted: BlockList | undefined
  private connectionLimiter: RateLimiter | undefined
  private readonly limits = new RateLimits()
  /** Sockets admitted over the connection rate limit, with the Retry-After to answer their first request. */
  private readonly overLimit = new WeakMap<Socket, number>()
  private readonly counts = new Map<ErrorCode, number>()
  private readonly logged = new Map<ErrorCode, number>()
  private readonly logger: Logger
  private summaryTimer: NodeJS.Timeout | undefined

  constructor (config: ShieldConfig, logger: Logger) {
    this.logger = logger
    this.config = config
    this.apply(config)
  }

  /** Swaps in a new configuration (reload). Rate-limit state survives for unchanged limits. */
  update (config: ShieldConfig): void {
    this.config = config
    this.compiled = new WeakMap()
    this.apply(config)
  }

  private apply (config: ShieldConfig): void {
    this.trusted = config.trustedProxies.length === 0 ? undefined : buildBlockList(config.trustedProxies)
    const c = config.connectionRateLimit
    this.connectionLimiter = c === undefined ? undefined : this.limits.get({ requestsPerSecond: c.connectionsPerSecond, burst: c.burst })
  }

  /** A request admitted with a limit that it broke later (a chunked body past maxBodyBytes): counted like the others. */
  countRejection (code: ErrorCode): void {
    this.deny(code)
  }

  /** Rejections so far, by code. */
  stats (): Record<string, number> {
    return Object.fromEntries(this.counts)
  }

  /**
   * Counts a new visitor connection against the per-IP connection rate. A connection over the limit
   * is kept just long enough to answer its first request 429 with Retry-After.
   */
  admitConnection (socket: Socket): void {
    const limiter = this.connectionLimiter
    if (limiter === undefined) return
    const peer = socket.remoteAddress === undefined ? undefined : canonicalIp(socket.remoteAddress)
    const r = limiter.tryConsume(`conn|${peer === undefined ? '' : rateKeyIp(peer)}`)
    if (!r.ok) this.overLimit.set(socket, r.retryAfterS)
  }

  evaluate (req: IncomingMessage, key: string, path: string): GateVerdict | Promise<GateVerdict> | undefined {
    // For an HTTP/2 visitor req.socket is a per-request proxy: look up the connection's real socket.
    const overLimit = this.overLimit.get(visitorSocketOf(req))
    if (overLimit !== undefined) return this.deny('BURROW_ERR_RATE_LIMITED', closing(req, { 'retry-after': String(overLimit) }))
    const forwarded = this.forwardedChain(req)
    const policy = policyFor(this.config, key)
    if (policy === undefined) return forwarded === undefined ? undefined : { ok: true, path, setHeaders: { 'x-forwarded-for': forwarded } }
    const c = this.compile(policy)
    const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.trusted) ?? ''
    if ((c.ipAllow !== undefined || c.ipDeny !== undefined) && !ipAllowed(ip, c.ipAllow, c.ipDeny)) return this.deny('BURROW_ERR_IP_DENIED')
    if (policy.maxHeaderCount !== undefined && req.rawHeaders.length / 2 > policy.maxHeaderCount) return this.deny('BURROW_ERR_HEADERS_TOO_LARGE')
    if (policy.maxHeaderBytes !== undefined && headerBytes(req.rawHeaders) > policy.maxHeaderBytes) return this.deny('BURROW_ERR_HEADERS_TOO_LARGE')
    if (policy.maxBodyBytes !== undefined) {
      const length = Number(req.headers['content-length'])
      if (length > policy.maxBodyBytes) return this.deny('BURROW_ERR_BODY_TOO_LARGE')
    }
    if (c.limiter !== undefined) {
      // Decided synchronously: streams that arrive in one read are counted one by one.
      // Before the path check (SPEC.md §11.1): an unsafe target (400) spends the rate like any other.
      const r = c.limiter.tryConsume(keyFor(c.per, rateKeyIp(ip), key))
      if (!r.ok) return this.deny('BURROW_ERR_RATE_LIMITED', { 'retry-after': String(r.retryAfterS) })
    }
    let forwardPath = path
    let checkedPath = ''
    if (c.routes !== undefined) {
      const target = normaliseTarget(path)
      if (target === undefined) return this.deny('BURROW_ERR_BAD_REQUEST')
      checkedPath = target.path
      forwardPath = target.path + target.query
    }
    const routed = this.checkRoute(req, c, checkedPath)
    if (routed !== undefined) return routed
    if (c.auth === undefined) return this.admit(c, forwardPath, undefined, forwarded)
    return this.authenticate(req, c, forwardPath, forwarded)
  }

  private async authenticate (req: IncomingMessage, c: Compiled, forwardPath: string, forwarded: string | undefined): Promise<GateVerdict> {
    const a = await c.auth!.authenticate(req.headers.authorization)
    if (!a.ok) return this.deny('BURROW_ERR_UNAUTHORIZED', { 'www-authenticate': a.challenge })
    return this.admit(c, forwardPath, a.identity, forwarded)
  }

  /**
   * The X-Forwarded-For to send on when the visitor is a trusted proxy (SPEC.md §11.2): its chain plus
   * the proxy itself, so the origin sees the client the shield judged. Undefined otherwise (the edge
   * then sets the socket peer alone).
   */
  private forwardedChain (req: IncomingMessage): string | undefined {
    const trusted = this.trusted
    if (trusted === undefined) return undefined
    const xff = req.headers['x-forwarded-for']
    const peer = req.socket.remoteAddress
    const canonical = peer === undefined ? undefined : canonicalIp(peer)
    if (xff === undefined || canonical === undefined || !trusted.check(canonical, canonical.includes(':') ? 'ipv6' : 'ipv4')) return undefined
    return `${Array.isArray(xff) ? xff.join(', ') : xff}, ${canonical}`
  }

  private checkRoute (req: IncomingMessage, c: Compiled, checkedPath: string): Deny | undefined {
    if (c.routes === undefined) return undefined
    const r = c.routes.check(req.method ?? 'GET', checkedPath)
    if (r === 'method') return this.deny('BURROW_ERR_METHOD_NOT_ALLOWED', { allow: c.routes.allowHeader })
    if (r === 'path') return this.deny('BURROW_ERR_ROUTE_DENIED')
    return undefined
  }

  private admit (c: Compiled, forwardPath: string, identity: string | undefined, forwarded: string | undefined): GateVerdict {
    const policy = c.policy
    const setHeaders: Record<string, string> | undefined = identity === undefined && forwarded === undefined ? undefined : {}
    if (identity !== undefined) setHeaders![c.identityHeader] = identity
    if (forwarded !== undefined) setHeaders!['x-forwarded-for'] = forwarded
    return {
      ok: true,
      path: forwardPath,
      removeHeaders: c.removeHeaders,
      ...(setHeaders === undefined ? {} : { setHeaders }),
      ...(policy.maxBodyBytes === undefined ? {} : { maxBodyBytes: policy.maxBodyBytes }),
      ...(policy.originTimeoutMs === undefined ? {} : { responseTimeoutMs: policy.originTimeoutMs }),
      ...(policy.routing === undefined ? {} : { routing: policy.routing }),
    }
  }

  private compile (policy: HostPolicy): Compiled {
    let c = this.compiled.get(policy)
    if (c !== undefined) return c
    const identityHeader = policy.identityHeader
    const auth = policy.auth === undefined ? undefined : createAuthenticator(policy.auth, 'burrow')
    c = {
      policy,
      routes: policy.allow === undefined ? undefined : compileRoutes(policy.allow),
      ipAllow: policy.ipAllow === undefined ? undefined : buildBlockList(policy.ipAllow),
      ipDeny: policy.ipDeny === undefined ? undefined : buildBlockList(policy.ipDeny),
      auth,
      limiter: policy.rateLimit === undefined ? undefined : this.limits.get(policy.rateLimit),
      per: policy.rateLimit?.per ?? 'ip',
      identityHeader,
      // The client's own copy of the identity field never reaches the origin; nor do credentials the edge consumed.
      removeHeaders: auth === undefined ? [identityHeader] : [identityHeader, 'authorization'],
    }
    this.compiled.set(policy, c)
    return c
  }

  private deny (code: ErrorCode, headers?: Record<string, string>): Deny {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1)
    if (this.summaryTimer === undefined) {
      this.summaryTimer = setTimeout(() => this.summarise(), SUMMARY_INTERVAL_MS)
      this.summaryTimer.unref()
    }
    return headers === undefined ? { ok: false, code } : { ok: false, code, headers }
  }

  /** One log line per interval with the rejections since the last one, instead of one per request. */
  private summarise (): void {
    this.summaryTimer = undefined
    const since: Record<string, number> = {}
    for (const [code, n] of this.counts) {
      const delta = n - (this.logged.get(code) ?? 0)
      if (delta > 0) since[code] = delta
      this.logged.set(code, n)
    }
    if (Object.keys(since).length > 0) this.logger.info({ rejected: since, intervalMs: SUMMARY_INTERVAL_MS }, 'edge policy rejected requests')
  }

  close (): void {
    clearTimeout(this.summaryTimer)
    this.summaryTimer = undefined
  }
}

function headerBytes (raw: readonly string[]): number {
  let n = 0
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length
  return n + raw.length * 2 // ": " and CRLF per field, roughly
}

/**
 * For HTTP/1, ask the client to close the connection. HTTP/2 has no such field: the session is closed
 * gracefully instead (GOAWAY now, the streams already open, this one included, are still answered).
 */
function closing (req: IncomingMessage, headers: Record<string, string>): Record<string, string> {
  if (req.httpVersionMajor === 1) return { ...headers, connection: 'close' }
  const session = (req as unknown as Http2ServerRequest).stream.session
  if (session !== undefined && !session.closed) session.close()
  return headers
}
