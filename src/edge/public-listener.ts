/**
 * The public visitor listeners (issue #4, "public listener hardening"). Visitors may speak:
 * - HTTP/1.1 on the plain listener (as before);
 * - HTTP/2 with prior knowledge ("h2c") on the same plain port: a new connection whose first 24 bytes
 *   are the HTTP/2 client preface goes to the HTTP/2 server, anything else to the HTTP/1 server.
 *   `Upgrade: h2c` is never honoured (RFC 9113 removed it; it is the h2c-smuggling vector);
 * - HTTP/2 or HTTP/1.1 over TLS on a second listener when a public certificate is configured,
 *   chosen by ALPN (h2 preferred, http/1.1 and no-ALPN clients get HTTP/1).
 *
 * Node's `http2.createServer` cannot share a port with HTTP/1 without TLS, so this module owns the
 * listening sockets itself (a `net.Server`, a `tls.Server`) and hands each connection, once its
 * protocol is known, to the edge's `http.Server` or to one `http2` server with
 * `server.emit('connection', socket)`. Neither of those listens. Every request, whatever the
 * protocol, reaches the same VisitorProxy.
 *
 * Node 20's HTTP/2 server is not edge-safe by default (research/reliability.md §0.2, §1.6): unlimited
 * concurrent streams, no idle or headers timeout, Rapid Reset streams still reach the handler. Here:
 * advertised limits with small defaults, a headers and an idle deadline per session, header-list
 * size checked in JS too (nghttp2 enforces the advertised limit only once the client acknowledged
 * our SETTINGS), request dispatch deferred by one event-loop turn so a stream reset in the same read
 * never reaches the tunnel, a premature-reset counter that closes a Rapid Reset session (nghttp2's
 * own limit sends GOAWAY but leaves the connection open), and the edge's body idle timeout on every
 * request stream (guardHttp2Request in visitor-guard.ts).
 */
import net, { type AddressInfo, type Socket } from 'node:net'
import tls, { type TLSSocket } from 'node:tls'
import http2, {
  type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session, type ServerHttp2Stream,
} from 'node:http2'
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { Logger } from 'pino'
import type { VisitorProxy } from './visitor-proxy.js'
import { guardHttp2Request } from './visitor-guard.js'

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

const { NGHTTP2_NO_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants

export interface ListenerAddress { host: string, port: number }

/** A TLS listener for visitors (SPEC.md §5): HTTP/2 and HTTP/1.1 chosen by ALPN. */
export interface PublicTlsOptions {
  /** PEM certificate chain presented to visitors. */
  cert: string
  /** PEM private key of `cert`. */
  key: string
  /** Default 127.0.0.1:8443. */
  listen?: ListenerAddress
}

/**
 * HTTP/2 limits for visitor connections (h2 over TLS and h2c). Every one has a safe default; see
 * DEFAULT_HTTP2_LIMITS and the README section "Visitors over HTTP/2".
 */
export interface PublicHttp2Options {
  /** SETTINGS_MAX_CONCURRENT_STREAMS per connection. Default 100, at most 256. */
  maxConcurrentStreams?: number
  /**
   * Largest request header list, counted like the HTTP/1 limit: name and value bytes of every field
   * (pseudo-headers included). Over it: 431 BURROW_ERR_HEADERS_TOO_LARGE. The SETTINGS value
   * advertised (and enforced by nghttp2, which adds 32 bytes per field) is this plus 32 × maxHeaderListPairs.
   * Default 16 KiB, as HTTP/1.
   */
  maxHeaderListSize?: number
  /** Most header fields in one request (pseudo-headers included); more: the stream is refused. Default 128. */
  maxHeaderListPairs?: number
  /** nghttp2 memory per session in MiB (buffered frames, HPACK tables); over it new streams are refused. Default 10. */
  maxSessionMemory?: number
  /** Streams the session may refuse (over the limits) before it is closed. Default 100. */
  maxSessionRejectedStreams?: number
  /** Invalid frames (e.g. empty DATA) tolerated before the session is closed. Default 1000. */
  maxSessionInvalidFrames?: number
  /** A session with no open stream for this long is closed with GOAWAY. Default 30 s. */
  idleTimeoutMs?: number
  /**
   * A new connection must complete its first request's header block within this long (HTTP/1's
   * headers timeout; also the TLS handshake and the h2c preface deadline). Default: the edge's
   * headersTimeoutMs (20 s).
   */
  headersTimeoutMs?: number
}

export const DEFAULT_HTTP2_LIMITS = Object.freeze({
  maxConcurrentStreams: 100,
  maxHeaderListSize: 16 * 1024,
  maxHeaderListPairs: 128,
  maxSessionMemory: 10,
  maxSessionRejectedStreams: 100,
  maxSessionInvalidFrames: 1000,
  idleTimeoutMs: 30_000,
})

/** The most SETTINGS_MAX_CONCURRENT_STREAMS may be set to. */
export const MAX_CONCURRENT_STREAMS_LIMIT = 256

/**
 * Rapid Reset (CVE-2023-44487) detection, Envoy-style: once a session has reset at least this many
 * streams before any response started, and those are more than half of its streams, it is closed
 * with GOAWAY ENHANCE_YOUR_CALM.
 */
const PREMATURE_RESET_MIN = 100
/** Connection-level receive window for a visitor session (the per-stream window stays 64 KiB). */
const CONNECTION_WINDOW = 1024 * 1024
/** After a graceful GOAWAY, how long a session may take to close before its socket is destroyed. */
const CLOSE_GRACE_MS = 2_000

type Http2Limits = Required<PublicHttp2Options>

export interface PublicListenerOptions {
  /** The plain listener. */
  listen: ListenerAddress
  /** Accept HTTP/2 with prior knowledge on the plain listener. */
  h2c: boolean
  tls?: PublicTlsOptions | undefined
  http2?: PublicHttp2Options | undefined
  /** The edge's headers timeout, the default for http2.headersTimeoutMs. */
  headersTimeoutMs: number
  /** The edge's HTTP/1 server: gets every HTTP/1 connection. Not owned (the edge closes it). */
  http1: HttpServer
  /** Serves every HTTP/2 request. */
  proxy: VisitorProxy
  /** The edge's body idle timeout, applied to every HTTP/2 request stream too (visitor-guard.ts). 0 disables. */
  bodyIdleTimeoutMs: number
  /**
   * Called once per visitor connection with the socket its requests are served on (see
   * visitorSocketOf): a plain one when accepted, before anything is read; a TLS one when its
   * handshake completed.
   */
  onSocket: (socket: Socket) => void
  logger: Logger
}

type ListenerState = 'idle' | 'listening' | 'closing' | 'closed'

/** Resolves and checks the HTTP/2 limits (throws RangeError on a value out of range). */
export function http2Limits (options: PublicHttp2Options = {}, headersTimeoutMs = 20_000): Http2Limits {
  const limits: Http2Limits = { ...DEFAULT_HTTP2_LIMITS, headersTimeoutMs, ...stripUndefined(options) }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`http2.${name} must be a positive integer, got ${String(value)}`)
  }
  if (limits.maxConcurrentStreams > MAX_CONCURRENT_STREAMS_LIMIT) {
    throw new RangeError(`http2.maxConcurrentStreams must be at most ${MAX_CONCURRENT_STREAMS_LIMIT}, got ${limits.maxConcurrentStreams}`)
  }
  return limits
}

function stripUndefined<T extends object> (o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const key of Object.keys(o) as Array<keyof T>) if (o[key] !== undefined) out[key] = o[key]
  return out
}

/**
 * Owns the public listening sockets, the HTTP/2 server and every visitor HTTP/2 session.
 * `close()` and `destroy()` are idempotent; every timer is cleared by the time a session or a
 * socket being sniffed is gone.
 */
export class PublicListener {
  state: ListenerState = 'idle'
  private readonly options: PublicListenerOptions
  private readonly logger: Logger
  private readonly limits: Http2Limits
  private readonly plain: net.Server
  private readonly secure: tls.Server | undefined
  /** Only created when some listener can carry HTTP/2. */
  private readonly h2: Http2Server | undefined
  private readonly sessions = new Map<ServerHttp2Session, VisitorSession>()
  /** Plain sockets whose first bytes are still awaited, with their preface deadline. */
  private readonly sniffing = new Map<Socket, NodeJS.Timeout>()
  /**
   * TCP sockets of the TLS listener still in their handshake, by "address|port": the TLSSocket that
   * completes the handshake carries the same peer address, which is how it is found again.
   */
  private readonly handshaking = new Map<string, Socket>()
  /** The socket being handed to the HTTP/2 server: its 'session' event fires synchronously. */
  private adopting: Socket | undefined

  constructor (options: PublicListenerOptions) {
    this.options = options
    this.logger = options.logger
    this.limits = http2Limits(options.http2, options.headersTimeoutMs)
    // allowHalfOpen: the HTTP/1 server manages half-closed connections itself (as http.Server does).
    this.plain = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.onPlainSocket(socket))
    if (options.tls !== undefined) {
      this.secure = tls.createServer({
        cert: options.tls.cert,
        key: options.tls.key,
        ALPNProtocols: ['h2', 'http/1.1'],
        minVersion: 'TLSv1.2',
        handshakeTimeout: this.limits.headersTimeoutMs,
        noDelay: true,
      })
      this.secure.on('connection', (socket: Socket) => this.onTlsTcpSocket(socket))
      this.secure.on('secureConnection', (socket: TLSSocket) => this.onSecureSocket(socket))
      this.secure.on('tlsClientError', (err) => this.logger.debug({ err: err.message }, 'visitor TLS handshake failed'))
    }
    if (options.h2c || options.tls !== undefined) this.h2 = this.createHttp2Server()
  }

  private createHttp2Server (): Http2Server {
    const l = this.limits
    const server = http2.createServer({
      settings: {
        maxConcurrentStreams: l.maxConcurrentStreams,
        maxHeaderListSize: l.maxHeaderListSize + 32 * l.maxHeaderListPairs,
        enablePush: false,
        enableConnectProtocol: false,
      },
      maxHeaderListPairs: l.maxHeaderListPairs,
      maxSessionMemory: l.maxSessionMemory,
      maxSessionRejectedStreams: l.maxSessionRejectedStreams,
      maxSessionInvalidFrames: l.maxSessionInvalidFrames,
    })
    server.on('session', (session: ServerHttp2Session) => this.onSession(session))
    server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => this.onRequest(req, res, false))
    // Expect: 100-continue is answered by the proxy once the request passed its checks, as on HTTP/1.
    server.on('checkContinue', (req: Http2ServerRequest, res: Http2ServerResponse) => this.onRequest(req, res, true))
    server.on('sessionError', (err: Error) => this.logger.debug({ err: err.message }, 'visitor HTTP/2 session error'))
    return server
  }

  /** Binds the plain listener and, if configured, the TLS one. Closes both if either fails. */
  async listen (): Promise<void> {
    if (this.state !== 'idle') throw new Error(`the public listener is ${this.state}`)
    const { listen, tls: tlsOptions } = this.options
    try {
      this.plain.listen(listen.port, listen.host)
      await once(this.plain, 'listening')
      if (this.secure !== undefined) {
        const at = tlsOptions?.listen ?? { host: '127.0.0.1', port: 8443 }
        this.secure.listen(at.port, at.host)
        await once(this.secure, 'listening')
      }
    } catch (err) {
      this.plain.close()
      this.secure?.close()
      this.state = 'closed'
      throw err
    }
    // The HTTP/1 server never listens itself, but it starts the timer that enforces its headers
    // timeout (and the connection list closeIdleConnections() uses) on 'listening'.
    this.options.http1.emit('listening')
    this.state = 'listening'
  }

  get address (): ListenerAddress {
    const a = this.plain.address() as AddressInfo
    return { host: a.address, port: a.port }
  }

  /** The TLS listener's address, when one is configured and listening. */
  get tlsAddress (): ListenerAddress | undefined {
    const a = this.secure?.address() as AddressInfo | null | undefined
    return a == null ? undefined : { host: a.address, port: a.port }
  }

  /** Open visitor HTTP/2 sessions. */
  get sessionCount (): number {
    return this.sessions.size
  }

  /**
   * Stops accepting connections and sends GOAWAY to every HTTP/2 session: streams already open
   * finish, new ones are refused. HTTP/1 connections are the edge's http.Server's to close.
   * Idempotent.
   */
  close (): void {
    if (this.state === 'closing' || this.state === 'closed') return
    this.state = 'closing'
    this.plain.close()
    this.secure?.close()
    for (const [socket, timer] of this.sniffing) {
      clearTimeout(timer)
      socket.destroy()
    }
    this.sniffing.clear()
    for (const socket of this.handshaking.values()) socket.destroy()
    this.handshaking.clear()
    for (const s of this.sessions.values()) s.goaway()
  }

  /** close(), then destroys every HTTP/2 session still open. Idempotent. */
  destroy (): void {
    this.close()
    for (const s of this.sessions.values()) s.destroy()
    this.sessions.clear()
    this.state = 'closed'
  }

  private onPlainSocket (socket: Socket): void {
    this.options.onSocket(socket)
    if (socket.destroyed) return // refused by the edge
    if (this.h2 === undefined || !this.options.h2c) {
      this.options.http1.emit('connection', socket)
      return
    }
    this.sniff(socket)
  }

  /**
   * Reads until the bytes either are the whole preface (HTTP/2) or stop matching it (HTTP/1: at
   * most 3 bytes for any real method), then gives them back with unshift() and hands the socket
   * over. A client that sends a preface prefix and stalls is cut at the headers deadline.
   */
  private sniff (socket: Socket): void {
    let buffered: Buffer | undefined
    const done = (): void => {
      clearTimeout(this.sniffing.get(socket))
      this.sniffing.delete(socket)
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('error', noop)
      socket.off('close', done)
    }
    const onData = (chunk: Buffer): void => {
      const buf = buffered === undefined ? chunk : Buffer.concat([buffered, chunk])
      const n = Math.min(buf.length, PREFACE.length)
      const isPreface = buf.compare(PREFACE, 0, n, 0, n) === 0
      if (isPreface && n < PREFACE.length) {
        buffered = buf
        return
      }
      done()
      socket.pause()
      socket.unshift(buf)
      if (isPreface) {
        this.toHttp2(socket)
      } else {
        this.options.http1.emit('connection', socket)
        // The HTTP/1 parser reads the socket natively from now on; resume() flushes the bytes
        // given back above into it first (they are in the socket's JS buffer, not the kernel's).
        socket.resume()
      }
    }
    const onEnd = (): void => {
      done()
      socket.destroy()
    }
    const timer = setTimeout(() => {
      done()
      socket.destroy()
    }, this.limits.headersTimeoutMs)
    timer.unref()
    this.sniffing.set(socket, timer)
    socket.on('error', noop) // a reset before the first bytes: 'close' follows, nothing to answer
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('close', done)
  }

  private onTlsTcpSocket (socket: Socket): void {
    const key = peerKey(socket)
    this.handshaking.set(key, socket)
    socket.once('close', () => {
      if (this.handshaking.get(key) === socket) this.handshaking.delete(key)
    })
  }

  private onSecureSocket (socket: TLSSocket): void {
    this.handshaking.delete(peerKey(socket))
    if (this.state !== 'listening') {
      socket.destroy()
      return
    }
    this.options.onSocket(socket)
    if (socket.destroyed) return // refused by the edge
    if (socket.alpnProtocol === 'h2') this.toHttp2(socket)
    else this.options.http1.emit('connection', socket) // 'http/1.1', or a client without ALPN
  }

  /** Hands a socket to the HTTP/2 server; its session is created (and 'session' emitted) synchronously. */
  private toHttp2 (socket: Socket): void {
    this.adopting = socket
    try {
      this.h2!.emit('connection', socket)
    } finally {
      this.adopting = undefined
    }
  }

  private onSession (session: ServerHttp2Session): void {
    const socket = this.adopting
    if (socket === undefined) {
      // Not from one of our listeners: cannot happen; refuse rather than serve it unguarded.
      session.destroy()
      return
    }
    const s = new VisitorSession(session, socket, this.limits, this.logger)
    this.sessions.set(session, s)
    sessionSockets.set(session, socket)
    session.once('close', () => {
      s.dispose()
      this.sessions.delete(session)
    })
    if (this.state !== 'listening') s.goaway()
  }

  private onRequest (req: Http2ServerRequest, res: Http2ServerResponse, expectContinue: boolean): void {
    const stream = req.stream
    const s = this.sessions.get(stream.session as ServerHttp2Session)
    if (s === undefined) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM)
      return
    }
    s.streamOpened(stream)
    // A reset with NO_ERROR mid-upload would otherwise end the request body cleanly, and the proxy
    // would forward a truncated upload as complete. Destroyed, the body never ends; the response's
    // 'close' makes the proxy cancel the tunnel stream.
    stream.once('aborted', destroyStream)
    if (headerListBytes(req.rawHeaders) > this.limits.maxHeaderListSize) {
      this.options.proxy.refuse(req as unknown as IncomingMessage, res as unknown as ServerResponse, 'BURROW_ERR_HEADERS_TOO_LARGE')
      return
    }
    // One event-loop turn later: nghttp2 hands over a whole read at once, so the RST_STREAM of a
    // Rapid Reset pair sent with its HEADERS has arrived by then and the stream is simply dropped,
    // never reaching the tunnel or the origin.
    setImmediate(dispatch, this.options.proxy, req, res, expectContinue, this.options.bodyIdleTimeoutMs)
  }
}

/**
 * Node's compat request/response mirror the members of IncomingMessage/ServerResponse the proxy
 * uses (headers, rawHeaders, url, method, httpVersionMajor, socket.remoteAddress/encrypted, pipe,
 * writeHead with a flat list, write/drain, end, destroy, writeContinue, 'close'); the casts are
 * confined to this file and test/e2e/public-h2.test.ts exercises that path.
 */
function dispatch (proxy: VisitorProxy, req: Http2ServerRequest, res: Http2ServerResponse, expectContinue: boolean, bodyIdleTimeoutMs: number): void {
  const stream = req.stream
  if (stream.destroyed || stream.closed) return // reset by the visitor before it was dispatched
  const proxied = proxy.handle(req as unknown as IncomingMessage, res as unknown as ServerResponse, expectContinue)
  guardHttp2Request(req, proxied, bodyIdleTimeoutMs)
}

/** Visitor HTTP/2 sessions and the socket each was adopted from (see visitorSocketOf). */
const sessionSockets = new WeakMap<ServerHttp2Session, Socket>()

/**
 * The socket a visitor request arrived on, as given to `onSocket` (the edge's per-connection state
 * is keyed by it). For HTTP/1 that is `req.socket`; an HTTP/2 request's `req.socket` is a Proxy
 * Node makes per request, so it is looked up from the request's session.
 */
export function visitorSocketOf (req: IncomingMessage): Socket {
  if (req.httpVersionMajor !== 2) return req.socket
  const session = (req as unknown as Http2ServerRequest).stream.session
  return (session === undefined ? undefined : sessionSockets.get(session as ServerHttp2Session)) ?? req.socket
}

function peerKey (socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`
}

function destroyStream (this: ServerHttp2Stream): void {
  this.destroy()
}

/** Name and value bytes of a header list (pseudo-headers included), as HTTP/1's limit counts them. */
function headerListBytes (raw: string[]): number {
  let n = 0
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length
  return n
}

function noop (): void {}

/**
 * One visitor HTTP/2 session's guards: the headers/idle deadline and the premature-reset counter.
 * Owns its timer; the session itself belongs to Node's http2 server and is only closed from here.
 */
class VisitorSession {
  private readonly session: ServerHttp2Session
  private readonly socket: Socket
  private readonly limits: Http2Limits
  private readonly logger: Logger
  private timer: NodeJS.Timeout | undefined
  private open = 0
  private streams = 0
  private prematureResets = 0
  private closing = false

  constructor (session: ServerHttp2Session, socket: Socket, limits: Http2Limits, logger: Logger) {
    this.session = session
    this.socket = socket
    this.limits = limits
    this.logger = logger
    try {
      session.setLocalWindowSize(CONNECTION_WINDOW)
    } catch {
      // The session is already being destroyed; its 'close' follows.
    }
    // The first request's header block must be complete within the headers deadline.
    this.arm(limits.headersTimeoutMs)
  }

  streamOpened (stream: ServerHttp2Stream): void {
    this.open++
    this.streams++
    if (this.open === 1 && !this.closing) this.disarm()
    stream.once('close', () => this.streamClosed(stream))
  }

  private streamClosed (stream: ServerHttp2Stream): void {
    this.open--
    if (this.session.destroyed) return
    if (stream.rstCode !== undefined && stream.rstCode !== NGHTTP2_NO_ERROR && !stream.headersSent) {
      this.prematureResets++
      if (this.prematureResets >= PREMATURE_RESET_MIN && this.prematureResets * 2 > this.streams) {
        this.logger.debug({ streams: this.streams, resets: this.prematureResets }, 'visitor HTTP/2 session resets streams before any response (Rapid Reset); closing it')
        this.destroy(NGHTTP2_ENHANCE_YOUR_CALM)
        return
      }
    }
    if (this.open === 0) this.arm(this.closing ? CLOSE_GRACE_MS : this.limits.idleTimeoutMs)
  }

  private arm (ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.onTimer(), ms)
    this.timer.unref()
  }

  private disarm (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private onTimer (): void {
    if (this.closing) {
      // GOAWAY sent CLOSE_GRACE_MS ago and the session is still there (e.g. the peer stopped reading).
      this.destroy()
      return
    }
    if (this.open === 0) this.goaway()
  }

  /** Graceful: GOAWAY, open streams finish, then the session closes (forced after CLOSE_GRACE_MS once idle). */
  goaway (): void {
    if (this.closing || this.session.destroyed) return
    this.closing = true
    try {
      this.session.close()
    } catch {
      // Already closing.
    }
    if (this.open === 0) this.arm(CLOSE_GRACE_MS)
  }

  /** Hard: GOAWAY with `code` and the connection closed now. */
  destroy (code: number = NGHTTP2_NO_ERROR): void {
    this.closing = true
    this.disarm()
    // With an error: destroy(undefined, code) would send NO_ERROR (Node's default parameter
    // replaces the undefined error, and the code with it).
    if (!this.session.destroyed) {
      if (code === NGHTTP2_NO_ERROR) this.session.destroy()
      else this.session.destroy(new Error(`visitor HTTP/2 session closed with error code ${code}`), code)
    }
    // Node ends the socket after the GOAWAY; a peer that does not read must not keep it.
    setImmediate(destroySocket, this.socket)
  }

  dispose (): void {
    this.disarm()
  }
}

function destroySocket (socket: Socket): void {
  socket.destroy()
}
