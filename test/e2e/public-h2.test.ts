/**
 * Visitors over HTTP/2 (issue #4, public listener hardening; README "Visitors over HTTP/2"): h2 over
 * TLS by ALPN and h2c with prior knowledge reach the origin through a real agent like HTTP/1.1 does,
 * and a hostile HTTP/2 client (research/reliability.md §1.6: Rapid Reset, CONTINUATION, SETTINGS and
 * PING floods, too many streams, oversized header lists) is cut off while a well-behaved client on
 * another connection keeps being served and the recording origin sees no flood.
 */
import t, { type Test } from 'tap'
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { ensureEdgePki } from '../../src/edge/pki.js'
import { startOrigin, startEdge, startAgent, tempDir, visit, type Origin, type StartedEdge } from '../helpers/servers.js'
import { rawRequest } from '../helpers/raw-http.js'
import {
  PREFACE, ErrorCode, FrameType, RawH2Connection, Setting, continuationFrame, encodeHeaders, headersFrame, pingFrame,
  requestFields, rstCode, rstStreamFrame, settingsFrame, staticStatus, dataFrame,
} from '../helpers/h2-frames.js'

const REQUEST_ID = /^[0-9a-f]{32}$/

/** Node warns (UnsupportedWarning) when a connection-specific header is written to an HTTP/2 response. */
const warnings: string[] = []
process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`))

interface H2Response {
  status: number | undefined
  headers: IncomingHttpHeaders
  /** Response header list as received, [name, value, ...]. */
  raw: string[]
  body: Buffer
  /** RST_STREAM code the stream closed with (0 for a clean end). */
  rstCode: number
}

/** One request on `session`; resolves when the stream closes, whatever the outcome. */
async function h2Request (session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string | Buffer, timeoutMs = 5_000): Promise<H2Response> {
  const stream = session.request({ ':authority': 'app.localhost', ...headers }, { endStream: body === undefined })
  const out: H2Response = { status: undefined, headers: {}, raw: [], body: Buffer.alloc(0), rstCode: 0 }
  const chunks: Buffer[] = []
  stream.on('response', (h: IncomingHttpHeaders, _flags: number, raw: string[]) => {
    out.status = Number(h[':status'])
    out.headers = h
    out.raw = raw
  })
  stream.on('data', (c: Buffer) => chunks.push(c))
  stream.on('error', () => {}) // a reset shows in rstCode
  if (body !== undefined) stream.end(body)
  const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), timeoutMs)
  // Not events.once: it rejects on the 'error' a reset stream emits before 'close'.
  await new Promise((resolve) => stream.once('close', resolve))
  clearTimeout(timer)
  out.body = Buffer.concat(chunks)
  out.rstCode = stream.rstCode ?? 0
  return out
}

async function h2cSession (t: Test, port: number): Promise<ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${port}`)
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  await once(session, 'connect')
  return session
}

/** Names of a raw header list, lower-cased. */
function names (raw: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) out.push(raw[i]!.toLowerCase())
  return out
}

/** A serving certificate for localhost / 127.0.0.1 from a throwaway CA, for the public TLS listener. */
async function publicPki (t: Test): Promise<{ cert: string, key: string, ca: string }> {
  const pki = await ensureEdgePki(await tempDir(t, 'burrow-public-tls-'))
  return { cert: pki.certPem, key: pki.keyPem, ca: pki.caCertPem }
}

interface Setup {
  origin: Origin
  edge: StartedEdge
  ca: string
  tlsPort: number
  /** Ends every held /hold response (else the edge's close waits its drain timeout for them). */
  releaseHeld: () => void
}

/**
 * Origin (echo, or `handler`), an edge with both public listeners and an agent for app.localhost.
 * Requests to /hold are kept open until the test ends (for the concurrent-stream test).
 */
async function setup (t: Test, edgeOptions: Parameters<typeof startEdge>[1] = {}): Promise<Setup> {
  const held: ServerResponse[] = []
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/hold') {
      held.push(res)
      return
    }
    const record = origin.received[origin.received.length - 1]! // pushed just before this handler ran
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      record.body = Buffer.concat(chunks) // kept only for a body that ended cleanly
      res.setHeader('content-type', 'application/json')
      res.setHeader('x-origin', ['one', 'two'])
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }))
    })
  })
  const releaseHeld = (): void => { for (const res of held.splice(0)) res.destroy() }
  t.teardown(releaseHeld)
  const pki = await publicPki(t)
  const edge = await startEdge(t, { publicTls: { cert: pki.cert, key: pki.key, listen: { host: '127.0.0.1', port: 0 } }, ...edgeOptions })
  await startAgent(t, edge, origin)
  return { origin, edge, ca: pki.ca, tlsPort: edge.edge.publicTlsAddress!.port, releaseHeld }
}

/**
 * A well-behaved HTTP/2 visitor on its own connection, sending one request after another until
 * stopped (at most 500). Returns how many got 200 with the right body, and how many did not.
 */
function wellBehaved (t: Test, port: number): { stop: () => Promise<{ ok: number, failed: number }> } {
  let stopped = false
  const run = (async () => {
    const session = await h2cSession(t, port)
    let ok = 0
    let failed = 0
    for (let i = 0; i < 500 && !stopped; i++) {
      const res = await h2Request(session, { ':path': `/good/${i}` }, undefined, 3_000)
      if (res.status === 200 && JSON.parse(res.body.toString()).url === `/good/${i}`) ok++
      else failed++
    }
    session.close()
    return { ok, failed }
  })()
  return {
    stop: async () => {
      // Give it a moment to prove it is being served during and right after the attack.
      await new Promise((resolve) => setTimeout(resolve, 100))
      stopped = true
      return await run
    },
  }
}

/** How many requests for `prefix…` the origin saw. */
function seen (origin: Origin, prefix: string): number {
  return origin.received.filter((r) => r.url.startsWith(prefix)).length
}

async function closedWithin (conn: RawH2Connection, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    conn.closed.then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) }),
  ])
  clearTimeout(timer)
  return closed
}

t.test('h2 over TLS (ALPN h2): status, body, headers, and a request body both ways', async (t) => {
  const { origin, edge, ca, tlsPort } = await setup(t)
  const session = http2.connect(`https://127.0.0.1:${tlsPort}`, { ca })
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  await once(session, 'connect')
  t.equal((session.socket as unknown as { alpnProtocol: string }).alpnProtocol, 'h2', 'ALPN chose h2')
  const upload = 'wörld-'.repeat(20_000) // 140 kB: more than one stream window
  const res = await h2Request(session, { ':method': 'POST', ':path': '/items?x=1', 'content-type': 'text/plain', cookie: 'a=1', 'x-custom': 'yes' }, upload)
  t.equal(res.status, 200)
  t.equal(res.rstCode, 0)
  t.equal(res.headers['content-type'], 'application/json')
  t.same(res.raw.filter((_v, i) => res.raw[i - 1] === 'x-origin'), ['one', 'two'], 'repeated origin fields arrive as sent')
  t.match(res.headers['burrow-request-id'], REQUEST_ID)
  for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']) t.notOk(names(res.raw).includes(name), `no ${name} in the response`)
  const echo = JSON.parse(res.body.toString()) as { method: string, url: string, body: string }
  t.equal(echo.body, upload, 'the response body carries the request body back')
  const got = origin.received[0]!
  t.equal(origin.received.length, 1)
  t.equal(got.method, 'POST')
  t.equal(got.url, '/items?x=1')
  t.equal(got.body.toString(), upload, 'the origin got the request body byte for byte')
  t.equal(got.headers.host, 'app.localhost', 'Host from :authority')
  t.equal(got.headers['x-forwarded-proto'], 'https')
  t.equal(got.headers['x-forwarded-host'], 'app.localhost')
  t.equal(got.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(got.headers['x-custom'], 'yes')
  t.equal(got.headers.cookie, 'a=1')
  t.notOk(names(got.rawHeaders).some((n) => n.startsWith(':')), 'no pseudo-header reaches the origin')
  t.equal(edge.edge.publicTlsAddress?.host, '127.0.0.1')
})

t.test('h2c with prior knowledge on the plain listener: GET and POST, cookie crumbs joined', async (t) => {
  const { origin, edge } = await setup(t)
  const session = await h2cSession(t, edge.edge.publicAddress.port)
  const get = await h2Request(session, { ':path': '/a/b?c=d', cookie: ['a=1', 'b=2'] })
  t.equal(get.status, 200)
  t.equal(JSON.parse(get.body.toString()).url, '/a/b?c=d')
  const post = await h2Request(session, { ':method': 'POST', ':path': '/up' }, Buffer.alloc(100_000, 7))
  t.equal(post.status, 200)
  t.equal(origin.received.length, 2)
  t.equal(origin.received[0]!.headers['x-forwarded-proto'], 'http')
  t.equal(origin.received[0]!.headers.cookie, 'a=1; b=2', 'RFC 9113 §8.2.3: one Cookie field for the HTTP/1 origin')
  t.same(origin.received[1]!.body, Buffer.alloc(100_000, 7), 'a body without content-length arrives whole')
  t.equal(origin.received[1]!.headers['content-length'] ?? origin.received[1]!.headers['transfer-encoding'], origin.received[1]!.headers['content-length'] === undefined ? 'chunked' : '100000')
})

t.test('h2c: the preface split over several writes still selects HTTP/2', async (t) => {
  const { edge } = await setup(t)
  const socket = net.connect(edge.edge.publicAddress.port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  socket.setNoDelay(true)
  // 1, 2, then 21 bytes, with pauses: the listener must wait for all 24 before deciding.
  for (const [from, to] of [[0, 1], [1, 3], [3, 24]] as const) {
    socket.write(PREFACE.subarray(from, to))
    await new Promise((resolve) => setTimeout(resolve, 30))
  }
  socket.destroy()
  const conn = await RawH2Connection.connect(edge.edge.publicAddress.port)
  t.teardown(() => conn.destroy())
  await conn.write(headersFrame(1, encodeHeaders(requestFields('GET', '/split', 'app.localhost')), { endStream: true }))
  const deadline = Date.now() + 3_000
  while (conn.framesOf(FrameType.HEADERS).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(staticStatus(conn.framesOf(FrameType.HEADERS)[0]!.payload), 200)
})

t.test('HTTP/1.1 still works on the plain listener and on the TLS listener (ALPN http/1.1 and no ALPN)', async (t) => {
  const { origin, edge, ca, tlsPort } = await setup(t)
  const plain = await visit(edge.base, '/plain', { method: 'PUT', body: 'p' })
  t.equal(plain.status, 200)
  t.equal(JSON.parse(plain.text).body, 'p')
  for (const alpn of [['http/1.1'], undefined]) {
    const res = await new Promise<{ status: number, body: string, alpn: string | false }>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: tlsPort, ca, servername: 'localhost', method: 'POST', path: '/tls', agent: false,
        headers: { host: 'app.localhost', 'content-type': 'text/plain' },
        ...(alpn === undefined ? {} : { ALPNProtocols: alpn }),
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), alpn: (res.socket as unknown as { alpnProtocol: string | false }).alpnProtocol }))
      })
      req.on('error', reject)
      req.end('over tls')
    })
    t.equal(res.status, 200, `ALPN ${String(alpn)}`)
    t.equal(res.alpn, alpn === undefined ? false : 'http/1.1')
    t.equal(JSON.parse(res.body).body, 'over tls')
  }
  t.equal(origin.received.length, 3)
  t.equal(origin.received[0]!.headers['x-forwarded-proto'], 'http')
  t.equal(origin.received[1]!.headers['x-forwarded-proto'], 'https')
  t.equal(origin.received[2]!.headers['x-forwarded-proto'], 'https')
})

t.test('Upgrade: h2c is never honoured: answered over HTTP/1.1, and neither Upgrade nor HTTP2-Settings is forwarded', async (t) => {
  const { origin, edge } = await setup(t)
  const res = await rawRequest(edge.base, {
    path: '/up',
    headers: [['Host', 'app.localhost'], ['Connection', 'Upgrade, HTTP2-Settings'], ['Upgrade', 'h2c'], ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA']],
  })
  t.equal(res.status, 200, 'a normal HTTP/1.1 answer, not 101')
  t.equal(origin.received.length, 1)
  const sent = names(origin.received[0]!.rawHeaders)
  t.notOk(sent.includes('upgrade'))
  t.notOk(sent.includes('http2-settings'))
  t.notOk((origin.received[0]!.headers.connection ?? '').toLowerCase().includes('upgrade'))
})

t.test('Host over HTTP/2: :authority, or host alone; the two disagreeing is 400 BURROW_ERR_BAD_REQUEST', async (t) => {
  const { origin, edge } = await setup(t)
  const session = await h2cSession(t, edge.edge.publicAddress.port)
  const bad = await h2Request(session, { ':path': '/x', host: 'other.localhost' })
  t.equal(bad.status, 400)
  t.equal(bad.headers['burrow-error'], 'BURROW_ERR_BAD_REQUEST')
  t.match(bad.headers['burrow-request-id'], REQUEST_ID)
  t.notOk(names(bad.raw).includes('connection'), 'no connection field in an HTTP/2 error response')
  const same = await h2Request(session, { ':path': '/same', host: 'app.localhost' })
  t.equal(same.status, 200)
  const unknown = await h2Request(session, { ':authority': 'nobody.localhost', ':method': 'POST', ':path': '/x' }, Buffer.alloc(200_000))
  t.equal(unknown.status, 404, 'an error answer while the body is still coming')
  t.equal(unknown.headers['burrow-error'], 'BURROW_ERR_UNKNOWN_HOST')
  // `host` without :authority (allowed by RFC 9113 §8.3.1), from a raw client.
  const conn = await RawH2Connection.connect(edge.edge.publicAddress.port)
  t.teardown(() => conn.destroy())
  await conn.write(headersFrame(1, encodeHeaders([[':method', 'GET'], [':scheme', 'http'], [':path', '/host-only'], ['host', 'app.localhost']]), { endStream: true }))
  const deadline = Date.now() + 3_000
  while (conn.framesOf(FrameType.HEADERS).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(staticStatus(conn.framesOf(FrameType.HEADERS)[0]!.payload), 200)
  // CONNECT means nothing behind a tunnel: Node's compat layer answers 405 itself, nothing is forwarded.
  const connect = await h2Request(session, { ':method': 'CONNECT', ':authority': 'app.localhost:443' })
  t.equal(connect.status, 405)
  t.same(origin.received.map((r) => r.url), ['/same', '/host-only'], 'only the agreeing and host-only requests were forwarded')
})

t.test('Rapid Reset: 5,000 HEADERS+RST_STREAM pairs get GOAWAY and a closed connection; the origin sees almost none', async (t) => {
  const { origin, edge } = await setup(t)
  const good = wellBehaved(t, edge.edge.publicAddress.port)
  const conn = await RawH2Connection.connect(edge.edge.publicAddress.port, '127.0.0.1', { keepFrames: false })
  t.teardown(() => conn.destroy())
  const block = encodeHeaders(requestFields('GET', '/attack', 'app.localhost'))
  const pairs: Buffer[] = []
  for (let i = 0; i < 5_000; i++) {
    const id = 1 + 2 * i
    pairs.push(headersFrame(id, block, { endStream: true }), rstStreamFrame(id, ErrorCode.CANCEL))
  }
  // Written in 64 KiB slices (about 1,000 pairs each), as a client pushing as fast as it can does.
  const all = Buffer.concat(pairs)
  for (let at = 0; at < all.length && !conn.isClosed; at += 65_536) await conn.write(all.subarray(at, at + 65_536))
  t.ok(await closedWithin(conn, 3_000), 'the connection is closed')
  t.ok(conn.goaway !== undefined, 'with a GOAWAY first')
  t.ok(conn.goaway!.errorCode === ErrorCode.ENHANCE_YOUR_CALM || conn.goaway!.errorCode === ErrorCode.INTERNAL_ERROR, `GOAWAY code ${conn.goaway!.errorCode}`)
  const result = await good.stop()
  t.equal(result.failed, 0, 'the well-behaved visitor got every answer')
  t.ok(result.ok >= 3, `well-behaved requests answered: ${result.ok}`)
  // Dispatch waits one event-loop turn, by which time a pair's RST_STREAM read with its HEADERS has
  // closed the stream: only a pair split across two socket reads can reach the tunnel, and the
  // session is closed within the first one or two 64 KiB slices (100 premature resets, or nghttp2's
  // own limit at about 1,000). Measured: 0 in 20 of 20 runs (94 with dispatch not deferred); 5
  // allows a few split pairs.
  t.ok(seen(origin, '/attack') <= 5, `origin saw ${seen(origin, '/attack')} of 5,000 reset requests`)
})

t.test('Rapid Reset one pair per write: the premature-reset counter closes the session with ENHANCE_YOUR_CALM', async (t) => {
  const { origin, edge } = await setup(t)
  const good = wellBehaved(t, edge.edge.publicAddress.port)
  const conn = await RawH2Connection.connect(edge.edge.publicAddress.port, '127.0.0.1', { keepFrames: false })
  t.teardown(() => conn.destroy())
  const block = encodeHeaders(requestFields('GET', '/attack', 'app.localhost'))
  let sent = 0
  for (let i = 0; i < 1_000 && !conn.isClosed; i++) {
    const id = 1 + 2 * i
    await conn.write(headersFrame(id, block, { endStream: true }))
    await new Promise((resolve) => setImmediate(resolve))
    await conn.write(rstStreamFrame(id, ErrorCode.CANCEL))
    sent++
  }
  t.ok(await closedWithin(conn, 3_000), `closed after ${sent} pairs`)
  t.equal(conn.goaway?.errorCode, ErrorCode.ENHANCE_YOUR_CALM)
  t.ok(sent < 1_000, 'before the client ran out of pairs')
  const result = await good.stop()
  t.equal(result.failed, 0)
  // Each stream was dispatched before its reset arrived, so each may reach the origin; the counter
  // closes the session at 100 premature resets (more than half of its streams).
  t.ok(seen(origin, '/attack') <= 110, `origin saw ${seen(origin, '/attack')} reset requests`)
})

t.test('CONTINUATION flood: GOAWAY and close within 1 s, nothing forwarded', async (t) => {
  const { origin, edge } = await setup(t)
  const good = wellBehaved(t, edge.edge.publicAddress.port)
  const conn = await RawH2Connection.connect(edge.edge.publicAddress.port)
  t.teardown(() => conn.destroy())
  const frames = [headersFrame(1, encodeHeaders(requestFields('GET', '/attack', 'app.localhost')), { endStream: true, endHeaders: false })]
  const cont = continuationFrame(1, encodeHeaders([['x-c', 'v']]))
  for (let i = 0; i < 100_000; i++) frames.push(cont)
  void conn.write(Buffer.concat(frames))
  t.ok(await closedWithin(conn, 1_000), 'closed within 1 s')
  t.ok(conn.goaway !== undefined, 'GOAWAY sent')
  const result = await good.stop()
  t.equal(result.failed, 0)
  t.ok(result.ok >= 1)
  t.equal(seen(origin, '/attack'), 0)
})

for (const kind of ['SETTINGS', 'PING'] as const) {
  t.test(`${kind} flood from a client that never reads: the connection is closed, memory stays flat`, async (t) => {
    const { edge } = await setup(t)
    const good = wellBehaved(t, edge.edge.publicAddress.port)
    const conn = await RawH2Connection.connect(edge.edge.publicAddress.port, '127.0.0.1', { keepFrames: false })
    t.teardown(() => conn.destroy())
    conn.socket.pause() // never read: every ACK the edge owes stays queued on its side
    const one = kind === 'SETTINGS' ? settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 65_535]]) : pingFrame(Buffer.from('12345678'))
    const burst = Buffer.concat(Array.from({ length: 20_000 }, () => one))
    const rssBefore = process.memoryUsage().rss
    let written = 0
    for (let i = 0; i < 10 && !conn.isClosed; i++) { // at most 200,000 frames
      conn.socket.write(burst)
      written += 20_000
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.ok(await closedWithin(conn, 3_000), `closed (after at most ${written} frames)`)
    const growthMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20
    t.ok(growthMiB < 64, `RSS grew ${growthMiB.toFixed(1)} MiB`)
    const result = await good.stop()
    t.equal(result.failed, 0)
    t.ok(result.ok >= 1)
  })
}

t.test('too many concurrent streams: at most maxConcurrentStreams reach the origin, the rest are refused', async (t) => {
  const { origin, edge, releaseHeld } = await setup(t)
  const good = wellBehaved(t, edge.edge.publicAddress.port)
  // Without acknowledging the edge's SETTINGS, so nghttp2 refuses stream by stream (REFUSED_STREAM)
  // instead of failing the connection; either way no more than 100 may be served at once.
  const conn = await RawH2Connection.connect(edge.edge.publicAddress.port, '127.0.0.1', { ackSettings: false })
  t.teardown(() => conn.destroy())
  const block = encodeHeaders(requestFields('GET', '/hold', 'app.localhost'))
  const frames: Buffer[] = []
  for (let i = 0; i < 150; i++) frames.push(headersFrame(1 + 2 * i, block, { endStream: true }))
  await conn.write(Buffer.concat(frames))
  const deadline = Date.now() + 5_000
  while (seen(origin, '/hold') < 100 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  await new Promise((resolve) => setTimeout(resolve, 200)) // room for any excess to show up
  const refused = conn.framesOf(FrameType.RST_STREAM).filter((f) => rstCode(f) === ErrorCode.REFUSED_STREAM).length
  t.equal(seen(origin, '/hold'), 100, 'exactly the advertised limit reached the origin')
  t.ok(refused === 50 || conn.goaway !== undefined, `the other 50 were refused (${refused} REFUSED_STREAM, GOAWAY ${JSON.stringify(conn.goaway)})`)
  const result = await good.stop()
  t.equal(result.failed, 0)
  t.ok(result.ok >= 1)
  conn.destroy()
  releaseHeld()
})

t.test('oversized header list: 431 BURROW_ERR_HEADERS_TOO_LARGE or a reset, never forwarded; 15 kB still passes', async (t) => {
  const { origin, edge } = await setup(t)
  const session = await h2cSession(t, edge.edge.publicAddress.port)
  const fits = await h2Request(session, { ':path': '/fits', 'x-big': 'a'.repeat(15_000) })
  t.equal(fits.status, 200)
  for (const size of [17_000, 40_000]) {
    const res = await h2Request(session, { ':path': '/big', 'x-big': 'a'.repeat(size) })
    if (res.status !== undefined) {
      t.equal(res.status, 431, `${size} B`)
      t.equal(res.headers['burrow-error'], 'BURROW_ERR_HEADERS_TOO_LARGE')
    } else {
      t.not(res.rstCode, 0, `${size} B: stream reset (${res.rstCode})`)
    }
  }
  // Many fields adding up to just over 16 KiB of names and values: counted like HTTP/1 (431), while
  // nghttp2's count (32 bytes more per field) stays under the advertised 16 KiB + 32 × 128.
  const many: OutgoingHttpHeaders = { ':path': '/big' }
  for (let i = 0; i < 30; i++) many[`x-f${i}`] = 'b'.repeat(550)
  const res = await h2Request(session, many)
  t.equal(res.status, 431, 'many fields')
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_HEADERS_TOO_LARGE')
  // More fields than maxHeaderListPairs (128, pseudo-headers included), each tiny.
  const count: OutgoingHttpHeaders = { ':path': '/big' }
  for (let i = 0; i < 130; i++) count[`x-n${i}`] = 'c'
  const tooMany = await h2Request(session, count)
  t.equal(tooMany.status, undefined, 'no response to 130 fields')
  t.equal(tooMany.rstCode, ErrorCode.ENHANCE_YOUR_CALM, 'the stream is reset')
  t.equal(seen(origin, '/big'), 0, 'nothing oversized reached the origin')
  t.equal(seen(origin, '/fits'), 1)
})

t.test('idle and headers deadlines: a preface-only connection and an idle session get GOAWAY and are closed', async (t) => {
  const { edge } = await setup(t, { http2: { idleTimeoutMs: 300, headersTimeoutMs: 300 } })
  const silent = await RawH2Connection.connect(edge.edge.publicAddress.port)
  t.teardown(() => silent.destroy())
  t.ok(await closedWithin(silent, 3_000), 'a session that never sends a request is closed')
  t.equal(silent.goaway?.errorCode, ErrorCode.NO_ERROR)
  const partial = await RawH2Connection.connect(edge.edge.publicAddress.port)
  t.teardown(() => partial.destroy())
  await partial.write(headersFrame(1, encodeHeaders(requestFields('GET', '/never', 'app.localhost')), { endHeaders: false }))
  t.ok(await closedWithin(partial, 3_000), 'a header block never finished does not hold the connection')
  const session = await h2cSession(t, edge.edge.publicAddress.port)
  const res = await h2Request(session, { ':path': '/once' })
  t.equal(res.status, 200)
  const goaway = once(session, 'goaway')
  t.ok(await Promise.race([goaway.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 3_000))]), 'idle session gets GOAWAY')
  // A plain socket that sends nothing at all is not held either.
  const idle = net.connect(edge.edge.publicAddress.port, '127.0.0.1')
  idle.on('error', () => {})
  t.teardown(() => idle.destroy())
  t.ok(await Promise.race([once(idle, 'close').then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 3_000))]), 'silent plain socket closed')
})

t.test('a reset upload is never forwarded as complete, even with RST_STREAM NO_ERROR', async (t) => {
  const { origin, edge } = await setup(t)
  const conn = await RawH2Connection.connect(edge.edge.publicAddress.port)
  t.teardown(() => conn.destroy())
  await conn.write(headersFrame(1, encodeHeaders(requestFields('POST', '/upload', 'app.localhost')), { endStream: false }))
  await conn.write(dataFrame(1, 'partial-'))
  // Let the request reach the origin with its first bytes, then reset it with NO_ERROR.
  const deadline = Date.now() + 3_000
  while (seen(origin, '/upload') === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  await conn.write(rstStreamFrame(1, ErrorCode.NO_ERROR))
  await new Promise((resolve) => setTimeout(resolve, 300))
  // The recording handler stores the body only when the origin saw the request end cleanly.
  const got = origin.received.find((r) => r.url === '/upload')
  t.ok(got !== undefined, 'the request started at the origin')
  t.equal(got!.body.length, 0, 'the origin never saw the truncated body complete')
})

t.test('edge.close(): HTTP/2 visitors get GOAWAY, an in-flight request still finishes', async (t) => {
  let release: (() => void) | undefined
  const origin = await startOrigin(t, (_req, res) => {
    release = () => res.end('late')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const session = await h2cSession(t, edge.edge.publicAddress.port)
  const pending = h2Request(session, { ':path': '/slow' })
  while (origin.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  const goaway = once(session, 'goaway')
  const closing = edge.edge.close()
  await goaway
  t.pass('GOAWAY received')
  release!()
  const res = await pending
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'late')
  await closing
  t.equal(edge.edge.state, 'closed')
})

t.test('h2c: false sends the preface to the HTTP/1 parser (400), and limits out of range are refused', async (t) => {
  const edge = await startEdge(t, { h2c: false })
  const socket = net.connect(edge.edge.publicAddress.port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.write(PREFACE)
  let text = ''
  socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
  await once(socket, 'close')
  t.match(text, /^HTTP\/1\.1 400 /)
  await t.rejects(startEdge(t, { http2: { maxConcurrentStreams: 257 } }), RangeError)
  await t.rejects(startEdge(t, { http2: { idleTimeoutMs: 0 } }), RangeError)
})

t.test('no connection-specific header was ever written to an HTTP/2 response (Node would warn)', async (t) => {
  t.same(warnings.filter((w) => w.startsWith('UnsupportedWarning')), [])
})
