/**
 * The agent: keeps several registered tunnel connections to one or more edges (SPEC.md §8.5), serves
 * their streams from the origin, replaces lost connections (at once on another edge, with
 * full-jitter backoff on the same one), and shuts down without failing a request (SPEC.md §8.3).
 * Owns the OriginProxy, every TunnelClient and every timer.
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
import { labelsProblem } from '../protocol/labels.js'
import {
  DEFAULT_HA_CONNECTIONS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS, DEFAULT_REGISTRATION_TIMEOUT_MS,
  MAX_DIALS_PER_MINUTE, MAX_HA_CONNECTIONS,
} from '../protocol/constants.js'
import type { burrow } from '../protocol/generated/tunnel.js'

export interface AgentOptions {
  /** The edge's tunnel address, "host:port", or several edges: the connections are spread over them. */
  edge: string | readonly string[]
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
  /** Routing labels (SPEC.md §3.4.1), also sent to the origin as burrow-label-<key> fields. */
  labels?: Record<string, string>
  /** Tunnel connections to hold (SPEC.md §8.5). Default 4. */
  haConnections?: number
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

/** What one connection slot is doing (SPEC.md §8.5). */
export type SlotState = 'idle' | 'connecting' | 'registered' | 'draining' | 'backoff' | 'stopped'

export interface AgentStatus {
  agentId: string
  state: AgentState
  /** At least one connection is registered and the agent is not shutting down: what /ready reports. */
  ready: boolean
  readyConnections: number
  /** Connections the agent tries to hold (--ha-connections). */
  target: number
  connections: Array<{ index: number, edge: string, state: SlotState, connectionId?: string, attempts: number, inflight: number }>
}

export interface AgentEvents {
  /** A connection registered (`index` is its slot, SPEC.md §3.4 conn_index). */
  registered: [info: burrow.v1.RegisterAccepted.$Properties & { index: number, edge: string }]
  disconnected: [reason: string, index: number]
  /** Registration was rejected permanently; the agent stopped. */
  fatal: [err: RegistrationError]
  retry: [info: { attempt: number, delayMs: number, reason: string, index: number, edge: string }]
  /** The certificate was renewed and the tunnel moved to it. */
  renewed: [identity: AgentIdentity]
}

interface EdgeAddress {
  label: string
  host: string
  port: number
  /** Dial failures in a row: the exponent of this edge's cool-down. */
  failures: number
  /** Until then, connections prefer other edges (it failed or is draining). */
  coolUntil: number
}

/** One of the connections the agent holds: its own backoff, attempt budget and timers. */
class Slot {
  state: SlotState = 'idle'
  /** The connection registered (or being dialled) for this slot. */
  client: TunnelClient | undefined
  /** A replacement being opened make-before-break (renewal, return to the home edge). */
  replacing: TunnelClient | undefined
  /** The edge of `client`. */
  edge: number
  /** Failed attempts since the last registration: the backoff exponent, and Register.previous_attempts. */
  failures = 0
  attempts = 0
  /** Start times of the dials in the last minute (the attempt budget). */
  readonly recent: number[] = []
  timer: NodeJS.Timeout | undefined
  homeTimer: NodeJS.Timeout | undefined
  homeFailures = 0
  constructor (readonly index: number, readonly home: number) {
    this.edge = home
  }
}

type Lifecycle = 'idle' | 'running' | 'stopping' | 'stopped' | 'failed'

export class Agent extends EventEmitter<AgentEvents> {
  readonly id = randomBytes(8).toString('hex')
  /** Connection attempts made since start, over every slot (for operators and tests). */
  attempts = 0

  private lifecycle: Lifecycle = 'idle'
  private readonly options: AgentOptions
  private readonly logger: Logger
  private readonly origin: OriginProxy
  private readonly edges: EdgeAddress[]
  private readonly slots: Slot[]
  private othersStarted = false
  /** Settles the promise start() returned, until the first registration or failure. */
  private starting: { resolve: () => void, reject: (err: Error) => void } | undefined
  private stopping: Promise<void> | undefined
  private identity: AgentIdentity
  private renewTimer: NodeJS.Timeout | undefined
  /** Renewal attempts that failed since the last success: the backoff exponent. */
  private renewFailures = 0
  /** Connections being retired (replaced, drained by the edge), finishing their in-flight streams. */
  private readonly retiring = new Set<TunnelClient>()
  /** The edge each connection was dialled to. */
  private readonly clientEdge = new WeakMap<TunnelClient, number>()

  constructor (options: AgentOptions) {
    super()
    if (options.hostnames.length === 0) throw new TypeError('the agent needs at least one hostname')
    const problem = labelsProblem(options.labels ?? {})
    if (problem !== undefined) throw new TypeError(problem)
    const count = options.haConnections ?? DEFAULT_HA_CONNECTIONS
    if (!Number.isInteger(count) || count < 1 || count > MAX_HA_CONNECTIONS) {
      throw new TypeError(`haConnections must be an integer from 1 to ${MAX_HA_CONNECTIONS}`)
    }
    const list = typeof options.edge === 'string' ? options.edge.split(',') : options.edge
    this.edges = list.map((e) => e.trim()).filter((e) => e !== '').map((label) => ({ label, ...parseHostPort(label), failures: 0, coolUntil: 0 }))
    if (this.edges.length === 0) throw new TypeError('the agent needs an edge address')
    this.options = options
    this.identity = options.identity
    this.logger = (options.logger ?? silentLogger).child({ component: 'agent' })
    this.slots = Array.from({ length: count }, (_, i) => new Slot(i, i % this.edges.length))
    this.origin = new OriginProxy({
      origin: options.origin,
      timeoutMs: options.originTimeoutMs ?? 30_000,
      connections: options.originConnections ?? 128,
      labels: options.labels ?? {},
      logger: this.logger,
    })
  }

  /** idle → connecting/connected/backoff (from the slots) → stopping → stopped, or failed. */
  get state (): AgentState {
    if (this.lifecycle !== 'running') return this.lifecycle
    let connecting = false
    for (const slot of this.slots) {
      if (slot.state === 'registered') return 'connected'
      if (slot.state === 'connecting') connecting = true
    }
    return connecting ? 'connecting' : 'backoff'
  }

  /**
   * Starts connecting: connection 0 first, the others once it registered (SPEC.md §8.5). Resolves on
   * the first registration; rejects if registration is rejected permanently before that. Later
   * disconnects reconnect on their own.
   */
  async start (): Promise<void> {
    if (this.lifecycle !== 'idle') throw new Error(`agent already ${this.state}`)
    this.lifecycle = 'running'
    const first = new Promise<void>((resolve, reject) => { this.starting = { resolve, reject } })
    this.scheduleRenewal()
    void this.dial(this.slots[0]!)
    return await first
  }

  /** The hostnames the edge accepted (on the first registered connection). */
  registeredHostnames (): string[] {
    for (const slot of this.slots) {
      if (slot.state === 'registered') return [...(slot.client?.accepted?.hostnames ?? [])]
    }
    return []
  }

  /** Connections, their edges and states: what /ready and operators see. */
  status (): AgentStatus {
    let readyConnections = 0
    const connections = this.slots.map((slot) => {
      if (slot.state === 'registered') readyConnections++
      const id = slot.state === 'registered' ? slot.client?.accepted?.connectionId : undefined
      return {
        index: slot.index,
        edge: this.edges[slot.edge]!.label,
        state: slot.state,
        ...(id === undefined || id === null ? {} : { connectionId: id }),
        attempts: slot.attempts,
        inflight: slot.client?.active ?? 0,
      }
    })
    return {
      agentId: this.id,
      state: this.state,
      ready: this.lifecycle === 'running' && readyConnections > 0,
      readyConnections,
      target: this.slots.length,
      connections,
    }
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
   * Graceful shutdown (SPEC.md §8.3): every connection Unregisters at once, in-flight requests finish
   * (up to the grace period), then the connections close and the origin pool closes. Idempotent.
   */
  async close (options: { gracePeriodMs?: number } = {}): Promise<void> {
    this.stopping ??= this.doClose(options.gracePeriodMs ?? this.options.gracePeriodMs ?? 30_000)
    return await this.stopping
  }

  private async doClose (graceMs: number): Promise<void> {
    const wasFailed = this.lifecycle === 'failed'
    this.lifecycle = 'stopping'
    this.settleStart(new Error('the agent was closed before it registered'))
    clearTimeout(this.renewTimer)
    const retiring: Array<Promise<void>> = []
    for (const slot of this.slots) {
      this.stopSlot(slot)
      if (slot.client !== undefined) {
        slot.state = 'draining'
        retiring.push(slot.client.retire('agent shutting down', graceMs))
      } else {
        slot.state = 'stopped'
      }
    }
    for (const client of this.retiring) retiring.push(client.retire('agent shutting down', graceMs))
    // Those were already retiring (drained by the edge, replaced) with the grace they started with:
    // this close's grace bounds them too, as retire() bounds the others (reset 1 s after the grace).
    const cut = setTimeout(() => { for (const client of this.retiring) client.destroy('grace period over') }, graceMs + 1_000)
    this.logger.info({ inflight: this.origin.active, graceMs }, 'unregistered; finishing in-flight requests')
    await Promise.all(retiring)
    clearTimeout(cut)
    await this.origin.close()
    for (const slot of this.slots) slot.state = 'stopped'
    this.lifecycle = wasFailed ? 'failed' : 'stopped'
    this.logger.info('agent stopped')
  }

  /** Clears a slot's timers and drops a replacement being opened. */
  private stopSlot (slot: Slot): void {
    clearTimeout(slot.timer)
    clearTimeout(slot.homeTimer)
    slot.timer = undefined
    slot.homeTimer = undefined
    slot.replacing?.destroy('agent shutting down')
    slot.replacing = undefined
  }

  /** Stopping, stopped or failed: nothing new starts. */
  private get finished (): boolean {
    return this.lifecycle !== 'running'
  }

  private newClient (slot: Slot, edge: number): TunnelClient {
    const o = this.options
    const address = this.edges[edge]!
    this.attempts++
    slot.attempts++
    const now = Date.now()
    slot.recent.push(now)
    while (slot.recent.length > 0 && slot.recent[0]! <= now - 60_000) slot.recent.shift()
    const client = new TunnelClient({
      host: address.host,
      port: address.port,
      ca: o.edgeCa ?? this.identity.caPem,
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      hostnames: o.hostnames,
      labels: o.labels ?? {},
      agentId: this.id,
      version: o.version ?? '0.0.0',
      connIndex: slot.index,
      previousAttempts: slot.failures,
      registrationTimeoutMs: o.registrationTimeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      origin: this.origin,
      logger: this.logger.child({ edge: address.label }),
    })
    this.clientEdge.set(client, edge)
    return client
  }

  /** Dials for `slot`: the first edge that is not cooling down, starting at the slot's home edge. */
  private async dial (slot: Slot): Promise<void> {
    slot.timer = undefined
    if (this.finished) return
    const edge = this.pickEdge(slot) ?? this.coolestEdge(slot)
    slot.state = 'connecting'
    slot.edge = edge
    const identity = this.identity
    const client = this.newClient(slot, edge)
    slot.client = client
    try {
      await client.connect()
    } catch (err) {
      if (slot.client === client) slot.client = undefined
      this.onDialFailed(slot, edge, err as Error)
      return
    }
    if (this.finished || slot.client !== client) {
      // close() started while we were registering: release the new connection.
      void client.retire('agent shutting down', 0)
      return
    }
    this.onRegistered(slot, client, edge)
    // A renewal that finished while this connection was registering left it on the old certificate,
    // which the edge cuts at its notAfter (SPEC.md §4.7, §4.8): move it now.
    if (this.identity !== identity) void this.replace(slot, edge, 'certificate renewed')
  }

  private onRegistered (slot: Slot, client: TunnelClient, edge: number): void {
    const address = this.edges[edge]!
    slot.failures = 0
    slot.state = 'registered'
    slot.client = client
    slot.edge = edge
    address.failures = 0
    address.coolUntil = 0
    this.watch(slot, client)
    const info = client.accepted ?? {}
    this.logger.info({ index: slot.index, hostnames: info.hostnames, connectionId: info.connectionId, edge: address.label }, 'registered tunnel connection')
    this.emit('registered', { ...info, index: slot.index, edge: address.label })
    this.settleStart()
    if (!this.othersStarted) {
      this.othersStarted = true
      for (const other of this.slots) if (other !== slot && other.state === 'idle') void this.dial(other)
    }
    if (edge !== slot.home) this.scheduleHomecoming(slot)
  }

  /** Makes `client` the slot's connection: its drain or loss leads to a replacement. */
  private watch (slot: Slot, client: TunnelClient): void {
    client.once('drain', () => {
      // The edge is going away (SPEC.md §3.10): the in-flight streams finish on this connection,
      // a new one is opened at once on another edge (or with backoff on this one).
      this.coolEdge(this.clientEdge.get(client) ?? slot.edge, true)
      this.retiring.add(client)
      // The edge opens nothing new here; close once the streams in flight are done (the control stream
      // stays open until then, so the edge does not cut them before its own drain deadline).
      void client.retire('edge draining', this.options.gracePeriodMs ?? 30_000).finally(() => this.retiring.delete(client))
      if (slot.client === client) this.lose(slot, 'edge draining')
    })
    client.once('closed', (reason) => {
      if (slot.client !== client) return
      this.emit('disconnected', reason, slot.index)
      this.coolEdge(slot.edge, false)
      this.lose(slot, reason)
    })
  }

  /** The slot's connection is gone: replace it. */
  private lose (slot: Slot, reason: string, floorMs = 0): void {
    slot.client = undefined
    clearTimeout(slot.homeTimer)
    slot.homeTimer = undefined
    if (this.finished) {
      // After a permanent rejection (or during close) a lost connection is not replaced.
      slot.state = 'stopped'
      return
    }
    const failed = slot.edge
    const other = this.pickEdge(slot)
    // Another edge is up: go there at once (a retry_after_ms floor is that edge's, not the other's).
    // Otherwise back off, full jitter (SPEC.md §8.1, §8.5).
    const switching = other !== undefined && other !== failed
    const backoff = switching ? 0 : fullJitterDelay(slot.failures, this.options.retryBaseMs ?? 1_000, this.options.retryMaxDelayMs ?? 30_000)
    slot.failures++
    const delayMs = Math.max(switching ? 0 : floorMs, backoff, this.budgetDelay(slot))
    slot.state = 'backoff'
    const edge = this.edges[other ?? failed]!.label
    this.logger.info({ index: slot.index, attempt: slot.failures, delayMs, reason, edge }, 'reconnecting')
    this.emit('retry', { attempt: slot.failures, delayMs, reason, index: slot.index, edge })
    slot.timer = setTimeout(() => { void this.dial(slot) }, delayMs)
  }

  private onDialFailed (slot: Slot, edge: number, err: Error): void {
    if (this.finished) return
    if (err instanceof RegistrationError && err.permanent) {
      this.fatal(err)
      return
    }
    const code = err instanceof BurrowError ? err.code : (err as NodeJS.ErrnoException).code
    this.logger.warn({ index: slot.index, edge: this.edges[edge]!.label, code, reason: err.message }, 'tunnel connection attempt failed')
    this.coolEdge(edge, false)
    this.lose(slot, err.message, err instanceof RegistrationError ? err.retryAfterMs : 0)
  }

  /** A permanent rejection (SPEC.md §8.2): nothing is retried, on any connection. */
  private fatal (err: RegistrationError): void {
    this.lifecycle = 'failed'
    for (const slot of this.slots) {
      this.stopSlot(slot)
      const client = slot.client
      if (client !== undefined && slot.state === 'registered') {
        // The same certificate and hostnames are refused: the connections still up stop too, gracefully.
        slot.state = 'draining'
        this.retiring.add(client)
        void client.retire('registration rejected permanently', this.options.gracePeriodMs ?? 30_000).finally(() => {
          this.retiring.delete(client)
          if (slot.client === client) slot.state = 'stopped'
        })
      } else {
        slot.state = 'stopped'
      }
    }
    this.logger.error({ code: err.code, reason: err.message }, 'registration rejected permanently; not retrying')
    this.emit('fatal', err)
    this.settleStart(err)
  }

  /** An edge failed or drains: connections prefer the others for a while (full jitter, at least the base). */
  private coolEdge (edge: number, draining: boolean): void {
    const address = this.edges[edge]!
    const base = this.options.retryBaseMs ?? 1_000
    const cap = this.options.retryMaxDelayMs ?? 30_000
    const wait = draining ? cap : Math.max(base, fullJitterDelay(address.failures++, base, cap))
    address.coolUntil = Math.max(address.coolUntil, Date.now() + wait)
  }

  /** The first edge, from the slot's home on, that is not cooling down. */
  private pickEdge (slot: Slot): number | undefined {
    const now = Date.now()
    const n = this.edges.length
    for (let k = 0; k < n; k++) {
      const i = (slot.home + k) % n
      if (this.edges[i]!.coolUntil <= now) return i
    }
    return undefined
  }

  /** Every edge cools down: the one that recovers first (the home edge on a tie). */
  private coolestEdge (slot: Slot): number {
    let best = slot.home
    for (let i = 0; i < this.edges.length; i++) {
      if (this.edges[i]!.coolUntil < this.edges[best]!.coolUntil) best = i
    }
    return best
  }

  /** How long until the slot may dial again within its budget of attempts per minute (SPEC.md §8.1). */
  private budgetDelay (slot: Slot): number {
    const now = Date.now()
    while (slot.recent.length > 0 && slot.recent[0]! <= now - 60_000) slot.recent.shift()
    if (slot.recent.length < MAX_DIALS_PER_MINUTE) return 0
    return slot.recent[0]! + 60_000 - now
  }

  /**
   * A slot registered away from its home edge (the home edge failed or drained): try to return,
   * with backoff, make-before-break, so that connections spread over the edges again.
   */
  private scheduleHomecoming (slot: Slot): void {
    clearTimeout(slot.homeTimer)
    const base = this.options.retryBaseMs ?? 1_000
    const cap = this.options.retryMaxDelayMs ?? 30_000
    const home = this.edges[slot.home]!
    const delayMs = Math.max(base, fullJitterDelay(slot.homeFailures, base, cap), home.coolUntil - Date.now(), this.budgetDelay(slot))
    slot.homeTimer = setTimeout(() => {
      slot.homeTimer = undefined
      void this.replace(slot, slot.home, 'returning to its home edge').then((moved) => {
        if (moved) {
          slot.homeFailures = 0
        } else if (!this.finished && slot.state === 'registered' && slot.edge !== slot.home) {
          slot.homeFailures++
          this.scheduleHomecoming(slot)
        }
      })
    }, delayMs)
  }

  /**
   * Opens a new connection for `slot` on `edge`, then retires the current one gracefully
   * (make-before-break): renewal and the return to the home edge. Resolves true when moved.
   */
  private async replace (slot: Slot, edge: number, reason: string): Promise<boolean> {
    const old = slot.client
    if (this.finished || slot.state !== 'registered' || old === undefined || slot.replacing !== undefined) return false
    const identity = this.identity
    const next = this.newClient(slot, edge)
    slot.replacing = next
    try {
      await next.connect()
    } catch (err) {
      if (this.finished) return false
      if (err instanceof RegistrationError && err.permanent) {
        this.fatal(err)
        return false
      }
      if (edge !== slot.edge) this.coolEdge(edge, false)
      this.logger.warn({ index: slot.index, edge: this.edges[edge]!.label, code: (err as BurrowError).code, reason: (err as Error).message }, `could not open a replacement connection (${reason}); keeping the current one`)
      return false
    } finally {
      if (slot.replacing === next) slot.replacing = undefined
    }
    if (this.finished) {
      void next.retire('agent shutting down', 0)
      return false
    }
    if (slot.client !== old || slot.state !== 'registered') {
      if ((slot.state as SlotState) === 'backoff') {
        // The old connection died while this one registered: it takes the slot, instead of a redial.
        clearTimeout(slot.timer)
        slot.timer = undefined
        this.onRegistered(slot, next, edge)
      } else {
        // A redial is already under way: this one is not needed, but streams the edge opened on it finish.
        this.retiring.add(next)
        void next.retire('superseded', this.options.gracePeriodMs ?? 30_000).finally(() => this.retiring.delete(next))
        return false
      }
    } else {
      this.retiring.add(old)
      void old.retire(reason, this.options.gracePeriodMs ?? 30_000).finally(() => this.retiring.delete(old))
      this.onRegistered(slot, next, edge)
    }
    this.logger.info({ index: slot.index, connectionId: next.accepted?.connectionId, reason }, 'connection replaced')
    // A renewal that finished meanwhile could not replace this slot (a replacement was under way) and
    // left `next` on the old certificate, which the edge cuts at its notAfter (SPEC.md §4.8): move it now.
    if (this.identity !== identity) void this.replace(slot, edge, 'certificate renewed')
    return true
  }

  // -------------------------------------------------------------------------------------------
  // Certificate renewal (SPEC.md §4.7): renew at two thirds of the lifetime, then move every
  // connection to the new certificate make-before-break, so no request fails.

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
    const target = this.edges[this.pickEdge(this.slots[0]!) ?? this.slots[0]!.edge]!
    let fresh: AgentIdentity
    try {
      fresh = await renew({ host: target.host, port: target.port, identity: old, client: { agentId: this.id, version: this.options.version ?? '0.0.0' } })
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
    // Connections still dialling pick the new certificate up through dial()'s check.
    await Promise.all(this.slots.map(async (slot) => await this.replace(slot, slot.edge, 'certificate renewed')))
    this.emit('renewed', fresh)
  }

  private settleStart (err?: Error): void {
    const starting = this.starting
    this.starting = undefined
    if (starting === undefined) return
    if (err === undefined) starting.resolve()
    else starting.reject(err)
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
