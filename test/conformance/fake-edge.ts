/**
 * A scripted edge for driving a real agent over the wire (SPEC.md §1-§5). A TLS server with its own
 * edge PKI; on each accepted socket it becomes the HTTP/2 client (http2.connect with
 * createConnection, §1.4), opens the control stream, reads the agent's frames, and sends only what
 * the test scripts. It can open request streams like the edge does for visitors.
 */
import http2, {
  type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Settings,
} from 'node:http2'
import tls, { type TLSSocket } from 'node:tls'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { ensureEdgePki, type EdgePki } from '../../src/edge/pki.js'
import { Agent, type AgentOptions } from '../../src/agent/agent.js'
import { encodeFrame, type DecodedFrame, type FrameInit } from '../../src/protocol/codec.js'
import type { burrow } from '../../src/protocol/generated/tunnel.js'
import { tempDir, testLogger, type T } from '../helpers/servers.js'
import { issueIdentity } from '../helpers/identity.js'
import type { AgentIdentity } from '../../src/agent/enrollment.js'
import { ALPN, FrameReader, Signal, until, whenClosed } from './fake-agent.js'

export interface FakeEdgeOptions {
  /** ALPN protocols the server selects from (first offered match); null selects none. Default ['burrow/1']. */
  alpn?: string[] | null
  /** Serve with this PKI instead of a fresh one. */
  pki?: EdgePki
  maxVersion?: tls.SecureVersion
  minVersion?: tls.SecureVersion
  /** Open the control stream on each connection (default true). */
  openControl?: boolean
}

/** A fresh edge PKI (CA + serving certificate) in a temp dir. */
export async function makePki (t: T): Promise<EdgePki> {
  return await ensureEdgePki(await tempDir(t, 'burrow-fake-edge-'))
}

export class FakeEdge {
  readonly server: tls.Server
  readonly pki: EdgePki
  readonly tunnel: string
  /** A client certificate from this fake's CA for the test account (zone localhost), for real agents. */
  readonly agentIdentity: AgentIdentity
  /** Every TLS connection that completed the handshake, in order. */
  readonly connections: FakeEdgeConnection[] = []
  /** The ALPN list each client offered, in order of handshakes. */
  readonly offeredAlpn: string[][]
  /** Handshakes that failed (e.g. the agent refused our certificate). */
  handshakeFailures = 0
  private readonly signal = new Signal()
  private cursor = 0

  private constructor (server: tls.Server, pki: EdgePki, offered: string[][], agentIdentity: AgentIdentity) {
    this.server = server
    this.pki = pki
    this.agentIdentity = agentIdentity
    this.offeredAlpn = offered
    this.tunnel = `127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  get caCertPem (): string {
    return this.pki.caCertPem
  }

  static async start (t: T, options: FakeEdgeOptions = {}): Promise<FakeEdge> {
    const pki = options.pki ?? await makePki(t)
    const offered: string[][] = []
    const server = tls.createServer({
      cert: pki.certPem,
      key: pki.keyPem,
      minVersion: options.minVersion ?? 'TLSv1.3',
      // Like a real edge (SPEC.md §4.1): ask for the agent's certificate, judge it later.
      requestCert: true,
      rejectUnauthorized: false,
      ...(options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {}),
      // Record what each client offers and select the first offered protocol we accept. With
      // alpn: null there is no callback at all, so the handshake completes without ALPN (a callback
      // returning nothing would abort it instead).
      ...(options.alpn === null
        ? {}
        : {
            ALPNCallback: ({ protocols }: { protocols: string[] }) => {
              offered.push(protocols)
              return protocols.find((p) => (options.alpn ?? [ALPN]).includes(p))
            },
          }),
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const fake = new FakeEdge(server, pki, offered, await issueIdentity(pki.ca))
    server.on('secureConnection', (socket: TLSSocket) => {
      fake.connections.push(new FakeEdgeConnection(t, socket, options.openControl ?? true))
      fake.signal.notify()
    })
    server.on('tlsClientError', () => { fake.handshakeFailures++; fake.signal.notify() })
    t.teardown(async () => { await fake.close() })
    return fake
  }

  /** The next connection not yet returned by nextConnection(). */
  async nextConnection (timeoutMs = 3_000): Promise<FakeEdgeConnection> {
    const conn = await until(this.signal, () => this.connections[this.cursor], timeoutMs, 'agent connection')
    this.cursor++
    return conn
  }

  /** Waits until at least `n` handshakes failed. */
  async handshakeFailed (n = 1, timeoutMs = 3_000): Promise<void> {
    await until(this.signal, () => this.handshakeFailures >= n ? true : undefined, timeoutMs, 'failed handshake')
  }

  async close (): Promise<void> {
    for (const c of this.connections) c.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

export interface FakeRequestResult {
  body: Buffer
  /** True when the agent ended the stream cleanly (END_STREAM). */
  ended: boolean
  rstCode: number | undefined
}

export interface FakeRequest {
  stream: ClientHttp2Stream
  /** The response headers; rejects if the stream closes first. */
  response: Promise<IncomingHttpHeaders>
  /** Settles when the stream closes. */
  done: Promise<FakeRequestResult>
}

export class FakeEdgeConnection {
  readonly socket: TLSSocket
  readonly session: ClientHttp2Session
  /** SNI the agent sent (false when none). */
  readonly servername: string | false
  readonly alpn: string | false
  control: ClientHttp2Stream | undefined
  /** The agent's answer to the control stream: headers and whether END_STREAM was set on them. */
  controlResponse: Promise<{ headers: IncomingHttpHeaders, endStream: boolean }> | undefined
  goawayCode: number | undefined
  pings = 0
  /** The agent's first SETTINGS. */
  readonly remoteSettings: Promise<Settings>
  readonly closed: Promise<{ goawayCode: number | undefined }>
  private reader: FrameReader | undefined
  private readonly signal = new Signal()

  constructor (t: T, socket: TLSSocket, openControl: boolean) {
    this.socket = socket
    this.servername = (socket as TLSSocket & { servername?: string | false }).servername ?? false
    this.alpn = socket.alpnProtocol ?? false
    socket.on('error', () => {})
    this.session = http2.connect('https://burrow.control', {
      createConnection: () => socket,
      // What a conforming edge sends (SPEC.md §1.5).
      settings: { enablePush: false, initialWindowSize: 1 << 20, maxHeaderListSize: 65536 },
    })
    this.session.on('error', () => {})
    this.session.on('goaway', (code: number) => { this.goawayCode ??= code })
    this.session.on('ping', () => { this.pings++ })
    this.remoteSettings = new Promise((resolve) => this.session.once('remoteSettings', resolve))
    this.closed = whenClosed(this.session, socket, () => this.goawayCode)
    t.teardown(() => this.destroy())
    if (openControl) this.openControl()
  }

  /** Opens a control stream (SPEC.md §2.1); a second call opens a second one. */
  openControl (headers: OutgoingHttpHeaders = {}): ClientHttp2Stream {
    const stream = this.session.request({
      ':method': 'POST',
      ':path': '/burrow/v1/control',
      ':authority': 'burrow.control',
      'burrow-stream-type': 'control',
      ...headers,
    }, { endStream: false })
    stream.on('error', () => {})
    if (this.control !== undefined) return stream
    this.control = stream
    this.reader = new FrameReader(stream)
    this.controlResponse = new Promise((resolve, reject) => {
      stream.once('response', (h: IncomingHttpHeaders, flags: number) => {
        resolve({ headers: h, endStream: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 })
      })
      stream.once('close', () => reject(new Error(`control stream closed before a response (rst ${stream.rstCode})`)))
    })
    this.controlResponse.catch(() => {})
    // SPEC.md §2.2: when the agent ends the control stream, the connection ends.
    stream.once('end', () => {
      if (!stream.writableEnded) stream.end()
      try { this.session.close() } catch { /* gone */ }
    })
    this.signal.notify()
    return stream
  }

  send (frame: FrameInit): void {
    this.sendRaw(encodeFrame(frame))
  }

  sendRaw (bytes: Buffer): void {
    this.control!.write(bytes)
  }

  async nextFrame (timeoutMs = 3_000): Promise<DecodedFrame> {
    return await this.frames().next(timeoutMs)
  }

  /** Frames the agent sent on the control stream. */
  frames (): FrameReader {
    if (this.reader === undefined) throw new Error('no control stream')
    return this.reader
  }

  /** Reads the agent's Register and answers RegisterAccepted; returns the Register frame. */
  async accept (extra: Partial<burrow.v1.RegisterAccepted.$Properties> = {}): Promise<DecodedFrame> {
    const register = await this.nextFrame()
    if (register.msg !== 'register') throw new Error(`expected Register, got ${String(register.msg)}`)
    this.send({
      registerAccepted: {
        connectionId: `fake-${this.socket.remotePort ?? 0}`,
        edgeId: 'fake-edge',
        hostnames: [...(register.register?.hostnames ?? [])],
        features: [],
        protocolVersion: 1,
        ...extra,
      },
    })
    return register
  }

  /** Opens a request stream like the edge does for a visitor (SPEC.md §5.1). */
  request (headers: OutgoingHttpHeaders = {}, body?: string | Buffer): FakeRequest {
    const stream = this.session.request({
      ':method': 'GET',
      ':path': '/',
      ':authority': 'app.localhost',
      ':scheme': 'http',
      ...headers,
    }, { endStream: body === undefined })
    if (body !== undefined) stream.end(body)
    stream.on('error', () => {})
    const response = new Promise<IncomingHttpHeaders>((resolve, reject) => {
      stream.once('response', resolve)
      stream.once('close', () => reject(new Error(`stream closed before a response (rst ${stream.rstCode})`)))
    })
    response.catch(() => {})
    const chunks: Buffer[] = []
    let ended = false
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.once('end', () => { ended = true })
    const done = new Promise<FakeRequestResult>((resolve) => {
      stream.once('close', () => resolve({ body: Buffer.concat(chunks), ended, rstCode: stream.rstCode }))
    })
    return { stream, response, done }
  }

  /** Resolves after the agent acknowledged a PING: everything written before it is on the wire. */
  async flush (): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.session.ping((err) => { if (err != null) reject(err); else resolve() })
    })
  }

  destroy (): void {
    if (!this.session.destroyed) this.session.destroy()
    this.socket.destroy()
  }
}

/** A real agent pointed at the fake edge, with tiny retry timings; closed at teardown. */
export function agentFor (t: T, edge: FakeEdge, origin: string, options: Partial<AgentOptions> = {}): Agent {
  const agent = new Agent({
    edge: edge.tunnel,
    edgeCa: edge.caCertPem,
    identity: edge.agentIdentity,
    hostnames: ['app.localhost'],
    origin,
    retryBaseMs: 50,
    retryMaxDelayMs: 200,
    gracePeriodMs: 1_000,
    // One connection unless a test asks for more (SPEC.md §8.5): most tests script one connection.
    haConnections: 1,
    logger: testLogger(),
    ...options,
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  return agent
}

/** Starts a real agent, accepts its first registration on the fake edge, and waits for start(). */
export async function registeredAgent (
  t: T, edge: FakeEdge, origin: string, options: Partial<AgentOptions> = {},
): Promise<{ agent: Agent, conn: FakeEdgeConnection, register: DecodedFrame }> {
  const agent = agentFor(t, edge, origin, options)
  const started = agent.start()
  started.catch(() => {})
  const conn = await edge.nextConnection()
  const register = await conn.accept()
  await started
  return { agent, conn, register }
}

/** Sends Heartbeat{seq, reply: false} and checks the agent answers with the same seq and reply: true (SPEC.md §3.8). */
export async function heartbeat (conn: FakeEdgeConnection, seq: number): Promise<void> {
  conn.send({ heartbeat: { seq, reply: false } })
  const reply = await conn.frames().nextOf('heartbeat')
  if (String(reply.heartbeat?.seq) !== String(seq) || reply.heartbeat?.reply !== true) throw new Error('wrong heartbeat reply')
}
