/**
 * One agent connection as the edge sees it (SPEC.md §1-§3). Owns the TLS socket, the HTTP/2 client
 * session on it, the control stream and the heartbeat; nothing else closes them.
 */
import { EventEmitter } from 'node:events'
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2'
import type { TLSSocket } from 'node:tls'
import type { Logger } from 'pino'
import { ControlChannel, sendProtocolError } from '../transport/control-channel.js'
import { Heartbeat } from '../transport/heartbeat.js'
import { edgeSessionOptions } from '../transport/tunnel-settings.js'
import type { DecodedFrame } from '../protocol/codec.js'
import { BurrowError, type ErrorCode } from '../protocol/errors.js'
import {
  CONTROL_AUTHORITY, CONTROL_PATH, H_STREAM_TYPE, STREAM_TYPE_CONTROL, TUNNEL_CONNECTION_WINDOW_SIZE,
} from '../protocol/constants.js'
import type { burrow } from '../protocol/generated/tunnel.js'
import type { CertIdentity } from '../transport/x509.js'

export type TunnelState =
  | 'registering' // waiting for Register (the deadline runs)
  | 'registered' // routable
  | 'unregistered' // the agent sent Unregister or the edge drains: no new streams, in-flight ones finish
  | 'closed'

export type RegisterDecision =
  | { accepted: true, hostnames: string[], ownerKey: string, features: string[] }
  | { accepted: false, code: ErrorCode, message?: string, permanent: boolean, retryAfterMs?: number }

export interface TunnelConnectionOptions {
  id: string
  edgeId: string
  logger: Logger
  registrationTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  /** Decides on a Register frame. Called once. */
  decide: (register: burrow.v1.Register.$Properties, conn: TunnelConnection) => RegisterDecision
}

export interface TunnelConnectionEvents {
  registered: []
  unregistered: []
  closed: []
}

const NGHTTP2_NO_ERROR = http2.constants.NGHTTP2_NO_ERROR
const NGHTTP2_PROTOCOL_ERROR = http2.constants.NGHTTP2_PROTOCOL_ERROR

export class TunnelConnection extends EventEmitter<TunnelConnectionEvents> {
  readonly id: string
  state: TunnelState = 'registering'
  hostnames: string[] = []
  labels: Record<string, string> = {}
  agentId = ''
  /** The account that owns this connection's hostnames (SPEC.md §4.3). */
  ownerKey = ''
  /** The client certificate's identity, set when the edge accepts the Register (SPEC.md §4.1). */
  identity: CertIdentity | undefined
  /** Request streams opened and not yet closed; the control stream is not counted. */
  inflight = 0
  /** The agent's connection slot (Register.conn_index) and when the Register was accepted (ms): for listings. */
  connIndex = 0
  registeredAt = 0
  /**
   * Request streams the agent lets us run at once: its SETTINGS_MAX_CONCURRENT_STREAMS minus the
   * control stream (SPEC.md §5.9). Until its SETTINGS arrive, Node assumes 100.
   */
  streamLimit = 99
  readonly remoteAddress: string

  private readonly socket: TLSSocket
  private readonly session: ClientHttp2Session
  private readonly options: TunnelConnectionOptions
  private readonly logger: Logger
  private control: ControlChannel | undefined
  private readonly heartbeat: Heartbeat
  private registrationTimer: NodeJS.Timeout | undefined
  private drainTimer: NodeJS.Timeout | undefined
  private destroyTimer: NodeJS.Timeout | undefined
  /** fail() ran: the connection is on its way out; later failures add nothing. */
  private failing = false

  constructor (socket: TLSSocket, options: TunnelConnectionOptions) {
    super()
    this.id = options.id
    this.options = options
    this.socket = socket
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`
    this.logger = options.logger.child({ conn: options.id, agentAddr: this.remoteAddress })
    socket.setNoDelay(true)
    // Errors on the raw socket surface through the session; a listener keeps one from throwing.
    socket.on('error', () => {})

    this.registrationTimer = setTimeout(() => {
      this.fail(new BurrowError('BURROW_ERR_REGISTRATION_TIMEOUT', `no Register within ${options.registrationTimeoutMs} ms`))
    }, options.registrationTimeoutMs)
    this.registrationTimer.unref()

    this.session = http2.connect(`https://${CONTROL_AUTHORITY}`, {
      ...edgeSessionOptions,
      createConnection: () => socket,
    })
    this.session.on('error', (err) => {
      this.logger.debug({ err }, 'tunnel session error')
    })
    this.session.on('close', () => this.onClosed())
    this.session.on('goaway', () => {
      // The agent is closing: route nothing new here; streams in flight may finish.
      this.markUnregistered('agent sent GOAWAY')
    })
    this.session.on('remoteSettings', (settings) => {
      const max = settings.maxConcurrentStreams
      if (max !== undefined) this.streamLimit = Math.max(0, max - 1)
    })
    this.session.once('connect', () => {
      try {
        this.session.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW_SIZE)
      } catch { /* the session died before connecting; its close handler runs */ }
    })
    this.heartbeat = new Heartbeat(this.session, options.heartbeatIntervalMs, options.heartbeatTimeoutMs, () => {
      this.fail(new BurrowError('BURROW_ERR_HEARTBEAT_TIMEOUT', `PING unanswered for ${options.heartbeatTimeoutMs} ms`))
    })
    this.openControlStream()
  }

  /** Opens a request stream; the caller must have checked `state === 'registered'`. Throws synchronously if the session refuses. */
  request (headers: OutgoingHttpHeaders, endStream: boolean): ClientHttp2Stream {
    const stream = this.session.request(headers, { endStream })
    this.inflight++
    stream.once('close', () => { this.inflight-- })
    return stream
  }

  /**
   * Graceful close (edge shutdown, SPEC.md §3.10): Drain, GOAWAY, let in-flight streams finish for up
   * to `deadlineMs`, then destroy. Resolves when closed.
   */
  async drain (deadlineMs: number, reason: string): Promise<void> {
    if (this.state === 'closed') return
    // A connection still registering gets its answer instead: its Register is rejected with
    // EDGE_DRAINING (SPEC.md §3.7), and nothing may precede that answer (§3.3).
    if (this.state !== 'registering') {
      this.markUnregistered(reason)
      this.control?.send({ drain: { deadlineMs, reason } })
    }
    const closed = new Promise<void>((resolve) => this.once('closed', resolve))
    try {
      this.session.close()
    } catch { /* already closing */ }
    this.drainTimer = setTimeout(() => this.destroy(), deadlineMs)
    this.drainTimer.unref()
    await closed
  }

  /** Hard close: every stream is reset. Idempotent. */
  destroy (): void {
    if (!this.session.destroyed) this.session.destroy()
    // Always destroy the socket too: a session destroyed after a graceful close() can wait
    // forever for a socket nobody reads any more, and never emit 'close' (seen right after a
    // RegisterRejected: the connection stayed in the edge's set and edge.close() hung).
    this.socket.destroy()
  }

  /** Closes the connection because of `err`, telling the agent why when the control stream is up. */
  fail (err: BurrowError): void {
    if (this.state === 'closed' || this.failing) return
    this.failing = true
    this.logger.warn({ code: err.code, reason: err.message }, 'closing tunnel connection')
    sendProtocolError(this.control, err)
    this.markUnregistered(err.message)
    const code = err.code === 'BURROW_ERR_PROTOCOL' ? NGHTTP2_PROTOCOL_ERROR : NGHTTP2_NO_ERROR
    // Let the ProtocolError frame flush, then tear down; never destroy synchronously inside a
    // stream callback (nodejs/node#64850).
    setImmediate(() => {
      if (!this.session.destroyed) {
        try { this.session.goaway(code) } catch { /* already gone */ }
      }
      this.destroyTimer = setTimeout(() => this.destroy(), 100)
      this.destroyTimer.unref()
    })
  }

  private openControlStream (): void {
    let stream: ClientHttp2Stream
    try {
      stream = this.session.request({
        ':method': 'POST',
        ':path': CONTROL_PATH,
        ':authority': CONTROL_AUTHORITY,
        [H_STREAM_TYPE]: STREAM_TYPE_CONTROL,
      }, { endStream: false })
    } catch (err) {
      this.logger.debug({ err }, 'could not open the control stream')
      this.destroy()
      return
    }
    stream.on('error', (err) => this.logger.debug({ err }, 'control stream error'))
    // Reset or ended before the agent answered it: the connection is unusable (SPEC.md §2.2).
    const onEarlyClose = (): void => this.fail(new BurrowError('BURROW_ERR_PROTOCOL', 'control stream closed before the agent answered it'))
    stream.once('close', onEarlyClose)
    stream.once('response', (headers) => {
      stream.off('close', onEarlyClose)
      if (headers[':status'] !== 200 || headers[H_STREAM_TYPE] !== STREAM_TYPE_CONTROL) {
        this.fail(new BurrowError('BURROW_ERR_PROTOCOL', `control stream answered ${String(headers[':status'])}`))
        return
      }
      const channel = new ControlChannel(stream)
      this.control = channel
      channel.on('frame', (frame) => this.onFrame(frame))
      channel.on('protocolError', (err) => this.fail(err))
      channel.on('end', () => {
        if (this.state === 'closed') return
        // The agent ended the control stream: this connection is over. Streams in flight may
        // finish (close() waits for them); a bound makes sure it really ends.
        this.markUnregistered('control stream ended')
        channel.close()
        try { this.session.close() } catch { /* already closing */ }
        this.destroyTimer = setTimeout(() => this.destroy(), this.options.heartbeatTimeoutMs)
        this.destroyTimer.unref()
      })
    })
  }

  private onFrame (frame: DecodedFrame): void {
    const kind = frame.msg
    if (this.state === 'registering') {
      if (kind !== 'register' || frame.register == null) {
        this.fail(new BurrowError('BURROW_ERR_PROTOCOL', `expected Register as the first frame, got ${kind ?? 'an unknown message'}`))
        return
      }
      this.onRegister(frame.register)
      return
    }
    switch (kind) {
      case 'register':
        this.fail(new BurrowError('BURROW_ERR_PROTOCOL', 'a second Register on one connection'))
        return
      case 'heartbeat':
        if (frame.heartbeat?.reply !== true) this.control?.send({ heartbeat: { seq: frame.heartbeat?.seq ?? 0, reply: true } })
        return
      case 'unregister':
        this.logger.info({ reason: frame.unregister?.reason }, 'agent unregistered')
        this.markUnregistered('agent unregistered')
        return
      case 'protocolError':
        this.logger.warn({ code: frame.protocolError?.code, reason: frame.protocolError?.message }, 'agent reported a protocol error')
        // SPEC.md §2.4: the receiver treats the connection as closed. Route nothing new here and
        // tear down outside this stream callback.
        this.markUnregistered('agent reported a protocol error')
        setImmediate(() => this.destroy())
        return
      case 'registerAccepted':
      case 'registerRejected':
      case 'drain':
        // Edge-to-agent messages arriving at the edge.
        this.fail(new BurrowError('BURROW_ERR_PROTOCOL', `agent sent ${kind}, which only the edge sends`))
        return
      case 'enrollRequest':
      case 'enrollResponse':
      case 'enrollRejected':
        this.fail(new BurrowError('BURROW_ERR_PROTOCOL', `${kind} belongs on an enrollment connection, not the control stream`))
        return
      default:
        // routeUpdate/configPush (reserved in v1) and unknown messages are ignored (SPEC.md §3.5).
        this.logger.debug({ kind }, 'ignoring control frame')
    }
  }

  private onRegister (register: burrow.v1.Register.$Properties): void {
    clearTimeout(this.registrationTimer)
    this.registrationTimer = undefined
    const decision = this.options.decide(register, this)
    if (!decision.accepted) {
      this.logger.warn({ code: decision.code, hostnames: register.hostnames }, 'registration rejected')
      this.control?.send({
        registerRejected: {
          code: decision.code,
          message: decision.message ?? '',
          retryAfterMs: decision.retryAfterMs ?? 0,
          permanent: decision.permanent,
        },
      })
      this.state = 'unregistered'
      setImmediate(() => {
        try { this.session.close() } catch { /* gone */ }
        this.destroyTimer = setTimeout(() => this.destroy(), 1000)
        this.destroyTimer.unref()
      })
      return
    }
    this.hostnames = decision.hostnames
    this.ownerKey = decision.ownerKey
    this.labels = { ...(register.labels ?? {}) }
    this.agentId = register.client?.agentId ?? ''
    this.connIndex = register.connIndex ?? 0
    this.registeredAt = Date.now()
    this.control?.send({
      registerAccepted: {
        connectionId: this.id,
        edgeId: this.options.edgeId,
        hostnames: decision.hostnames,
        features: decision.features,
        protocolVersion: 1,
      },
    })
    this.state = 'registered'
    this.heartbeat.start()
    this.logger.info({ hostnames: this.hostnames, agentId: this.agentId, labels: this.labels }, 'registered tunnel connection')
    this.emit('registered')
  }

  private markUnregistered (reason: string): void {
    if (this.state !== 'registered' && this.state !== 'registering') return
    const wasRegistered = this.state === 'registered'
    this.state = 'unregistered'
    this.logger.debug({ reason }, 'tunnel connection no longer routable')
    if (wasRegistered) this.emit('unregistered')
  }

  private onClosed (): void {
    if (this.state === 'closed') return
    const wasRegistered = this.state === 'registered'
    this.state = 'closed'
    clearTimeout(this.registrationTimer)
    clearTimeout(this.drainTimer)
    clearTimeout(this.destroyTimer)
    this.heartbeat.stop()
    this.socket.destroy()
    if (wasRegistered) this.emit('unregistered')
    this.logger.info('tunnel connection closed')
    // Tell the owner on the next tick so a throwing listener cannot interrupt this cleanup.
    process.nextTick(() => this.emit('closed'))
  }
}
