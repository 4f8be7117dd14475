/**
 * The agent: keeps a registered tunnel connection to the edge, serves its streams from the origin,
 * reconnects with full-jitter backoff, and shuts down gracefully (SPEC.md §8).
 * Owns the OriginProxy and the current TunnelClient.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { silentLogger } from '../observability/logger.js'
import { fullJitterDelay } from './backoff.js'
import { OriginProxy } from './origin-proxy.js'
import { RegistrationError, TunnelClient } from './tunnel-client.js'
import { EnrollmentError, renew, renewalTime, type AgentIdentity } from './enrollment.js'
import { BurrowError, isBurrowError } from '../protocol/errors.js'
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS, DEFAULT_REGISTRATION_TIMEOUT_MS } from '../protocol/constants.js'
import type { burrow } from '../protocol/generated/tunnel.js'

export interface AgentOptions {
  /** The edge's tunnel address, "host:port". */
  edge: string
  /** PEM of the edge CA the tunnel certificate must chain to. Default: identity.caPem. */
  edgeCa?: string | Buffer
  /** The client certificate, key and CA this agent authenticates with (SPEC.md §4.1). */
  identity: AgentIdentity
  /** Renew the certificate before it expires (SPEC.md §4.7). Default true. */
  renew?: boolean
  /** Called with each renewed identity, before the tunnel moves to it (the CLI saves it). */
  onIdentityRenewed?: (identity: AgentIdentity) => void | Promise<void>
  hostnames: readonly string[]
  /** The origin's base URL. */
  origin: string
  labels?: Record<string, string>
  /** Origin response-header timeout (and body idle timeout). Default 30 s. */
  originTimeoutMs?: number
  /** Sockets kept to the origin. Default 128. */
  originConnections?: number
  /** Backoff base and cap. Default 1 s and 30 s. */
  retryBaseMs?: number
  retryMaxDelayMs?: number
  registrationTimeoutMs?: number
  heartbeatIntervalMs?: number
  heartbeatTimeoutMs?: number
  /** How long close() lets in-flight requests finish. Default 30 s. */
  gracePeriodMs?: number
  version?: string
  logger?: Logger
}

export type AgentState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopping' | 'stopped' | 'failed'

export interface AgentEvents {
  registered: [info: burrow.v1.RegisterAccepted.$Properties]
  disconnected: [reason: string]
  /** Registration was rejected permanently; the agent stopped. */
  fatal: [err: RegistrationError]
  retry: [info: { attempt: number, delayMs: number, reason: string }]
  /** The certificate was renewed and the tunnel moved to it. */
  renewed: [identity: AgentIdentity]
}

export class Agent extends EventEmitter<AgentEvents> {
  readonly id = randomBytes(8).toString('hex')
  state: AgentState = 'idle'
  /** Connection attempts made since start (for operators and tests). */
  attempts = 0

  private readonly options: AgentOptions
  private readonly logger: Logger
  private readonly origin: OriginProxy
  private readonly edgeHost: string
  private readonly edgePort: number
  private client: TunnelClient | undefined
  private retryTimer: NodeJS.Timeout | undefined
  /** Reconnect attempts since the last registration: the backoff exponent. */
  private failures = 0
  /** Settles the promise start() returned, until the first registration or failure. */
  private starting: { resolve: () => void, reject: (err: Error) => void } | undefined
  /** Failed connection attempts since the last registration (Register.previous_attempts, SPEC.md §3.4). */
  private failedAttempts = 0
  private stopping: Promise<void> | undefined
  private identity: AgentIdentity
  private renewTimer: NodeJS.Timeout | undefined
  /** Renewal attempts that failed since the last success: the backoff exponent. */
  private renewFailures = 0
  /** Connections replaced by a renewal, finishing their in-flight streams. */
  private readonly retiring = new Set<TunnelClient>()
  /** The connection a renewal is opening (make-before-break), until it is adopted or given up. */
  private rotating: TunnelClient | undefined

  constructor (options: AgentOptions) {
    super()
    if (options.hostnames.length === 0) throw new TypeError('the agent needs at least one hostname')
    this.options = options
    this.identity = options.identity
    this.logger = (options.logger ?? silentLogger).child({ component: 'agent' })
    const { host, port } = parseHostPort(options.edge)
    this.edgeHost = host
    this.edgePort = port
    this.origin = new OriginProxy({
      origin: options.origin,
      timeoutMs: options.originTimeoutMs ?? 30_000,
      connections: options.originConnections ?? 128,
      logger: this.logger,
    })
  }

  /**
   * Starts connecting. Resolves on the first successful registration; rejects if registration is
   * rejected permanently before that. Later disconnects reconnect on their own.
   */
  async start (): Promise<void> {
    if (this.state !== 'idle') throw new Error(`agent already ${this.state}`)
    const first = new Promise<void>((resolve, reject) => { this.starting = { resolve, reject } })
    this.scheduleRenewal()
    void this.connect()
    return await first
  }

  /** The hostnames the edge accepted on the current connection. */
  registeredHostnames (): string[] {
    return [...(this.client?.accepted?.hostnames ?? [])]
  }

  /** The certificate the agent authenticates with now. */
  get certificate (): Pick<AgentIdentity, 'account' | 'zones' | 'serial' | 'notBeforeMs' | 'notAfterMs'> {
    const { account, zones, serial, notBeforeMs, notAfterMs } = this.identity
    return { account, zones, serial, notBeforeMs, notAfterMs }
  }

  /** In-flight origin requests. */
  get inflight (): number {
    return this.origin.active
  }

  /**
   * Graceful shutdown: Unregister, let in-flight requests finish (up to the grace period), close the
   * tunnel, close the origin pool. Idempotent.
   */
  async close (options: { gracePeriodMs?: number } = {}): Promise<void> {
    this.stopping ??= this.doClose(options.gracePeriodMs ?? this.options.gracePeriodMs ?? 30_000)
    return await this.stopping
  }

  private async doClose (graceMs: number): Promise<void> {
    const wasFailed = this.state === 'failed'
    this.state = 'stopping'
    this.settleStart(new Error('the agent was closed before it registered'))
    clearTimeout(this.retryTimer)
    clearTimeout(this.renewTimer)
    this.rotating?.destroy('agent shutting down')
    const client = this.client
    if (client !== undefined && client.state !== 'closed') {
      client.unregister('agent shutting down')
      this.logger.info({ inflight: this.origin.active, graceMs }, 'unregistered; finishing in-flight requests')
      let graceTimer: NodeJS.Timeout | undefined
      const graceOver = new Promise<void>((resolve) => { graceTimer = setTimeout(resolve, graceMs) })
      await Promise.race([this.origin.idle(), graceOver])
      clearTimeout(graceTimer)
      const closed = new Promise<void>((resolve) => {
        if (client.state === 'closed') resolve()
        else client.once('closed', () => resolve())
      })
      client.close('agent shutting down')
      const hardTimer = setTimeout(() => client.destroy('grace period over'), 2_000)
      await closed
      clearTimeout(hardTimer)
    }
    for (const retired of this.retiring) retired.destroy('agent shutting down')
    await this.origin.close()
    this.state = wasFailed ? 'failed' : 'stopped'
    this.logger.info('agent stopped')
  }

  private newClient (): TunnelClient {
    const o = this.options
    return new TunnelClient({
      host: this.edgeHost,
      port: this.edgePort,
      ca: o.edgeCa ?? this.identity.caPem,
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      hostnames: o.hostnames,
      labels: o.labels ?? {},
      agentId: this.id,
      version: o.version ?? '0.0.0',
      connIndex: 0,
      previousAttempts: this.failedAttempts,
      registrationTimeoutMs: o.registrationTimeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      origin: this.origin,
      logger: this.logger,
    })
  }

  private async connect (): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return
    this.state = 'connecting'
    this.attempts++
    const identity = this.identity
    const client = this.newClient()
    this.client = client
    try {
      await client.connect()
    } catch (err) {
      this.onConnectFailed(err as Error)
      return
    }
    if (this.state !== 'connecting') {
      // close() started while we were registering: release the new connection.
      client.close('agent shutting down')
      return
    }
    this.failures = 0
    this.failedAttempts = 0
    this.state = 'connected'
    const info = client.accepted ?? {}
    this.logger.info({ hostnames: info.hostnames, connectionId: info.connectionId, edge: this.options.edge }, 'registered tunnel connection')
    this.adopt(client)
    this.emit('registered', info)
    this.settleStart()
    // A renewal that finished while this connection was registering left it on the old certificate,
    // which the edge cuts at its notAfter (SPEC.md §4.7, §4.8): move it now.
    if (this.identity !== identity) void this.rotate()
  }

  /** Makes `client` the current connection: its drain or close leads to a reconnect. */
  private adopt (client: TunnelClient): void {
    this.client = client
    client.once('drain', () => {
      // The edge is going away: reconnect now (with backoff), let this one finish what it has.
      if (this.client === client) this.scheduleReconnect('edge draining')
      client.close('edge draining')
    })
    client.once('closed', (reason) => {
      if (this.client !== client) return
      this.emit('disconnected', reason)
      this.scheduleReconnect(reason)
    })
  }

  /** Stopping, stopped or failed: nothing new starts. */
  private get finished (): boolean {
    return this.state === 'stopping' || this.state === 'stopped' || this.state === 'failed'
  }

  // -------------------------------------------------------------------------------------------
  // Certificate renewal (SPEC.md §4.7): renew at two thirds of the lifetime, then move the tunnel to
  // the new certificate make-before-break, so no request fails.

  private scheduleRenewal (): void {
    clearTimeout(this.renewTimer)
    if (this.options.renew === false) return
    this.armRenewal(renewalTime(this.identity) - Date.now())
  }

  private armRenewal (delayMs: number): void {
    // setTimeout holds at most 2^31-1 ms (24.8 days); a longer wait re-arms on expiry.
    const wait = Math.max(0, Math.min(delayMs, 2_147_000_000))
    this.renewTimer = setTimeout(() => {
      if (Date.now() < renewalTime(this.identity)) this.scheduleRenewal()
      else void this.renewNow()
    }, wait)
    this.renewTimer.unref()
  }

  /** Renews the certificate and moves the tunnel to it. Resolves when done (or given up until the next try). */
  async renewNow (): Promise<void> {
    if (this.finished) return
    const old = this.identity
    let fresh: AgentIdentity
    try {
      fresh = await renew({ host: this.edgeHost, port: this.edgePort, identity: old, client: { agentId: this.id, version: this.options.version ?? '0.0.0' } })
    } catch (err) {
      const code = isBurrowError(err) ? err.code : (err as NodeJS.ErrnoException).code
      const hopeless = err instanceof EnrollmentError && /^BURROW_ERR_CERT_|^BURROW_ERR_AUTH_FAILED$/.test(err.code)
      // SPEC.md §4.7: retry with the reconnect backoff (§8.1), at least 1 s apart, and before the expiry.
      const backoff = fullJitterDelay(this.renewFailures++, this.options.retryBaseMs ?? 1_000, this.options.retryMaxDelayMs ?? 30_000)
      const retryMs = Math.max(1_000, Math.min(backoff, old.notAfterMs - Date.now() - 1_000))
      this.logger.error({ code, reason: (err as Error).message, retryMs: hopeless ? undefined : retryMs }, hopeless ? 'certificate renewal refused' : 'certificate renewal failed; retrying')
      if (!hopeless && !this.finished) this.armRenewal(retryMs)
      return
    }
    if (this.finished) return
    this.renewFailures = 0
    this.identity = fresh
    this.logger.info({ serial: fresh.serial, notAfter: new Date(fresh.notAfterMs).toISOString() }, 'renewed the client certificate')
    try {
      await this.options.onIdentityRenewed?.(fresh)
    } catch (err) {
      this.logger.error({ err }, 'could not save the renewed certificate; using it in memory')
    }
    // With a short lifetime (under ~30 s) the renewal time counted from the backdated notBefore
    // (SPEC.md §4.2, §4.7) has already passed for the fresh certificate: renewing "now" again would loop
    // without pause. Wait at least two thirds of what is left of the fresh certificate.
    if (this.options.renew !== false) {
      clearTimeout(this.renewTimer)
      const now = Date.now()
      this.armRenewal(Math.max(renewalTime(fresh), now + Math.floor((fresh.notAfterMs - now) * 2 / 3)) - now)
    }
    await this.rotate()
    this.emit('renewed', fresh)
  }

  /** Opens a connection with the current certificate, then retires the old one gracefully. */
  private async rotate (): Promise<void> {
    const old = this.client
    if (this.state !== 'connected' || old === undefined) return // the next (re)connect uses the new certificate
    const next = this.newClient()
    this.rotating = next
    try {
      await next.connect()
    } catch (err) {
      this.logger.warn({ code: (err as BurrowError).code, reason: (err as Error).message }, 'could not open a connection with the renewed certificate; keeping the current one')
      return
    } finally {
      if (this.rotating === next) this.rotating = undefined
    }
    if (this.state !== 'connected' || this.client !== old) {
      // The old connection went away meanwhile (a reconnect is under way) or the agent is stopping.
      next.close('superseded')
      return
    }
    this.adopt(next)
    this.logger.info({ connectionId: next.accepted?.connectionId }, 'tunnel moved to the renewed certificate')
    this.retiring.add(old)
    old.once('closed', () => this.retiring.delete(old))
    old.unregister('certificate renewed')
    old.close('certificate renewed')
  }

  private onConnectFailed (err: Error): void {
    if (this.state === 'stopping' || this.state === 'stopped') return
    this.failedAttempts++
    if (err instanceof RegistrationError && err.permanent) {
      this.state = 'failed'
      this.logger.error({ code: err.code, reason: err.message }, 'registration rejected permanently; not retrying')
      this.emit('fatal', err)
      this.settleStart(err)
      return
    }
    const code = err instanceof BurrowError ? err.code : (err as NodeJS.ErrnoException).code
    this.logger.warn({ code, reason: err.message }, 'tunnel connection attempt failed')
    this.scheduleReconnect(err.message, err instanceof RegistrationError ? err.retryAfterMs : 0)
  }

  private settleStart (err?: Error): void {
    const starting = this.starting
    this.starting = undefined
    if (starting === undefined) return
    if (err === undefined) starting.resolve()
    else starting.reject(err)
  }

  private scheduleReconnect (reason: string, floorMs = 0): void {
    if (this.state === 'stopping' || this.state === 'stopped' || this.state === 'failed' || this.state === 'backoff') return
    this.client = undefined
    this.state = 'backoff'
    const attempt = this.failures++
    const delayMs = Math.max(floorMs, fullJitterDelay(attempt, this.options.retryBaseMs ?? 1_000, this.options.retryMaxDelayMs ?? 30_000))
    this.logger.info({ attempt: attempt + 1, delayMs, reason }, 'reconnecting')
    this.emit('retry', { attempt: attempt + 1, delayMs, reason })
    this.retryTimer = setTimeout(() => { void this.connect() }, delayMs)
  }
}

/** Parses "host:port" / "[v6]:port". */
export function parseHostPort (value: string): { host: string, port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim())
  const port = m === null ? NaN : Number(m[3])
  if (m === null || !(port > 0 && port < 65536)) {
    throw new TypeError(`expected host:port, got ${JSON.stringify(value)}`)
  }
  return { host: (m[1] ?? m[2])!, port }
}

/** Creates an agent and waits for its first registration. */
export async function createAgent (options: AgentOptions): Promise<Agent> {
  const agent = new Agent(options)
  await agent.start()
  return agent
}
