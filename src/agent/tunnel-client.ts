/**
 * One tunnel connection as the agent sees it (SPEC.md §1-§3): dial TCP+TLS, serve HTTP/2 on the
 * dialed socket, answer the control stream, register. Owns the socket and the server session.
 */
import { EventEmitter } from 'node:events'
import http2, { type ServerHttp2Session, type ServerHttp2Stream, type IncomingHttpHeaders as H2Headers } from 'node:http2'
import tls, { type TLSSocket } from 'node:tls'
import net, { isIP } from 'node:net'
import type { Logger } from 'pino'
import { ControlChannel, sendProtocolError } from '../transport/control-channel.js'
import { Heartbeat } from '../transport/heartbeat.js'
import { agentSessionOptions } from '../transport/tunnel-settings.js'
import type { DecodedFrame } from '../protocol/codec.js'
import { BurrowError, isErrorCode } from '../protocol/errors.js'
import {
  ALPN_V1, H_STREAM_TYPE, PROTOCOL_VERSION, STREAM_TYPE_CONTROL, TUNNEL_CONNECTION_WINDOW_SIZE,
} from '../protocol/constants.js'
import type { OriginProxy } from './origin-proxy.js'
import type { burrow } from '../protocol/generated/tunnel.js'

export type ClientState = 'connecting' | 'registering' | 'registered' | 'draining' | 'closed'

/** Why a connection attempt failed; `permanent` rejections stop the agent. */
export class RegistrationError extends BurrowError {
  readonly permanent: boolean
  readonly retryAfterMs: number
  constructor (code: BurrowError['code'], message: string, permanent: boolean, retryAfterMs: number) {
    super(code, message)
    this.name = 'RegistrationError'
    this.permanent = permanent
    this.retryAfterMs = retryAfterMs
  }
}

export interface TunnelClientOptions {
  host: string
  port: number
  ca: string | Buffer
  /** The client certificate and key this connection authenticates with (SPEC.md §4.1). */
  cert: string
  key: string
  hostnames: readonly string[]
  labels: Record<string, string>
  agentId: string
  version: string
  connIndex: number
  previousAttempts: number
  registrationTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  origin: OriginProxy
  logger: Logger
}

export interface TunnelClientEvents {
  /** The edge asked this connection to go away (Drain). */
  drain: [reason: string]
  /** The connection is gone. */
  closed: [reason: string]
}

const NGHTTP2_PROTOCOL_ERROR = http2.constants.NGHTTP2_PROTOCOL_ERROR

export class TunnelClient extends EventEmitter<TunnelClientEvents> {
  state: ClientState = 'connecting'
  accepted: burrow.v1.RegisterAccepted.$Properties | undefined
  private readonly options: TunnelClientOptions
  private readonly logger: Logger
  private socket: TLSSocket | undefined
  private session: ServerHttp2Session | undefined
  private control: ControlChannel | undefined
  private heartbeat: Heartbeat | undefined
  private deadline: NodeJS.Timeout | undefined
  private settle: { resolve: () => void, reject: (err: Error) => void } | undefined
  /** Why the connection ended: the first cause recorded wins (a later 'control stream ended' is its effect). */
  private closeReason: string | undefined
  /** Request streams being served on this connection. */
  active = 0
  private idleWaiters: Array<() => void> = []
  /** Control-level Heartbeats sent and awaiting their reply, by seq (SPEC.md §3.8, §3.9). */
  private readonly pendingBeats = new Map<number, () => void>()
  private beatSeq = 0
  private retiring: Promise<void> | undefined

  constructor (options: TunnelClientOptions) {
    super()
    this.options = options
    this.logger = options.logger.child({ connIndex: options.connIndex })
  }

  /** Dials and registers. Resolves once RegisterAccepted arrives; rejects with a RegistrationError or a dial error. */
  async connect (): Promise<void> {
    const o = this.options
    const registered = new Promise<void>((resolve, reject) => { this.settle = { resolve, reject } })
    this.deadline = setTimeout(() => {
      this.abort(new RegistrationError('BURROW_ERR_REGISTRATION_TIMEOUT', `not registered within ${o.registrationTimeoutMs} ms`, false, 0))
    }, o.registrationTimeoutMs)
    this.deadline.unref()
    // Dial TCP ourselves so TCP_NODELAY is set on the real socket: every frame is written whole,
    // and Nagle would only add delayed-ACK stalls (SPEC.md §1.1).
    const tcp = net.connect({ host: o.host, port: o.port, noDelay: true })
    const socket = tls.connect({
      socket: tcp,
      host: o.host,
      ALPNProtocols: [ALPN_V1],
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      minVersion: 'TLSv1.3',
      ...(isIP(o.host) === 0 ? { servername: o.host } : {}),
    })
    this.socket = socket
    tcp.on('error', (err) => this.abort(err))
    socket.on('error', (err) => this.abort(err))
    socket.on('close', () => this.onClosed())
    socket.once('secureConnect', () => this.onSecure(socket))
    return await registered
  }

  /** Tells the edge to route nothing new here (SPEC.md §3.9). */
  unregister (reason: string): void {
    if (this.state !== 'registered') return
    this.state = 'draining'
    this.control?.send({ unregister: { reason } })
  }

  /**
   * Retires the connection without failing a request (SPEC.md §3.9, §8.3): Unregister, then a
   * control Heartbeat whose reply proves the edge has processed the Unregister (frames on one
   * connection are ordered, so every stream the edge opened before it has already arrived), then the
   * in-flight streams finish, then GOAWAY and close. Streams still open after `graceMs` are reset.
   * A connection that never registered is destroyed. Idempotent; resolves once closed.
   */
  async retire (reason: string, graceMs: number): Promise<void> {
    this.retiring ??= this.doRetire(reason, graceMs)
    return await this.retiring
  }

  private async doRetire (reason: string, graceMs: number): Promise<void> {
    if (this.state === 'closed') return
    const closed = new Promise<void>((resolve) => this.once('closed', () => resolve()))
    if (this.state === 'connecting' || this.state === 'registering') {
      this.closeReason ??= reason
      this.abort(new BurrowError('BURROW_ERR_TUNNEL_LOST', reason))
      await closed
      return
    }
    const deadline = Date.now() + graceMs
    if (this.state === 'registered') {
      this.unregister(reason)
      await this.confirm(Math.min(graceMs, this.options.heartbeatTimeoutMs))
    }
    let timer: NodeJS.Timeout | undefined
    const graceOver = new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, deadline - Date.now())) })
    await Promise.race([this.idle(), graceOver, closed])
    clearTimeout(timer)
    this.close(reason)
    // close() lets streams still running finish; past the grace period they are reset.
    const hard = setTimeout(() => this.destroy('grace period over'), Math.max(0, deadline - Date.now()) + 1_000)
    await closed
    clearTimeout(hard)
  }

  /** Resolves when no request stream is open on this connection. */
  private async idle (): Promise<void> {
    if (this.active === 0) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * Sends a control Heartbeat and resolves true when its reply arrives, false after `timeoutMs` or
   * when the control stream is not up.
   */
  async confirm (timeoutMs: number): Promise<boolean> {
    const control = this.control
    if (control === undefined || this.state === 'closed') return false
    const seq = ++this.beatSeq
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { this.pendingBeats.delete(seq); resolve(false) }, timeoutMs)
      this.pendingBeats.set(seq, () => { clearTimeout(timer); resolve(true) })
      control.send({ heartbeat: { seq, reply: false } })
    })
  }

  /** Closes gracefully: GOAWAY, in-flight streams finish, then the socket closes. Idempotent. */
  close (reason: string): void {
    this.closeReason ??= reason
    if (this.state === 'closed') return
    if (this.state === 'registered') this.state = 'draining'
    const session = this.session
    if (session === undefined || session.destroyed) {
      this.socket?.destroy()
      return
    }
    // Ending our half of the control stream lets the edge end its half, so that close() does not
    // wait on a stream that never finishes.
    this.control?.close()
    try { session.close() } catch { /* already closing */ }
  }

  /** Hard close: every stream is reset. */
  destroy (reason: string): void {
    this.closeReason ??= reason
    this.session?.destroy()
    this.socket?.destroy()
  }

  private onSecure (socket: TLSSocket): void {
    if (socket.alpnProtocol !== ALPN_V1) {
      // SPEC.md §1.2: the edge did not select the protocol we offered.
      this.abort(new BurrowError('BURROW_ERR_PROTOCOL', `edge selected ALPN ${String(socket.alpnProtocol)}`))
      return
    }
    const session = http2.performServerHandshake(socket, agentSessionOptions)
    this.session = session
    session.on('error', (err) => this.logger.debug({ err }, 'tunnel session error'))
    session.on('close', () => this.onClosed())
    try {
      session.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW_SIZE)
    } catch { /* session died already; close handler runs */ }
    session.on('stream', (stream: ServerHttp2Stream, headers: H2Headers, flags: number, rawHeaders: string[]) => this.onStream(stream, headers, flags, rawHeaders))
    this.heartbeat = new Heartbeat(session, this.options.heartbeatIntervalMs, this.options.heartbeatTimeoutMs, () => {
      this.logger.warn({ code: 'BURROW_ERR_HEARTBEAT_TIMEOUT' }, 'edge did not answer a heartbeat; replacing the connection')
      this.destroy('heartbeat timeout')
    })
    this.state = 'registering'
  }

  private onStream (stream: ServerHttp2Stream, headers: H2Headers, flags: number, rawHeaders: string[]): void {
    if (headers[H_STREAM_TYPE] === STREAM_TYPE_CONTROL) {
      this.onControlStream(stream)
      return
    }
    this.active++
    stream.once('close', () => {
      if (--this.active === 0 && this.idleWaiters.length > 0) {
        const waiters = this.idleWaiters
        this.idleWaiters = []
        for (const w of waiters) w()
      }
    })
    this.options.origin.handle(stream, headers, flags, rawHeaders)
  }

  private onControlStream (stream: ServerHttp2Stream): void {
    stream.on('error', (err) => this.logger.debug({ err }, 'control stream error'))
    if (this.control !== undefined) {
      stream.close(NGHTTP2_PROTOCOL_ERROR)
      return
    }
    stream.respond({ ':status': 200, [H_STREAM_TYPE]: STREAM_TYPE_CONTROL })
    const channel = new ControlChannel(stream)
    this.control = channel
    channel.on('frame', (frame) => this.onFrame(frame))
    channel.on('protocolError', (err) => this.protocolFailure(err))
    channel.on('end', () => {
      if (this.state !== 'closed') this.close('control stream ended')
    })
    const o = this.options
    channel.send({
      register: {
        protocolVersion: PROTOCOL_VERSION,
        hostnames: [...o.hostnames],
        labels: o.labels,
        client: { agentId: o.agentId, version: o.version, arch: `${process.platform}_${process.arch}`, features: [] },
        connIndex: o.connIndex,
        previousAttempts: o.previousAttempts,
      },
    })
  }

  private onFrame (frame: DecodedFrame): void {
    switch (frame.msg) {
      case 'registerAccepted':
        if (this.state !== 'registering') {
          this.protocolFailure(new BurrowError('BURROW_ERR_PROTOCOL', 'RegisterAccepted outside registration'))
          return
        }
        clearTimeout(this.deadline)
        this.accepted = frame.registerAccepted ?? {}
        this.state = 'registered'
        this.heartbeat?.start()
        this.settle?.resolve()
        this.settle = undefined
        return
      case 'registerRejected': {
        const r = frame.registerRejected ?? {}
        const code = isErrorCode(r.code) ? r.code : 'BURROW_ERR_AUTH_FAILED'
        this.abort(new RegistrationError(code, r.message || code, r.permanent === true, r.retryAfterMs ?? 0))
        return
      }
      case 'heartbeat': {
        // uint64 decodes as a Long: compare as a number (our seqs stay far below 2^53).
        const seq = Number(frame.heartbeat?.seq ?? 0)
        if (frame.heartbeat?.reply !== true) {
          this.control?.send({ heartbeat: { seq, reply: true } })
        } else {
          const waiter = this.pendingBeats.get(seq)
          this.pendingBeats.delete(seq)
          waiter?.()
        }
        return
      }
      case 'drain':
        this.logger.info({ reason: frame.drain?.reason, deadlineMs: frame.drain?.deadlineMs }, 'edge is draining this connection')
        if (this.state === 'registered') this.state = 'draining'
        this.emit('drain', frame.drain?.reason ?? 'drain')
        return
      case 'protocolError': {
        this.logger.warn({ code: frame.protocolError?.code, reason: frame.protocolError?.message }, 'edge reported an error')
        // SPEC.md §2.4: the receiver treats the connection as closed (and the agent reconnects).
        const code = isErrorCode(frame.protocolError?.code) ? frame.protocolError.code : 'BURROW_ERR_PROTOCOL'
        const message = frame.protocolError?.message ?? code
        this.abort(this.state === 'registering' ? new RegistrationError(code, message, false, 0) : new BurrowError(code, message))
        return
      }
      case 'register':
      case 'unregister':
        this.protocolFailure(new BurrowError('BURROW_ERR_PROTOCOL', `edge sent ${frame.msg}, which only the agent sends`))
        return
      case 'enrollRequest':
      case 'enrollResponse':
      case 'enrollRejected':
        this.protocolFailure(new BurrowError('BURROW_ERR_PROTOCOL', `${frame.msg} belongs on an enrollment connection, not the control stream`))
        return
      default:
        // Reserved (routeUpdate, configPush) and unknown messages are ignored (SPEC.md §3.5).
        if (this.state === 'registering') {
          this.protocolFailure(new BurrowError('BURROW_ERR_PROTOCOL', 'unexpected frame before registration'))
        }
    }
  }

  private protocolFailure (err: BurrowError): void {
    this.logger.warn({ code: err.code, reason: err.message }, 'protocol error on the tunnel')
    sendProtocolError(this.control, err)
    const session = this.session
    setImmediate(() => {
      if (session !== undefined && !session.destroyed) {
        try { session.goaway(NGHTTP2_PROTOCOL_ERROR) } catch { /* gone */ }
      }
      this.abort(err)
    })
  }

  /** Fails the pending connect (if any) and tears the connection down. */
  private abort (err: Error): void {
    clearTimeout(this.deadline)
    if (this.settle !== undefined) {
      this.settle.reject(err)
      this.settle = undefined
    }
    this.closeReason ??= err.message
    // Defer: never destroy a session inside one of its own callbacks (nodejs/node#64850).
    setImmediate(() => this.destroy(err.message))
  }

  private onClosed (): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    for (const waiter of this.pendingBeats.values()) waiter()
    this.pendingBeats.clear()
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
    clearTimeout(this.deadline)
    this.heartbeat?.stop()
    this.socket?.destroy()
    if (this.settle !== undefined) {
      this.settle.reject(new BurrowError('BURROW_ERR_TUNNEL_LOST', `connection closed before registration: ${this.closeReason ?? 'closed'}`))
      this.settle = undefined
    }
    process.nextTick(() => this.emit('closed', this.closeReason ?? 'closed'))
  }
}
