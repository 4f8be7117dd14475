/**
 * The agent's request path (SPEC.md §5.4-§5.7): one tunnel stream becomes one HTTP/1.1 request to
 * the origin over a keep-alive pool (with the tunnel's labels added), and the origin's response
 * streams back with backpressure. Hot path: requests without a body go through undici's dispatcher
 * API with a small handler object per request, no per-chunk work beyond the write. Requests with a
 * body go through node:http, whose request head leaves at once (flushHeaders): undici holds the head
 * of a streamed body back until the first body byte, so an origin could not answer from the headers
 * alone (a 401 or 413 before the upload, a long poll) while the visitor waits to send.
 */
import http2, { type IncomingHttpHeaders as H2Headers, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2'
import http, { type ClientRequest, type IncomingMessage } from 'node:http'
import https from 'node:https'
import { Pool } from 'undici'
import type { Logger } from 'pino'
import { connectionListedNames, isHopByHop, isValidHeaderValue, SINGLE_VALUE } from '../protocol/headers.js'
import { H_ERROR, H_RESPONSE_SOURCE, H_STREAM_TYPE, SOURCE_AGENT, SOURCE_ORIGIN, STREAM_TYPE_HTTP } from '../protocol/constants.js'
import { ErrorCodes, httpStatusOf, type ErrorCode } from '../protocol/errors.js'
import { LABEL_HEADER_PREFIX } from '../protocol/labels.js'

const NGHTTP2_INTERNAL_ERROR = http2.constants.NGHTTP2_INTERNAL_ERROR
const END_STREAM = http2.constants.NGHTTP2_FLAG_END_STREAM

export interface OriginProxyOptions {
  /** The origin's base URL, e.g. http://127.0.0.1:4000. */
  origin: string
  /** Time to the origin's response headers, and the longest pause between body chunks. */
  timeoutMs: number
  /** Sockets kept to the origin. */
  connections: number
  /** The tunnel's labels, sent on every origin request as burrow-label-<key> (SPEC.md §5.4). */
  labels?: Readonly<Record<string, string>>
  logger: Logger
}

/** Fields undici refuses in a request, or that must not reach the origin (hop-by-hop). */
const ORIGIN_SKIP: ReadonlySet<string> = new Set(['expect', 'host'])

export class OriginProxy {
  private readonly pool: Pool
  /** Keep-alive sockets for requests with a body (UploadExchange). */
  private readonly uploadAgent: http.Agent
  private readonly target: { host: string, port: number, secure: boolean }
  private readonly timeoutMs: number
  /** burrow-label-<key>, value pairs, built once. */
  private readonly labelFields: readonly string[]
  readonly logger: Logger
  /** Streams being served, over every tunnel connection (each TunnelClient waits for its own on shutdown). */
  active = 0

  constructor (options: OriginProxyOptions) {
    const url = new URL(options.origin)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`origin must be an http:// or https:// URL, got ${options.origin}`)
    }
    this.timeoutMs = options.timeoutMs
    this.logger = options.logger
    const labels = options.labels ?? {}
    this.labelFields = Object.keys(labels).sort().flatMap((key) => [LABEL_HEADER_PREFIX + key, labels[key]!])
    const secure = url.protocol === 'https:'
    this.target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (secure ? 443 : 80)), secure }
    // Idle sockets close after 4 s (or the origin's Keep-Alive hint when shorter), below common server
    // keep-alive timeouts, so a reused socket is rarely one the origin is closing.
    const agentOptions = { keepAlive: true, maxSockets: options.connections, timeout: 4_000, scheduling: 'lifo' as const }
    this.uploadAgent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: Math.min(options.timeoutMs, 10_000) },
    })
  }

  /** The session's 'stream' handler for request streams (everything but the control stream). */
  handle (stream: ServerHttp2Stream, headers: H2Headers, flags: number, rawHeaders: string[]): void {
    const type = headers[H_STREAM_TYPE]
    if (type !== undefined && type !== STREAM_TYPE_HTTP) {
      respondAgentError(stream, 'BURROW_ERR_UNSUPPORTED_STREAM')
      return
    }
    this.active++
    const method = headers[':method'] as string
    const path = headers[':path'] as string
    const fields = originRequestHeaders(rawHeaders, headers, this.labelFields)
    if ((flags & END_STREAM) === 0) {
      new UploadExchange(this, stream).start(this.uploadRequest(method, path, fields))
      return
    }
    const exchange = new OriginExchange(this, stream)
    try {
      this.pool.dispatch({ method, path, headers: fields, body: null, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs }, exchange)
    } catch (err) {
      exchange.onError(err as Error)
    }
  }

  /** The origin request of a stream with a body; its head is sent at once. */
  private uploadRequest (method: string, path: string, fields: string[]): ClientRequest {
    const { host, port, secure } = this.target
    const options = { host, port, method, path, headers: fields, agent: this.uploadAgent }
    const req = secure ? https.request(options) : http.request(options)
    // Time to the response headers, and the longest silence on the socket after that.
    req.setTimeout(this.timeoutMs, () => req.destroy(ORIGIN_TIMED_OUT))
    return req
  }

  async close (): Promise<void> {
    this.uploadAgent.destroy()
    await this.pool.destroy()
  }

  /** Called once per served stream when it closes. */
  onStreamClosed (): void {
    this.active--
  }
}

const UPLOAD_ABORTED = Object.freeze(new Error('the edge reset the stream during the upload'))
const ORIGIN_TIMED_OUT = Object.freeze(Object.assign(new Error('the origin did not answer in time'), { code: 'BURROW_ORIGIN_TIMEOUT' }))

/**
 * The origin request's header list, as undici's flat [name, value, ...] array: the stream's fields
 * minus pseudo-headers and hop-by-hop fields, with Host set from :authority.
 */
function originRequestHeaders (raw: string[], headers: H2Headers, labelFields: readonly string[]): string[] {
  const out: string[] = ['host', headers[':authority'] as string]
  const listed = connectionListedNames(headers.connection)
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.charCodeAt(0) === 58 /* : */ || ORIGIN_SKIP.has(name)) continue
    // Only the agent says which tunnel served the request (an edge strips burrow-* from visitors anyway).
    if (name.startsWith(LABEL_HEADER_PREFIX)) continue
    if (isHopByHop(name, listed)) {
      // `te: trailers` is the one TE value that is passed through (SPEC.md §5.3.1, §5.10).
      if (name === 'te' && raw[i + 1]!.trim().toLowerCase() === 'trailers') out.push('te', 'trailers')
      continue
    }
    out.push(name, raw[i + 1]!)
  }
  for (let i = 0; i < labelFields.length; i++) out.push(labelFields[i]!)
  return out
}

/**
 * One origin request. Implements undici's dispatch handler; decides the stream's outcome once.
 */
class OriginExchange {
  private readonly stream: ServerHttp2Stream
  private abort: ((err?: Error) => void) | undefined
  private resumeOrigin: (() => void) | undefined
  private finished = false

  constructor (proxy: OriginProxy, stream: ServerHttp2Stream) {
    this.stream = stream
    stream.on('error', noop) // a reset from the edge surfaces as 'close'
    stream.once('close', () => {
      proxy.onStreamClosed()
      if (!this.finished) {
        // The edge cancelled (visitor gone) or the tunnel died: stop the origin request.
        this.finished = true
        this.abort?.(new Error('tunnel stream closed'))
      }
    })
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.finished) abort(new Error('tunnel stream closed'))
  }

  onHeaders (statusCode: number, raw: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true // 1xx: wait for the final response
    this.resumeOrigin = resume
    const stream = this.stream
    if (stream.destroyed || stream.closed) return false
    const headers = responseHeaderBlock(statusCode, raw)
    try {
      stream.respond(headers)
    } catch {
      // A header nghttp2 refuses (e.g. a duplicated single-value field): an invalid origin response.
      respondAgentError(stream, 'BURROW_ERR_ORIGIN_RESET')
      this.finished = true
      return false
    }
    return true
  }

  onData (chunk: Buffer): boolean {
    const stream = this.stream
    if (stream.destroyed) return false
    if (stream.write(chunk)) return true
    stream.once('drain', this.resumeOrigin!)
    return false
  }

  onComplete (): void {
    this.finished = true
    if (!this.stream.destroyed) this.stream.end()
  }

  onError (err: Error): void {
    if (this.finished && this.stream.closed) return
    this.finished = true
    const stream = this.stream
    if (stream.destroyed || stream.closed) return
    if (stream.headersSent) {
      // The response started: reset so the edge shows the visitor a broken response (SPEC.md §5.8).
      // Not close(INTERNAL_ERROR): on a still-writable stream Node ends it (END_STREAM) before the
      // RST_STREAM, so the edge would see a clean end and finish a truncated body. destroy(err)
      // sends only RST_STREAM INTERNAL_ERROR.
      stream.destroy(err)
      return
    }
    respondAgentError(stream, originErrorCode(err))
  }
}

/**
 * The tunnel response's header block from the origin's raw fields (Buffers from undici, strings from
 * node:http): hop-by-hop fields and those the origin's Connection lists removed, invalid values
 * dropped, a repeated single-value field kept once, burrow-response-source set (SPEC.md §5.5).
 */
function responseHeaderBlock (statusCode: number, raw: ReadonlyArray<Buffer | string>): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = Object.create(null)
  headers[':status'] = statusCode
  let listed: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase()
    const value = raw[i + 1]!.toString('latin1')
    if (isHopByHop(name, undefined)) {
      if (name === 'connection') listed = connectionListedNames(value)
      continue
    }
    if (!isValidHeaderValue(value)) continue
    const prev = headers[name]
    if (prev === undefined) headers[name] = value
    else if (SINGLE_VALUE.has(name)) continue // keep the first, as Node's HTTP/1 parser does
    else if (Array.isArray(prev)) prev.push(value)
    else headers[name] = [prev as string, value]
  }
  // Rare: the names the origin's Connection header lists are hop-by-hop too.
  if (listed !== undefined) for (const name of listed) delete headers[name]
  headers[H_RESPONSE_SOURCE] = SOURCE_ORIGIN
  return headers
}

/**
 * One origin request with a body, over node:http (see the module comment). Decides the stream's
 * outcome once, like OriginExchange: the body streams to the origin with backpressure, a reset of
 * the tunnel stream aborts the origin request (never a truncated upload that looks complete), and
 * a response cut by the origin resets the tunnel stream.
 */
class UploadExchange {
  private readonly proxy: OriginProxy
  private readonly stream: ServerHttp2Stream
  private req: ClientRequest | undefined
  private finished = false

  constructor (proxy: OriginProxy, stream: ServerHttp2Stream) {
    this.proxy = proxy
    this.stream = stream
  }

  start (req: ClientRequest): void {
    const stream = this.stream
    this.req = req
    stream.on('error', noop)
    stream.once('close', () => {
      this.proxy.onStreamClosed()
      if (!this.finished) {
        // The edge cancelled (visitor gone) or the tunnel died: stop the origin request.
        this.finished = true
        req.destroy(UPLOAD_ABORTED)
      }
    })
    req.on('error', (err) => this.onError(err))
    req.once('response', (res: IncomingMessage) => this.onResponse(res))
    // A reset is followed by 'end' on the readable side: abort first, so the pipe cannot end the
    // origin request as if the upload were complete (SPEC.md §5.8).
    stream.once('aborted', () => req.destroy(UPLOAD_ABORTED))
    req.flushHeaders()
    stream.pipe(req)
  }

  private onResponse (res: IncomingMessage): void {
    const stream = this.stream
    res.on('error', noop) // a cut response is decided on 'close' from res.complete
    if (this.finished || stream.destroyed || stream.closed) {
      res.resume()
      return
    }
    try {
      stream.respond(responseHeaderBlock(res.statusCode ?? 502, res.rawHeaders))
    } catch {
      this.fail(new Error('invalid origin response headers'))
      return
    }
    res.on('data', (chunk: Buffer) => {
      if (!stream.write(chunk)) {
        res.pause()
        stream.once('drain', () => res.resume())
      }
    })
    res.once('end', () => {
      this.finished = true
      if (!stream.destroyed) stream.end()
    })
    res.once('close', () => {
      if (!res.complete) this.fail(new Error('the origin closed the connection during the response'))
    })
  }

  private onError (err: Error): void {
    this.fail(err)
  }

  private fail (err: Error): void {
    const stream = this.stream
    if (this.finished) {
      // The response is complete; an upload the origin stopped reading is drained, not stalled.
      stream.unpipe(this.req)
      if (!stream.closed) stream.resume()
      return
    }
    this.finished = true
    stream.unpipe(this.req)
    this.req?.destroy()
    if (stream.destroyed || stream.closed) return
    if (stream.headersSent) {
      // The response started: reset so the edge shows the visitor a broken response (SPEC.md §5.8).
      stream.destroy(err)
      return
    }
    respondAgentError(stream, originErrorCode(err))
  }
}

/** Maps undici / socket errors to the registry (SPEC.md §6). */
function originErrorCode (err: Error & { code?: string }): ErrorCode {
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'BURROW_ERR_ORIGIN_UNREACHABLE'
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'BURROW_ORIGIN_TIMEOUT':
      return 'BURROW_ERR_ORIGIN_TIMEOUT'
    default:
      return 'BURROW_ERR_ORIGIN_RESET'
  }
}

/** An agent-generated error response (SPEC.md §5.6). */
export function respondAgentError (stream: ServerHttp2Stream, code: ErrorCode): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return
  const body = `${code}: ${ErrorCodes[code].message}\n`
  try {
    stream.respond({
      ':status': httpStatusOf(code),
      'content-type': 'text/plain; charset=utf-8',
      [H_RESPONSE_SOURCE]: SOURCE_AGENT,
      [H_ERROR]: code,
    })
    stream.end(body)
    // Read and discard whatever request body is still coming, so the edge's upload is not stuck
    // on a window nobody opens.
    stream.resume()
  } catch {
    stream.close(NGHTTP2_INTERNAL_ERROR)
  }
}

function noop (): void {}
