/**
 * A scripted agent for driving a real edge over the wire (SPEC.md §1-§5), plus the frame reader both
 * fakes share. The fake does only what the test tells it: it answers the control stream, but sends no
 * Register, no Heartbeat reply and no request answer unless scripted (onRequest has a plain default).
 */
import http2, { type Http2Session, type Http2Stream, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2'
import tls, { type TLSSocket } from 'node:tls'
import type { Duplex } from 'node:stream'
import { encodeFrame, FrameDecoder, type DecodedFrame, type FrameInit } from '../../src/protocol/codec.js'
import type { burrow } from '../../src/protocol/generated/tunnel.js'
import { identityFor, type StartedEdge, type T } from '../helpers/servers.js'

export const ALPN = 'burrow/1'
/** RST_STREAM / GOAWAY codes (RFC 9113 §7). */
export const H2 = {
  NO_ERROR: http2.constants.NGHTTP2_NO_ERROR,
  PROTOCOL_ERROR: http2.constants.NGHTTP2_PROTOCOL_ERROR,
  INTERNAL_ERROR: http2.constants.NGHTTP2_INTERNAL_ERROR,
  REFUSED_STREAM: http2.constants.NGHTTP2_REFUSED_STREAM,
  CANCEL: http2.constants.NGHTTP2_CANCEL,
} as const

/**
 * Resets a stream with RST_STREAM INTERNAL_ERROR and nothing before it. Node's stream.close(code)
 * ends the writable side first (END_STREAM, then RST_STREAM), which a peer whose half is already
 * closed sees as a clean end; destroy() with an error sends the RST_STREAM alone.
 */
export function resetStream (stream: Http2Stream): void {
  stream.on('error', () => {})
  stream.destroy(new Error('scripted reset'))
}

/** Resolves with `promise`, or rejects after `ms` with `what` in the message. */
export async function within<V> (promise: Promise<V>, ms: number, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A wake-up for pollers: wait(ms) resolves on the next notify() or after ms, whichever is first. */
/** Resolves once both the HTTP/2 session and its socket are closed, with the GOAWAY code received, if any. */
export async function whenClosed (session: Http2Session, socket: TLSSocket, goawayCode: () => number | undefined): Promise<{ goawayCode: number | undefined }> {
  await Promise.all([
    new Promise<void>((resolve) => { session.once('close', () => resolve()) }),
    new Promise<void>((resolve) => { if (socket.destroyed) resolve(); else socket.once('close', () => resolve()) }),
  ])
  return { goawayCode: goawayCode() }
}

export class Signal {
  private readonly waiters = new Set<() => void>()

  notify (): void {
    for (const w of [...this.waiters]) w()
  }

  async wait (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); this.waiters.delete(done); resolve() }
      const timer = setTimeout(done, Math.max(0, ms))
      this.waiters.add(done)
    })
  }
}

/** Waits until `get` returns a value, re-checking on each `signal`; rejects after `timeoutMs`. */
export async function until<V> (signal: Signal, get: () => V | undefined, timeoutMs: number, what: string): Promise<V> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = get()
    if (value !== undefined) return value
    const left = deadline - Date.now()
    if (left <= 0) throw new Error(`${what}: nothing within ${timeoutMs} ms`)
    await signal.wait(left)
  }
}

/**
 * Reads length-prefixed control frames (SPEC.md §2.3) from one direction of a control stream.
 * Keeps every frame and every raw byte, so tests can assert order and exact wire bytes.
 */
export class FrameReader {
  readonly frames: DecodedFrame[] = []
  private readonly chunks: Buffer[] = []
  private readonly decoder = new FrameDecoder()
  private cursor = 0
  /** Set when the peer sent bytes that are not a valid frame stream. */
  error: Error | undefined
  ended = false

  private readonly signal = new Signal()

  constructor (stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      if (this.error !== undefined) return
      try {
        for (const frame of this.decoder.push(chunk)) {
          this.frames.push(frame)
        }
      } catch (err) {
        this.error = err as Error
      }
      this.signal.notify()
    })
    const end = (): void => { this.ended = true; this.signal.notify() }
    stream.on('end', end)
    stream.on('close', end)
  }

  /** Every byte received so far. */
  raw (): Buffer {
    return Buffer.concat(this.chunks)
  }

  /** The next frame not yet returned by next(); rejects on timeout or when the stream ended first. */
  async next (timeoutMs = 3_000): Promise<DecodedFrame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const frame = this.frames[this.cursor]
      if (frame !== undefined) {
        this.cursor++
        return frame
      }
      if (this.ended || this.error !== undefined) {
        throw new Error(`control stream ended without another frame${this.error !== undefined ? ` (${this.error.message})` : ''}`)
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no control frame within ${timeoutMs} ms`)
      await this.signal.wait(left)
    }
  }

  /** Skips frames until one of `kind` arrives (bounded by `timeoutMs`). */
  async nextOf (kind: NonNullable<DecodedFrame['msg']>, timeoutMs = 3_000): Promise<DecodedFrame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()))
      if (frame.msg === kind) return frame
    }
  }
}

export interface RequestStream {
  stream: ServerHttp2Stream
  headers: IncomingHttpHeaders
  flags: number
}

export type RequestHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void

export interface FakeAgentOptions {
  /** The edge's tunnel address, host:port. */
  tunnel: string
  /** The edge CA. */
  ca: string
  /** Client certificate and key to present (SPEC.md §4.1); none when absent. */
  cert?: string
  key?: string
  /** ALPN protocols to offer; null offers none. Default ['burrow/1']. */
  alpn?: string[] | null
  /** Answer the control stream with 200 + burrow-stream-type: control (default true). */
  answerControl?: boolean
  /** Answers request streams; the default replies 200 "fake agent" as an origin response. */
  onRequest?: RequestHandler
  /** SETTINGS_MAX_CONCURRENT_STREAMS to advertise (default 1024, as SPEC.md §1.5). */
  maxConcurrentStreams?: number
}

/** The default request answer: a plain origin response. */
export const answerOk: RequestHandler = (stream) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain', 'burrow-response-source': 'origin' })
  stream.end('fake agent')
}

const enrolled = new WeakMap<StartedEdge, Promise<{ cert: string, key: string }>>()

/**
 * What a fake agent needs to reach `edge` as the test account: its tunnel address, CA, and a client
 * certificate enrolled once per edge (SPEC.md §4.5).
 */
export async function credentials (edge: StartedEdge): Promise<{ tunnel: string, ca: string, cert: string, key: string }> {
  let pair = enrolled.get(edge)
  if (pair === undefined) {
    pair = identityFor(edge).then((id) => ({ cert: id.certPem, key: id.keyPem }))
    enrolled.set(edge, pair)
  }
  return { tunnel: edge.tunnel, ca: edge.edge.caCertPem, ...await pair }
}

/** Dials `tunnel` (host:port) with TLS 1.3 and `options`, and waits for the handshake; destroyed at teardown. */
async function dialTls (t: T, tunnel: string, options: tls.ConnectionOptions): Promise<TLSSocket> {
  const [host, port] = splitHostPort(tunnel)
  const socket = tls.connect({ host, port, minVersion: 'TLSv1.3', ...options })
  socket.setNoDelay(true)
  t.teardown(() => { socket.destroy() })
  await within(new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve)
    socket.once('error', reject)
  }), 3_000, 'TLS handshake')
  socket.on('error', () => {})
  return socket
}

/** A Register with the given hostnames (identity comes from the TLS client certificate). */
export function registerFrame (hostnames: string[] = ['app.localhost'], extra: Partial<burrow.v1.Register.$Properties> = {}): FrameInit {
  return {
    register: {
      protocolVersion: 1,
      hostnames,
      client: { agentId: 'fake-agent', version: '0.0.0', arch: 'test_x', features: [] },
      connIndex: 0,
      ...extra,
    },
  }
}

export class FakeAgent {
  readonly socket: TLSSocket
  readonly session: ServerHttp2Session
  /** Every stream the edge opened, in order: its id and request headers. */
  readonly streams: Array<{ id: number, headers: IncomingHttpHeaders, flags: number }> = []
  /** Request streams (everything but the first control stream), in order. */
  readonly requests: RequestStream[] = []
  onRequest: RequestHandler
  /** The GOAWAY error code the edge sent, if it sent one. */
  goawayCode: number | undefined
  pings = 0
  /** Resolves when the session and socket are gone, with the GOAWAY code if any. */
  readonly closed: Promise<{ goawayCode: number | undefined }>
  private controlStream: ServerHttp2Stream | undefined
  private reader: FrameReader | undefined
  private readonly signal = new Signal()
  private requestCursor = 0
  private readonly answerControl: boolean

  private constructor (socket: TLSSocket, options: FakeAgentOptions) {
    this.socket = socket
    this.answerControl = options.answerControl ?? true
    this.onRequest = options.onRequest ?? answerOk
    // The same settings a conforming agent sends (SPEC.md §1.5), so the edge sees a normal peer.
    this.session = http2.performServerHandshake(socket, {
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1024, initialWindowSize: 1 << 20, maxHeaderListSize: 65536 },
    })
    this.session.on('error', () => {})
    this.session.on('goaway', (code: number) => { this.goawayCode ??= code })
    this.session.on('ping', () => { this.pings++ })
    this.session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => this.onStream(stream, headers, flags))
    this.closed = whenClosed(this.session, socket, () => this.goawayCode)
  }

  /** Dials the edge and completes TLS; the HTTP/2 session is served on the socket at once. */
  static async connect (t: T, options: FakeAgentOptions): Promise<FakeAgent> {
    const socket = await dialTls(t, options.tunnel, {
      ca: options.ca,
      ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
      ...(options.alpn === null ? {} : { ALPNProtocols: options.alpn ?? [ALPN] }),
    })
    const fake = new FakeAgent(socket, options)
    t.teardown(() => fake.destroy())
    return fake
  }

  /** The control stream, once the edge has opened it (and we answered it). */
  async control (timeoutMs = 3_000): Promise<ServerHttp2Stream> {
    return await until(this.signal, () => this.controlStream, timeoutMs, 'control stream')
  }

  /** Frames the edge sent on the control stream. */
  async frames (): Promise<FrameReader> {
    await this.control()
    return this.reader!
  }

  /** Sends one frame on the control stream (in the response body, SPEC.md §2.1). */
  async send (frame: FrameInit): Promise<void> {
    await this.sendRaw(encodeFrame(frame))
  }

  /** Writes bytes as-is on the control stream: for malformed frames. */
  async sendRaw (bytes: Buffer): Promise<void> {
    const stream = await this.control()
    stream.write(bytes)
  }

  /** The next frame from the edge. */
  async nextFrame (timeoutMs = 3_000): Promise<DecodedFrame> {
    return await (await this.frames()).next(timeoutMs)
  }

  /** Sends Register and returns the edge's answer (the next frame). */
  async register (hostnames: string[] = ['app.localhost'], extra: Partial<burrow.v1.Register.$Properties> = {}): Promise<DecodedFrame> {
    await this.send(registerFrame(hostnames, extra))
    return await this.nextFrame()
  }

  /** Resolves after the edge acknowledged a PING: everything written before it has been flushed to the wire. */
  async flush (): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.session.ping((err) => { if (err != null) reject(err); else resolve() })
    })
  }

  /** The next request stream not yet returned by nextRequest(). */
  async nextRequest (timeoutMs = 3_000): Promise<RequestStream> {
    const request = await until(this.signal, () => this.requests[this.requestCursor], timeoutMs, 'request stream')
    this.requestCursor++
    return request
  }

  /** Hard close: socket gone, no GOAWAY. */
  destroy (): void {
    if (!this.session.destroyed) this.session.destroy()
    this.socket.destroy()
  }

  private onStream (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
    stream.on('error', () => {})
    this.streams.push({ id: stream.id ?? 0, headers, flags })
    if (this.controlStream === undefined && headers['burrow-stream-type'] === 'control') {
      this.controlStream = stream
      if (this.answerControl) stream.respond({ ':status': 200, 'burrow-stream-type': 'control' })
      this.reader = new FrameReader(stream)
      this.signal.notify()
      return
    }
    const request = { stream, headers, flags }
    this.requests.push(request)
    this.signal.notify()
    this.onRequest(stream, headers)
  }
}

/** ALPN token of the enrollment connection (SPEC.md §4.5). */
export const ALPN_ENROLL = 'burrow-enroll/1'

export interface EnrollClientOptions {
  /** The edge's tunnel address, host:port. */
  tunnel: string
  /** The edge CA to verify against; without it the edge is not verified (tests that inspect its chain). */
  ca?: string
  /** Client certificate and key to present (a renewal, SPEC.md §4.7); none when absent. */
  cert?: string
  key?: string
  /** ALPN protocols to offer. Default ['burrow-enroll/1']. */
  alpn?: string[]
}

/**
 * A raw enrollment connection (SPEC.md §4.5): TLS with ALPN burrow-enroll/1 and length-prefixed frames
 * directly on the socket, no HTTP/2. Sends only what the test scripts.
 */
export class FakeEnrollClient {
  readonly socket: TLSSocket
  /** Frames (and raw bytes) the edge sent. */
  readonly reader: FrameReader
  /** Resolves once the socket is closed. */
  readonly closed: Promise<void>

  private constructor (socket: TLSSocket) {
    this.socket = socket
    this.reader = new FrameReader(socket)
    this.closed = new Promise<void>((resolve) => {
      if (socket.destroyed) resolve()
      else socket.once('close', () => resolve())
    })
  }

  /** Dials the edge and completes the TLS handshake. */
  static async connect (t: T, options: EnrollClientOptions): Promise<FakeEnrollClient> {
    const socket = await dialTls(t, options.tunnel, {
      ALPNProtocols: options.alpn ?? [ALPN_ENROLL],
      ...(options.ca === undefined ? { rejectUnauthorized: false } : { ca: options.ca }),
      ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
    })
    return new FakeEnrollClient(socket)
  }

  send (frame: FrameInit): void {
    this.sendRaw(encodeFrame(frame))
  }

  /** Writes bytes as-is: for malformed frames. */
  sendRaw (bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** The next frame from the edge. */
  async next (timeoutMs = 3_000): Promise<DecodedFrame> {
    return await this.reader.next(timeoutMs)
  }

  /** Sends one EnrollRequest and returns the edge's answer. */
  async request (token: string, csr: Uint8Array, timeoutMs = 5_000): Promise<DecodedFrame> {
    this.send({ enrollRequest: { token, csr, client: { agentId: 'fake-agent', version: '0.0.0', arch: 'test_x', features: [] } } })
    return await this.next(timeoutMs)
  }
}

export function splitHostPort (address: string): [string, number] {
  const at = address.lastIndexOf(':')
  return [address.slice(0, at), Number(address.slice(at + 1))]
}
