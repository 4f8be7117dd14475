/**
 * A raw-socket HTTP/1.1 client for end-to-end tests that need to send what undici refuses
 * (`Connection: x-hop`, `Keep-Alive`, `Upgrade`, `TE: gzip`, a malformed or missing Host, ...)
 * or to see the response exactly as it came off the wire (every header line, in order).
 *
 * One request per connection: the helper writes the request, parses one response (Content-Length,
 * chunked, or read-until-close framing), then destroys the socket.
 */
import net from 'node:net'

export interface RawResponse {
  status: number
  /** Header lines in wire order, names lower-cased: [[name, value], ...]. */
  headerList: Array<[string, string]>
  body: Buffer
  text: string
  /** False when the connection ended before the body was complete per its framing. */
  complete: boolean
}

export interface RawRequestOptions {
  method?: string
  path?: string
  /** Header lines exactly as sent, in order. Pass `Host` yourself (or leave it out on purpose). */
  headers?: Array<[string, string]>
  body?: string | Buffer
  /** HTTP version on the request line. Default HTTP/1.1. */
  version?: string
  /** Gives up (rejects) after this long. Default 5 s. */
  timeoutMs?: number
}

/** All values of a header (lower-case name) in wire order. */
export function headerValues (res: RawResponse, name: string): string[] {
  return res.headerList.filter(([n]) => n === name).map(([, v]) => v)
}

/** The first value of a header (lower-case name), if any. */
export function header (res: RawResponse, name: string): string | undefined {
  return res.headerList.find(([n]) => n === name)?.[1]
}

/** Sends one request to `base` (http://host:port) over a fresh TCP connection. */
export async function rawRequest (base: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const url = new URL(base)
  const method = options.method ?? 'GET'
  const body = options.body === undefined ? undefined : Buffer.from(options.body)
  let head = `${method} ${options.path ?? '/'} ${options.version ?? 'HTTP/1.1'}\r\n`
  for (const [name, value] of options.headers ?? []) head += `${name}: ${value}\r\n`
  if (body !== undefined && !(options.headers ?? []).some(([n]) => n.toLowerCase() === 'content-length')) {
    head += `Content-Length: ${body.length}\r\n`
  }
  head += '\r\n'

  const socket = net.connect(Number(url.port), url.hostname)
  const timeoutMs = options.timeoutMs ?? 5_000
  return await new Promise<RawResponse>((resolve, reject) => {
    let buf = Buffer.alloc(0)
    let settled = false
    const timer = setTimeout(() => finish(new Error(`raw request got no complete response within ${timeoutMs} ms`)), timeoutMs)
    const finish = (err: Error | undefined, res?: RawResponse): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err !== undefined) reject(err)
      else resolve(res!)
    }
    const tryParse = (ended: boolean): void => {
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) {
        if (ended) finish(new Error(`connection closed before a response head (got ${JSON.stringify(buf.toString('latin1'))})`))
        return
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
      if (m === null) {
        finish(new Error(`not an HTTP/1 status line: ${JSON.stringify(lines[0])}`))
        return
      }
      const status = Number(m[1])
      const headerList: Array<[string, string]> = []
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':')
        headerList.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()])
      }
      const rest = buf.subarray(end + 4)
      const lookup = (n: string): string | undefined => headerList.find(([k]) => k === n)?.[1]
      const done = (bodyBytes: Buffer, complete: boolean): void => {
        finish(undefined, { status, headerList, body: bodyBytes, text: bodyBytes.toString(), complete })
      }
      const noBody = method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)
      if (noBody) { done(Buffer.alloc(0), true); return }
      const cl = lookup('content-length')
      if (lookup('transfer-encoding')?.toLowerCase().includes('chunked') === true) {
        const parsed = parseChunked(rest)
        if (parsed.complete) done(parsed.body, true)
        else if (ended) done(parsed.body, false)
        return
      }
      if (cl !== undefined) {
        const n = Number(cl)
        if (rest.length >= n) done(rest.subarray(0, n), true)
        else if (ended) done(rest, false)
        return
      }
      // Close-delimited: complete only when the server closes.
      if (ended) done(rest, true)
    }
    socket.on('data', (chunk: Buffer) => { buf = Buffer.concat([buf, chunk]); tryParse(false) })
    socket.on('end', () => tryParse(true))
    socket.on('close', () => tryParse(true))
    socket.on('error', (err) => {
      // A reset after a partial response still tells the test what arrived.
      if (buf.indexOf('\r\n\r\n') !== -1) tryParse(true)
      else finish(err)
    })
    socket.write(head)
    if (body !== undefined) socket.write(body)
  })
}

function parseChunked (data: Buffer): { body: Buffer, complete: boolean } {
  const parts: Buffer[] = []
  let at = 0
  for (let guard = 0; guard < 1_000_000; guard++) {
    const eol = data.indexOf('\r\n', at)
    if (eol === -1) break
    const size = parseInt(data.subarray(at, eol).toString('latin1').split(';')[0]!, 16)
    if (Number.isNaN(size)) break
    if (size === 0) {
      // Last chunk; trailers (none expected) end with an empty line.
      return { body: Buffer.concat(parts), complete: data.indexOf('\r\n\r\n', eol) !== -1 || data.subarray(eol + 2, eol + 4).toString() === '\r\n' }
    }
    if (data.length < eol + 2 + size + 2) {
      parts.push(data.subarray(eol + 2, Math.min(data.length, eol + 2 + size)))
      break
    }
    parts.push(data.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
  return { body: Buffer.concat(parts), complete: false }
}
