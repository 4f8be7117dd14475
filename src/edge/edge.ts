/**
 * The edge: a public HTTP listener for visitors and a TLS listener for agents (SPEC.md §1).
 * It owns both servers, every TunnelConnection and the registry; `close()` is idempotent.
 */
import http, { STATUS_CODES, type Server as HttpServer } from 'node:http'
import tls, { type TLSSocket } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from 'pino'
import { silentLogger } from '../observability/logger.js'
import { ensureEdgePki, type CaPair } from './pki.js'
import { IdentityStore } from './identity-store.js'
import { serveEnrollment } from './enrollment.js'
import { checkPeer } from './peer-identity.js'
import { certFingerprint } from '../transport/x509.js'
import { TunnelRegistry } from './registry.js'
import { TunnelConnection, type RegisterDecision } from './tunnel-connection.js'
import { VisitorProxy } from './visitor-proxy.js'
import { startAdminSocket, type AdminSocket, type TunnelsSnapshot } from './admin-socket.js'
import { guardVisitorRequest } from './visitor-guard.js'
import { PublicListener, type PublicHttp2Options, type PublicTlsOptions } from './public-listener.js'
import { Shield } from './shield/shield.js'
import { ShieldConfigWatcher, type ShieldConfig } from './shield/config.js'
import { normaliseRegisteredHostname } from '../protocol/hostname.js'
import { hostnameGranted } from '../protocol/identity.js'
import { labelsProblem } from '../protocol/labels.js'
import { BurrowError, ErrorCodes, httpStatusOf, type ErrorCode } from '../protocol/errors.js'
import {
  ALPN_ENROLL_V1, ALPN_V1, DEFAULT_CERT_LIFETIME_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS, DEFAULT_QUEUE_LIMIT,
  DEFAULT_REGISTRATION_TIMEOUT_MS, MAX_HOSTNAMES_PER_REGISTER, PROTOCOL_VERSION,
} from '../protocol/constants.js'
import type { burrow } from '../protocol/generated/tunnel.js'

export interface ListenAddress { host: string, port: number }

export interface EdgeOptions {
  /** Directory holding the CA, the serving certificate and identity.json (created on first start). */
  stateDir: string
  /** Lifetime of the client certificates this edge issues (SPEC.md §4.2). Default 7 days. */
  certLifetimeMs?: number
  /** Policy file (YAML, README "Edge policies"): reloaded on change and by reloadPolicies(). */
  config?: string
  /** How long an enrollment connection has to send its EnrollRequest. Default 10 s (SPEC.md §4.5). */
  enrollmentDeadlineMs?: number
  /** How often the edge re-reads identity.json and checks live connections for revocation and expiry. Default 1 s. */
  identityPollMs?: number
  /** Public visitor listener (HTTP/1.1, and h2c unless `h2c: false`). Default 127.0.0.1:8080. */
  listen?: ListenAddress
  /** A second public listener with TLS: HTTP/2 or HTTP/1.1 by ALPN (README "Visitors over HTTP/2"). Default address 127.0.0.1:8443. */
  publicTls?: PublicTlsOptions
  /** Accept HTTP/2 with prior knowledge (h2c) on the plain listener. Default true. */
  h2c?: boolean
  /** Limits for visitor HTTP/2 connections; every one has a safe default (README "Visitors over HTTP/2"). */
  http2?: PublicHttp2Options
  /** Tunnel listener for agents. Default 127.0.0.1:7844. */
  tunnelListen?: ListenAddress
  /** Extra DNS names / IPs for the serving certificate, beyond localhost and loopback. */
  tunnelNames?: readonly string[]
  registrationTimeoutMs?: number
  heartbeatIntervalMs?: number
  heartbeatTimeoutMs?: number
  /** Requests queued per tunnel connection beyond its stream limit before TUNNEL_BUSY. */
  queueLimit?: number
  /** How long close() lets in-flight requests finish. Default 10 s. */
  drainTimeoutMs?: number
  /** Visitor HTTP/1 timeouts. */
  headersTimeoutMs?: number
  keepAliveTimeoutMs?: number
  /** Longest pause in a visitor's request body, HTTP/1 or HTTP/2, before the request is cut (408, or a reset once the response started). Default 30 s; 0 disables. */
  bodyIdleTimeoutMs?: number
  /** Serve `burrow edge tunnels` on `<stateDir>/admin.sock` (0600). Default true. */
  adminSocket?: boolean
  logger?: Logger
}

type EdgeState = 'starting' | 'running' | 'closing' | 'closed'

/** The shield's configuration before the policy file is loaded: no policy for any hostname. */
const NO_POLICIES: ShieldConfig = { file: '', trustedProxies: [], connectionRateLimit: undefined, defaults: undefined, policies: new Map(), hasWildcards: false }

/** Features this edge supports (SPEC.md §7.3); v1 defines none that change the wire. */
const EDGE_FEATURES: readonly string[] = []

export class Edge {
  readonly id = randomBytes(6).toString('hex')
  readonly registry = new TunnelRegistry()
  state: EdgeState = 'starting'
  caCertPem = ''
  caPath = ''
  /** SHA-256 of the CA certificate (DER), base64url: what enrollment tokens pin. */
  caFingerprint = ''

  private readonly options: EdgeOptions
  private readonly rootLogger: Logger
  private readonly logger: Logger
  private store: IdentityStore | undefined
  private ca: CaPair | undefined
  private identityTimer: NodeJS.Timeout | undefined
  private identityPolling = false
  private readonly shield: Shield | undefined
  private policyWatcher: ShieldConfigWatcher | undefined
  private readonly connections = new Set<TunnelConnection>()
  /** Enrollment connections being served (SPEC.md §4.5): ended by close() unless already answering. */
  private readonly enrollments = new Set<{ close: () => void }>()
  private readonly visitorSockets = new Set<Socket>()
  private readonly publicServer: HttpServer
  /** The public listening sockets: HTTP/1 connections go to publicServer, HTTP/2 ones to its own server. */
  private readonly publicListener: PublicListener
  private tunnelServer: tls.Server | undefined
  private adminSocket: AdminSocket | undefined
  private connSeq = 0
  private closing: Promise<void> | undefined

  constructor (options: EdgeOptions) {
    this.options = options
    // Components log as children of the root logger: a child of a child would repeat the `component` key.
    this.rootLogger = options.logger ?? silentLogger
    this.logger = this.rootLogger.child({ component: 'edge' })
    // Policies load in start(); until then (and without a file) the shield holds none.
    this.shield = options.config === undefined ? undefined : new Shield(NO_POLICIES, this.rootLogger.child({ component: 'shield' }))
    const proxy = new VisitorProxy({
      ...(this.shield === undefined ? {} : { gate: this.shield }),
      registry: this.registry,
      logger: this.rootLogger.child({ component: 'access' }),
      queueLimit: options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
      accepting: () => this.state === 'running',
    })
    const headersTimeout = options.headersTimeoutMs ?? 20_000
    const guard = { bodyIdleTimeoutMs: options.bodyIdleTimeoutMs ?? 30_000, timeoutAnswer: parserRejection('ERR_HTTP_REQUEST_TIMEOUT') }
    this.publicServer = http.createServer({
      headersTimeout,
      requestTimeout: 0, // bodies may stream for long; idle sockets are bounded by keepAliveTimeout
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      // How often Node checks the headers timeout: often enough for the timeout to be meaningful.
      connectionsCheckingInterval: Math.min(2_000, Math.max(50, Math.floor(headersTimeout / 4))),
      maxHeaderSize: 16 * 1024,
      noDelay: true,
      // A missing Host is answered by the proxy as BURROW_ERR_BAD_REQUEST (SPEC.md §5.1, §6.1),
      // not by Node's bare 400 without burrow-error / burrow-request-id.
      requireHostHeader: false,
    }, (req, res) => { guardVisitorRequest(req, res, guard); proxy.handle(req, res) })
    // Expect: 100-continue is answered by the edge once the request passed its checks (SPEC.md §6).
    this.publicServer.on('checkContinue', (req, res) => { guardVisitorRequest(req, res, guard); proxy.handle(req, res, true) })
    // CONNECT (authority-form) means nothing behind a tunnel (SPEC.md §5.1); Node alone would drop it unanswered.
    this.publicServer.on('connect', (_req: http.IncomingMessage, socket: Socket) => socket.end(parserRejection(undefined), () => socket.destroy()))
    this.publicServer.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // A request Node's parser rejects (bad framing, oversized headers, too slow) still gets a coded
      // answer. Destroy once it is flushed: a client that never closes its side must not hold the socket.
      // Never inside a response already under way (a body error after the origin answered): that one is cut.
      const inFlight = (socket as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage
      if (socket.writable && !socket.destroyed && inFlight?.headersSent !== true) socket.end(parserRejection(err.code), () => socket.destroy())
      else socket.destroy()
      this.logger.debug({ code: err.code }, 'visitor client error')
    })
    this.publicListener = new PublicListener({
      listen: options.listen ?? { host: '127.0.0.1', port: 8080 },
      h2c: options.h2c ?? true,
      tls: options.publicTls,
      http2: options.http2,
      headersTimeoutMs: headersTimeout,
      http1: this.publicServer,
      proxy,
      bodyIdleTimeoutMs: guard.bodyIdleTimeoutMs,
      onSocket: (socket) => this.onVisitorSocket(socket),
      logger: this.logger,
    })
  }

  /** Starts both listeners. Resolves when they are bound. */
  async start (): Promise<this> {
    if (this.options.config !== undefined) {
      const watcher = new ShieldConfigWatcher(this.options.config, this.rootLogger.child({ component: 'shield' }))
      this.shield!.update(await watcher.start())
      watcher.on('change', (config) => {
        this.shield!.update(config)
        this.logger.info({ file: this.options.config }, 'edge policies reloaded')
      })
      this.policyWatcher = watcher
    }
    const pki = await ensureEdgePki(this.options.stateDir, this.options.tunnelNames)
    this.caCertPem = pki.caCertPem
    this.caPath = pki.caPath
    this.ca = pki.ca
    this.caFingerprint = certFingerprint(pki.ca.cert)
    this.store = await IdentityStore.open(this.options.stateDir)
    // Fails when another edge runs on this state dir (its admin socket answers).
    if (this.options.adminSocket !== false) this.adminSocket = await startAdminSocket(this.options.stateDir, { tunnels: () => this.tunnels() }, this.logger)
    this.tunnelServer = tls.createServer({
      cert: pki.certPem,
      key: pki.keyPem,
      minVersion: 'TLSv1.3',
      ALPNProtocols: [ALPN_V1, ALPN_ENROLL_V1],
      // Ask for the agent's certificate, verify it against our CA, but decide after the handshake,
      // so a refusal carries a stable code instead of a bare TLS alert (SPEC.md §4.1).
      requestCert: true,
      rejectUnauthorized: false,
      ca: pki.caCertPem,
      handshakeTimeout: 10_000,
      // Every frame is written whole; Nagle would only add delayed-ACK stalls (SPEC.md §1.1).
      noDelay: true,
    }, (socket) => this.onTunnelSocket(socket))
    this.tunnelServer.on('tlsClientError', (err) => this.logger.debug({ err: err.message }, 'tunnel TLS handshake failed'))
    const tunnel = this.options.tunnelListen ?? { host: '127.0.0.1', port: 7844 }
    try {
      this.tunnelServer.listen(tunnel.port, tunnel.host)
      await once(this.tunnelServer, 'listening')
      await this.publicListener.listen()
    } catch (err) {
      this.tunnelServer.close()
      this.publicListener.destroy()
      await this.adminSocket?.close()
      this.state = 'closed'
      throw err
    }
    this.state = 'running'
    this.identityTimer = setInterval(() => { void this.pollIdentity() }, this.options.identityPollMs ?? 1_000)
    this.identityTimer.unref()
    this.logger.info({ public: this.publicAddress, publicTls: this.publicTlsAddress, tunnel: this.tunnelAddress }, 'edge listening')
    return this
  }

  get publicAddress (): ListenAddress {
    return this.publicListener.address
  }

  /** The public TLS listener's address, when `publicTls` is configured. */
  get publicTlsAddress (): ListenAddress | undefined {
    return this.publicListener.tlsAddress
  }

  get tunnelAddress (): ListenAddress {
    const a = this.tunnelServer?.address() as AddressInfo
    return { host: a.address, port: a.port }
  }

  /** The URL visitors use for `hostname`. */
  publicUrl (hostname: string): string {
    return `http://${hostname}:${this.publicAddress.port}/`
  }

  /** The identity records (accounts, tokens, certificates) this edge serves from its state directory. */
  get identity (): IdentityStore {
    if (this.store === undefined) throw new Error('the edge is not started')
    return this.store
  }

  /** A single-use enrollment token for `account` (SPEC.md §4.6), pinning this edge's CA. */
  async createEnrollmentToken (account: string, ttlMs: number): Promise<string> {
    return (await this.identity.createToken(account, ttlMs, this.caFingerprint)).token
  }

  /** Re-reads the policy file (SIGHUP). Resolves false when it is invalid (the last good one stays). */
  async reloadPolicies (): Promise<boolean> {
    return await (this.policyWatcher?.reload() ?? Promise.resolve(false))
  }

  /** Requests the shield rejected, by error code. */
  shieldStats (): Record<string, number> {
    return this.shield?.stats() ?? {}
  }

  /** What `burrow edge tunnels` shows: every routable hostname and its connections. */
  tunnels (): TunnelsSnapshot {
    // Every connection that registered, routable or not: a draining one still has requests in flight.
    const byHost = new Map<string, TunnelsSnapshot['hostnames'][number]['connections']>()
    for (const c of this.connections) {
      if (c.registeredAt === 0 || c.state === 'closed') continue
      const row = { id: c.id, agentId: c.agentId, state: c.state, inflight: c.inflight, labels: { ...c.labels }, remoteAddress: c.remoteAddress, account: c.identity?.account ?? null, connIndex: c.connIndex, since: new Date(c.registeredAt).toISOString() }
      for (const host of c.hostnames) {
        let rows = byHost.get(host)
        if (rows === undefined) byHost.set(host, rows = [])
        rows.push(row)
      }
    }
    const hostnames = [...byHost].map(([hostname, connections]) => ({
      hostname,
      connections: connections.sort((a, b) => a.agentId.localeCompare(b.agentId) || a.connIndex - b.connIndex || a.id.localeCompare(b.id)),
    }))
    return { edgeId: this.id, hostnames: hostnames.sort((a, b) => a.hostname.localeCompare(b.hostname)) }
  }

  /** Live tunnel connections (any state but closed). */
  get connectionCount (): number {
    return this.connections.size
  }

  /**
   * Graceful shutdown: stop accepting agents and visitors, Drain every tunnel, let in-flight
   * requests finish within drainTimeoutMs, then close everything. Idempotent.
   */
  async close (): Promise<void> {
    this.closing ??= this.doClose()
    return await this.closing
  }

  private async doClose (): Promise<void> {
    if (this.state === 'closed') return
    this.state = 'closing'
    clearInterval(this.identityTimer)
    this.policyWatcher?.close()
    this.shield?.close()
    const deadline = this.options.drainTimeoutMs ?? 10_000
    this.tunnelServer?.close()
    for (const enrollment of this.enrollments) enrollment.close()
    // Stop accepting; HTTP/2 visitors get GOAWAY (open streams finish).
    this.publicListener.close()
    this.publicServer.close()
    // Idle keep-alive visitors go now; busy ones after their response.
    this.publicServer.closeIdleConnections()
    await Promise.all([...this.connections].map(async (c) => await c.drain(deadline, 'edge shutting down')))
    for (const socket of this.visitorSockets) socket.destroy()
    this.publicListener.destroy()
    await this.adminSocket?.close()
    this.state = 'closed'
    this.logger.info('edge closed')
  }

  /** Every accepted visitor socket, whatever the listener or protocol: tracked for shutdown. */
  private onVisitorSocket (socket: Socket): void {
    this.shield?.admitConnection(socket)
    this.visitorSockets.add(socket)
    socket.once('close', () => this.visitorSockets.delete(socket))
  }

  private onTunnelSocket (socket: TLSSocket): void {
    if (socket.alpnProtocol === ALPN_ENROLL_V1 && this.state === 'running') {
      const enrollment = serveEnrollment(socket, {
        ca: this.ca!,
        store: this.identity,
        lifetimeMs: this.options.certLifetimeMs ?? DEFAULT_CERT_LIFETIME_MS,
        ...(this.options.enrollmentDeadlineMs === undefined ? {} : { deadlineMs: this.options.enrollmentDeadlineMs }),
        logger: this.rootLogger,
      })
      this.enrollments.add(enrollment)
      socket.once('close', () => this.enrollments.delete(enrollment))
      return
    }
    if (socket.alpnProtocol !== ALPN_V1 || this.state !== 'running') {
      // SPEC.md §1.2: nothing but burrow/1 and burrow-enroll/1 is spoken on the tunnel port.
      this.logger.debug({ alpn: socket.alpnProtocol }, 'closing tunnel socket without the burrow ALPN')
      socket.destroy()
      return
    }
    const conn = new TunnelConnection(socket, {
      id: `${this.id}-${++this.connSeq}`,
      edgeId: this.id,
      logger: this.logger,
      registrationTimeoutMs: this.options.registrationTimeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: this.options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      decide: (register, c) => this.decide(register, c, socket),
    })
    this.connections.add(conn)
    conn.on('registered', () => this.registry.add(conn))
    conn.on('unregistered', () => this.registry.remove(conn))
    conn.on('closed', () => this.connections.delete(conn))
  }

  /**
   * Re-reads identity.json when it changed, and disconnects every connection whose certificate is
   * revoked or has expired (SPEC.md §4.8).
   */
  private async pollIdentity (): Promise<void> {
    if (this.identityPolling || this.state !== 'running') return
    this.identityPolling = true
    try {
      await this.identity.refresh()
    } catch (err) {
      this.logger.error({ err }, 'could not re-read identity.json; keeping the previous records')
    } finally {
      this.identityPolling = false
    }
    const now = Date.now()
    for (const conn of this.connections) {
      const id = conn.identity
      if (id === undefined || conn.state === 'closed') continue
      if (this.identity.isRevoked(id.serial)) {
        conn.fail(new BurrowError('BURROW_ERR_CERT_REVOKED', `certificate ${id.serial} of account ${id.account} has been revoked`))
      } else if (now >= id.notAfterMs) {
        conn.fail(new BurrowError('BURROW_ERR_CERT_EXPIRED', `certificate ${id.serial} expired at ${new Date(id.notAfterMs).toISOString()}`))
      }
    }
  }

  /**
   * The registration decision (SPEC.md §3.7, §4): version, the client certificate, then hostnames
   * against the certificate's zones and live owners, all or nothing.
   */
  private decide (register: burrow.v1.Register.$Properties, conn: TunnelConnection, socket: TLSSocket): RegisterDecision {
    if (this.state !== 'running') {
      return { accepted: false, code: 'BURROW_ERR_EDGE_DRAINING', permanent: false, retryAfterMs: 1000 }
    }
    if (register.protocolVersion !== PROTOCOL_VERSION) {
      return { accepted: false, code: 'BURROW_ERR_UNSUPPORTED_VERSION', message: `this edge speaks protocol version ${PROTOCOL_VERSION}`, permanent: true }
    }
    // Revocations made a moment ago by `burrow edge certs revoke` count already.
    try {
      this.identity.refreshSync()
    } catch (err) {
      this.logger.error({ err }, 'could not re-read identity.json; keeping the previous records')
    }
    const peer = checkPeer(socket, this.ca!, this.identity)
    if (!peer.ok) return { accepted: false, code: peer.code, message: peer.message, permanent: true }
    const { account, zones } = peer.identity
    const ownerKey = account
    const raw = register.hostnames ?? []
    if (raw.length === 0 || raw.length > MAX_HOSTNAMES_PER_REGISTER) {
      return { accepted: false, code: 'BURROW_ERR_HOSTNAME_INVALID', message: `register between 1 and ${MAX_HOSTNAMES_PER_REGISTER} hostnames`, permanent: true }
    }
    // One pass per cause, in the order of the SPEC.md §3.7 table: a cause applies when it applies to
    // any hostname, so a permanent one (invalid, forbidden) wins over a retryable one (taken).
    const hostnames: string[] = []
    for (const name of raw) {
      const host = normaliseRegisteredHostname(name)
      if (host === undefined) {
        return { accepted: false, code: 'BURROW_ERR_HOSTNAME_INVALID', message: `not a valid hostname: ${JSON.stringify(name).slice(0, 300)}`, permanent: true }
      }
      if (!hostnames.includes(host)) hostnames.push(host)
    }
    for (const host of hostnames) {
      if (!hostnameGranted(host, zones)) {
        const granted = zones.map((z) => (z.wildcard ? `${z.zone} (wildcards allowed)` : z.zone)).join(', ')
        return { accepted: false, code: 'BURROW_ERR_HOSTNAME_FORBIDDEN', message: `${host} is outside the zones of account ${account}: ${granted || 'none'}`, permanent: true }
      }
    }
    const labelProblemText = labelsProblem(register.labels ?? {})
    if (labelProblemText !== undefined) {
      return { accepted: false, code: 'BURROW_ERR_LABEL_INVALID', message: labelProblemText, permanent: true }
    }
    for (const host of hostnames) {
      const owner = this.registry.ownerOf(host)
      if (owner !== undefined && owner !== ownerKey) {
        return { accepted: false, code: 'BURROW_ERR_HOSTNAME_TAKEN', message: `${host} is served by another account`, permanent: false, retryAfterMs: 5000 }
      }
    }
    const offered = register.client?.features ?? []
    conn.identity = peer.identity
    return { accepted: true, hostnames, ownerKey, features: EDGE_FEATURES.filter((f) => offered.includes(f)) }
  }

}

/** Raw answers to requests Node's HTTP/1 parser rejected (SPEC.md §6.1), built once. */
const PARSER_REJECTIONS = new Map<ErrorCode, string>(
  (['BURROW_ERR_BAD_REQUEST', 'BURROW_ERR_REQUEST_TIMEOUT', 'BURROW_ERR_HEADERS_TOO_LARGE'] as const).map((code) => {
    const status = httpStatusOf(code)
    const body = `${status} ${STATUS_CODES[status] ?? ''}\n${code}: ${ErrorCodes[code].message}\n`
    return [code, `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\ncache-control: no-store\r\n` +
      `content-type: text/plain; charset=utf-8\r\nburrow-error: ${code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`]
  }),
)

function parserRejection (nodeCode: string | undefined): string {
  const code = nodeCode === 'HPE_HEADER_OVERFLOW'
    ? 'BURROW_ERR_HEADERS_TOO_LARGE'
    : nodeCode === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'BURROW_ERR_REQUEST_TIMEOUT' : 'BURROW_ERR_BAD_REQUEST'
  return PARSER_REJECTIONS.get(code)!
}

/** Creates and starts an edge. */
export async function createEdge (options: EdgeOptions): Promise<Edge> {
  return await new Edge(options).start()
}
