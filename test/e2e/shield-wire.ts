/**
 * Shared by the shield end-to-end tests (test/e2e/shield-*.test.ts; not a test file itself): a raw
 * HTTP/1.1 keep-alive connection that can bind a chosen local address (127.0.0.1 / 127.0.0.2 are two
 * client IPs on loopback), sends targets byte for byte (no client-side path normalisation) and
 * keeps every byte it received; the edge + agent + recording origin set-up for a policy file; and a
 * pino logger writing into memory.
 */
import net from 'node:net'
import { once } from 'node:events'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { startAgent, startEdge, startOrigin, tempDir, type Handler, type Origin, type StartedEdge, type T } from '../helpers/servers.js'

export interface WireResponse {
  status: number
  /** Lower-case names; repeated fields joined with ', '. */
  headers: Record<string, string>
  /** Header lines in wire order, names lower-cased. */
  list: Array<[string, string]>
  body: Buffer
  text: string
  /** False when the connection closed before the body was complete per its framing. */
  complete: boolean
}

/** One raw TCP connection to the edge's public listener, used for as many requests as it stays open. */
export class Conn {
  readonly socket: net.Socket
  /** Every byte received on this connection (latin1), for assertions on what came off the wire. */
  wire = ''
  closed = false
  private buf = Buffer.alloc(0)
  private wake: (() => void) | undefined

  private constructor (socket: net.Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk])
      this.wire += chunk.toString('latin1')
      this.wake?.()
    })
    socket.on('close', () => { this.closed = true; this.wake?.() })
    // A reset after a refusal is expected; 'close' follows and the parser reports what arrived.
    socket.on('error', () => {})
  }

  /** Connects to `base` (http://host:port), from `localAddress` when given (e.g. 127.0.0.2). */
  static async open (t: T, base: string, localAddress?: string): Promise<Conn> {
    const url = new URL(base)
    const socket = net.connect({ host: url.hostname, port: Number(url.port), ...(localAddress === undefined ? {} : { localAddress }) })
    t.teardown(() => { socket.destroy() })
    await once(socket, 'connect')
    return new Conn(socket)
  }

  write (data: string | Buffer): void {
    if (this.socket.writable) this.socket.write(data)
  }

  /** Writes one request. Adds Content-Length for a body unless a framing header is given. */
  send (method: string, target: string, host: string, headers: Array<[string, string]> = [], body?: string | Buffer): void {
    let head = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n`
    for (const [name, value] of headers) head += `${name}: ${value}\r\n`
    const framed = headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))
    if (body !== undefined && !framed) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`
    this.write(head + '\r\n')
    if (body !== undefined) this.write(body)
  }

  async request (method: string, target: string, host = 'app.localhost', headers: Array<[string, string]> = [], body?: string | Buffer): Promise<WireResponse> {
    this.send(method, target, host, headers, body)
    return await this.response(method)
  }

  /** The next response on the connection (1xx included), or what arrived of it when the connection closed. */
  async response (method = 'GET', timeoutMs = 5_000): Promise<WireResponse> {
    const parsed = await this.until(() => this.parse(method), timeoutMs, 'a response')
    this.buf = this.buf.subarray(parsed.used)
    return parsed.res
  }

  /** Resolves when the peer closed the connection. */
  async waitClosed (timeoutMs = 5_000): Promise<void> {
    await this.until(() => (this.closed ? true : undefined), timeoutMs, 'the connection to close')
  }

  /** Re-evaluates `check` on every chunk and on close until it gives a value; bounded by `timeoutMs`. */
  async until<V> (check: () => V | undefined, timeoutMs: number, what: string): Promise<V> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = check()
      if (value !== undefined) return value
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; received ${JSON.stringify(this.wire.slice(0, 2000))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.wake = () => { clearTimeout(timer); resolve() }
      })
      this.wake = undefined
    }
  }

  private parse (method: string): { res: WireResponse, used: number } | undefined {
    const buf = this.buf
    const end = buf.indexOf('\r\n\r\n')
    if (end === -1) {
      if (this.closed) throw new Error(`connection closed before a response head (got ${JSON.stringify(buf.toString('latin1'))})`)
      return undefined
    }
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
    if (m === null) throw new Error(`not an HTTP/1 status line: ${JSON.stringify(lines[0])}`)
    const status = Number(m[1])
    const list: Array<[string, string]> = lines.slice(1).map((line) => {
      const colon = line.indexOf(':')
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]
    })
    const headers: Record<string, string> = {}
    for (const [n, v] of list) headers[n] = headers[n] === undefined ? v : `${headers[n]}, ${v}`
    const start = end + 4
    const result = (body: Buffer, used: number, complete: boolean): { res: WireResponse, used: number } =>
      ({ res: { status, headers, list, body, text: body.toString(), complete }, used })
    if (status < 200 || method === 'HEAD' || status === 204 || status === 304) return result(Buffer.alloc(0), start, true)
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked') === true) {
      const parts: Buffer[] = []
      let at = start
      for (let guard = 0; guard < 100_000; guard++) {
        const eol = buf.indexOf('\r\n', at)
        if (eol === -1) break
        const size = parseInt(buf.subarray(at, eol).toString('latin1').split(';')[0]!, 16)
        if (Number.isNaN(size)) break
        if (size === 0) {
          if (buf.subarray(eol + 2, eol + 4).toString('latin1') === '\r\n') return result(Buffer.concat(parts), eol + 4, true)
          break
        }
        if (buf.length < eol + 2 + size + 2) break
        parts.push(buf.subarray(eol + 2, eol + 2 + size))
        at = eol + 2 + size + 2
      }
      return this.closed ? result(Buffer.concat(parts), buf.length, false) : undefined
    }
    const cl = headers['content-length']
    if (cl !== undefined) {
      const n = Number(cl)
      if (buf.length - start >= n) return result(buf.subarray(start, start + n), start + n, true)
      return this.closed ? result(buf.subarray(start), buf.length, false) : undefined
    }
    return this.closed ? result(buf.subarray(start), buf.length, true) : undefined
  }
}

/** One request on a fresh connection (closed afterwards), from `from` when given. */
export async function rawVisit (t: T, base: string, target: string, options: { host?: string, from?: string, method?: string, headers?: Array<[string, string]>, body?: string | Buffer } = {}): Promise<WireResponse> {
  const conn = await Conn.open(t, base, options.from)
  try {
    return await conn.request(options.method ?? 'GET', target, options.host ?? 'app.localhost', options.headers ?? [], options.body)
  } finally {
    conn.socket.destroy()
  }
}

export interface Shielded {
  /** The temp directory holding the policy file (and anything else the test writes). */
  dir: string
  /** The policy file the edge was started with. */
  file: string
  origin: Origin
  edge: StartedEdge
}

/**
 * A real edge started with a policy file (`policy` as YAML text, or a function of the file's
 * directory returning it), a recording origin and a registered agent serving `hostnames`.
 */
export async function shielded (
  t: T,
  policy: string | ((dir: string) => string | Promise<string>),
  options: { hostnames?: string[], handler?: Handler, logger?: Logger } = {},
): Promise<Shielded> {
  const dir = await tempDir(t, 'burrow-shield-')
  const file = join(dir, 'edge.yaml')
  await writeFile(file, typeof policy === 'string' ? policy : await policy(dir))
  const origin = await startOrigin(t, options.handler)
  const edge = await startEdge(t, { config: file, ...(options.logger === undefined ? {} : { logger: options.logger }) })
  await startAgent(t, edge, origin, { hostnames: options.hostnames ?? ['app.localhost'] })
  return { dir, file, origin, edge }
}

/** Replaces `file` atomically, as editors and config managers do: write a sibling, rename it over. */
export async function replaceFile (file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text)
  await rename(tmp, file)
}

/** The parts of an edge error answer (SPEC.md §6.1) every rejection test checks. */
export interface Answer { status: number, headers: Record<string, unknown> }

export type LogLine = Record<string, unknown> & { msg?: string, level?: number }

/** A pino logger at `level` whose JSON lines are parsed into `lines` as they are written. */
export function memoryLogger (level = 'info'): { logger: Logger, lines: LogLine[] } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      callback()
    },
  })
  return { logger: pino({ level }, stream), lines }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
