/**
 * Visitor-facing errors end to end (SPEC.md §5.4, §5.8, §6): each failure gets its code, status and
 * error body, and the same tunnel keeps serving afterwards.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import { request as undiciRequest, Agent as UndiciAgent } from 'undici'
import { startOrigin, startEdge, startAgent, visit, waitFor, type StartedEdge, type VisitorResponse } from '../helpers/servers.js'
import { rawRequest, header } from '../helpers/raw-http.js'

const REQUEST_ID = /^[0-9a-f]{32}$/

/** A port that was bound and then released: connecting to it is refused. */
async function closedPort (): Promise<number> {
  const server = http.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The checks every visitor error response gets (SPEC.md §6.1). */
function assertError (t: Test, res: VisitorResponse, status: number, code: string): void {
  t.equal(res.status, status, 'status')
  t.equal(res.headers['burrow-error'], code, 'burrow-error header')
  t.equal(res.headers['cache-control'], 'no-store')
  const id = res.headers['burrow-request-id'] as string
  t.match(id, REQUEST_ID)
  t.match(res.headers['content-type'], /^text\/plain/)
  t.ok(res.text.startsWith(`${status} `), 'text body starts with the status')
  t.ok(res.text.includes(code), 'text body names the code')
  t.ok(res.text.includes(id), 'text body carries the request id')
}

/** Proves the tunnel (and the edge) still serve a normal request. */
async function stillServes (t: Test, edge: StartedEdge, path = '/ok'): Promise<void> {
  const res = await visit(edge.base, path)
  t.equal(res.status, 200, 'the same tunnel still serves a normal request')
  t.equal(edge.edge.connectionCount, 1, 'on the same single tunnel connection')
}

t.test('origin refuses connections: 502 BURROW_ERR_ORIGIN_UNREACHABLE, text and JSON bodies (SPEC.md §5.4)', async (t) => {
  const port = await closedPort()
  const edge = await startEdge(t)
  await startAgent(t, edge, `http://127.0.0.1:${port}`)

  const text = await visit(edge.base, '/x')
  assertError(t, text, 502, 'BURROW_ERR_ORIGIN_UNREACHABLE')

  const json = await visit(edge.base, '/x', { headers: { accept: 'text/html, application/json;q=0.9' } })
  t.equal(json.status, 502)
  t.match(json.headers['content-type'], /^application\/json/)
  t.equal(json.headers['burrow-error'], 'BURROW_ERR_ORIGIN_UNREACHABLE')
  const body = JSON.parse(json.text)
  t.same(Object.keys(body), ['error'])
  t.equal(body.error.code, 'BURROW_ERR_ORIGIN_UNREACHABLE')
  t.equal(body.error.status, 502)
  t.equal(typeof body.error.message, 'string')
  t.ok(body.error.message.length > 0)
  t.equal(body.error.requestId, json.headers['burrow-request-id'])
  t.match(body.error.requestId, REQUEST_ID)

  const head = await visit(edge.base, '/x', { method: 'HEAD' })
  t.equal(head.status, 502)
  t.equal(head.headers['burrow-error'], 'BURROW_ERR_ORIGIN_UNREACHABLE')
  t.equal(head.body.length, 0, 'no body on HEAD')

  // Bring the origin up on that very port: the same tunnel serves it, nothing was torn down.
  const origin = http.createServer((_req, res) => res.end('back'))
  origin.listen(port, '127.0.0.1')
  await once(origin, 'listening')
  t.teardown(async () => { origin.closeAllConnections(); await new Promise<void>((resolve) => origin.close(() => resolve())) })
  const res = await visit(edge.base, '/ok')
  t.equal(res.status, 200)
  t.equal(res.text, 'back')
  t.equal(edge.edge.connectionCount, 1)
})

t.test('origin stalls: 504 BURROW_ERR_ORIGIN_TIMEOUT after the origin timeout (SPEC.md §5.4)', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/stall') return // never answers
    res.end('fine')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin, { originTimeoutMs: 300 })
  const started = performance.now()
  const res = await visit(edge.base, '/stall')
  const elapsed = performance.now() - started
  assertError(t, res, 504, 'BURROW_ERR_ORIGIN_TIMEOUT')
  t.ok(elapsed >= 300, `answered after the timeout (${Math.round(elapsed)} ms)`)
  t.ok(elapsed < 5_000, `answered well before 5 s (${Math.round(elapsed)} ms)`)
  t.equal(origin.received[0]!.url, '/stall', 'the request did reach the origin')
  await stillServes(t, edge)
})

t.test('unknown host: 404 BURROW_ERR_UNKNOWN_HOST and the origin sees nothing (SPEC.md §5.1)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await visit(edge.base, '/', { host: 'nobody.localhost' })
  assertError(t, res, 404, 'BURROW_ERR_UNKNOWN_HOST')
  const json = await visit(edge.base, '/', { host: 'nobody.localhost:9', headers: { accept: 'application/json' } })
  t.equal(JSON.parse(json.text).error.code, 'BURROW_ERR_UNKNOWN_HOST')
  t.equal(origin.received.length, 0, 'the origin saw nothing')
  await stillServes(t, edge)
})

t.test('a hostname whose agent went away: 503 BURROW_ERR_NO_TUNNEL, answered fast (SPEC.md §6)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  const gone = await startAgent(t, edge, origin, { hostnames: ['gone.localhost'] })
  await startAgent(t, edge, origin)
  t.equal((await visit(edge.base, '/', { host: 'gone.localhost' })).status, 200)
  await gone.close()
  await waitFor(() => edge.edge.connectionCount === 1, 3_000)
  const seen = origin.received.length
  const started = performance.now()
  const res = await visit(edge.base, '/', { host: 'gone.localhost' })
  const elapsed = performance.now() - started
  assertError(t, res, 503, 'BURROW_ERR_NO_TUNNEL')
  t.ok(elapsed < 1_000, `answered in ${Math.round(elapsed)} ms`)
  t.equal(origin.received.length, seen, 'nothing reached the origin')
  await stillServes(t, edge)
})

t.test('missing or garbage Host: 400 BURROW_ERR_BAD_REQUEST (SPEC.md §5.1)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const cases: Array<{ name: string, headers: Array<[string, string]>, version?: string }> = [
    { name: 'a space in Host', headers: [['Host', 'a b']] },
    { name: 'an IPv6 literal', headers: [['Host', '[::1]']] },
    { name: 'an IPv6 literal with port', headers: [['Host', '[::1]:8080']] },
    { name: 'an empty Host', headers: [['Host', '']] },
    { name: 'a non-numeric port', headers: [['Host', 'app.localhost:http']] },
    { name: 'userinfo', headers: [['Host', 'user@app.localhost']] },
    { name: 'only a port', headers: [['Host', ':8080']] },
    { name: 'no Host (HTTP/1.0)', headers: [], version: 'HTTP/1.0' },
  ]
  for (const c of cases) {
    const res = await rawRequest(edge.base, { path: '/', headers: c.headers, ...(c.version === undefined ? {} : { version: c.version }) })
    t.equal(res.status, 400, `${c.name}: 400`)
    t.equal(header(res, 'burrow-error'), 'BURROW_ERR_BAD_REQUEST', `${c.name}: code`)
    t.match(header(res, 'burrow-request-id'), REQUEST_ID, `${c.name}: request id`)
    t.ok(res.text.includes('BURROW_ERR_BAD_REQUEST'), `${c.name}: body names the code`)
  }
  t.equal(origin.received.length, 0, 'the origin saw nothing')
  await stillServes(t, edge)
})

t.test('HTTP/1.1 without any Host: 400 BURROW_ERR_BAD_REQUEST, not a bare 400 (SPEC.md §6.1)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await rawRequest(edge.base, { path: '/', headers: [['Accept', 'application/json']] })
  t.equal(res.status, 400)
  t.equal(header(res, 'burrow-error'), 'BURROW_ERR_BAD_REQUEST')
  const id = header(res, 'burrow-request-id')
  t.match(id, REQUEST_ID)
  t.same(JSON.parse(res.text), { error: { code: 'BURROW_ERR_BAD_REQUEST', message: JSON.parse(res.text).error.message, status: 400, requestId: id } })
  t.equal(origin.received.length, 0)
  await stillServes(t, edge)
})

/** A visitor request whose outcome is read defensively: did a complete response arrive? */
async function readOutcome (base: string, path: string, dispatcher: UndiciAgent): Promise<{ complete: boolean, status?: number, bytes?: number, error?: string }> {
  let status: number | undefined
  try {
    const res = await undiciRequest(base + path, { headers: { host: 'app.localhost' }, dispatcher })
    status = res.statusCode
    const body = Buffer.from(await res.body.arrayBuffer())
    return { complete: true, status, bytes: body.length }
  } catch (err) {
    return { complete: false, ...(status === undefined ? {} : { status }), error: (err as Error & { code?: string }).code ?? (err as Error).message }
  }
}

t.test('origin resets mid-body: the visitor sees an aborted response, never a complete one (SPEC.md §5.8)', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/cl' || req.url === '/chunked') {
      if (req.url === '/cl') res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' })
      else res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('x'.repeat(1000), () => { req.socket.destroy() })
      return
    }
    res.end('fine')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const dispatcher = new UndiciAgent({ connections: 4 })
  t.teardown(async () => { await dispatcher.close() })

  const cl = await readOutcome(edge.base, '/cl', dispatcher)
  t.equal(cl.complete, false, `content-length response aborted (${JSON.stringify(cl)})`)
  t.not(cl.bytes, 100000)

  // Without a Content-Length a short body could pass as complete if the edge ended it cleanly.
  const chunked = await readOutcome(edge.base, '/chunked', dispatcher)
  t.equal(chunked.complete, false, `chunked response aborted (${JSON.stringify(chunked)})`)

  // The raw view: the edge cut the visitor connection instead of finishing the message.
  const raw = await rawRequest(edge.base, { path: '/chunked', headers: [['Host', 'app.localhost']] })
  t.equal(raw.status, 200)
  t.equal(raw.complete, false, 'no terminating chunk')
  await stillServes(t, edge)
})

t.test('origin resets before headers: 502 BURROW_ERR_ORIGIN_RESET (SPEC.md §5.4)', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/reset') {
      req.socket.destroy()
      return
    }
    res.end('fine')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await visit(edge.base, '/reset')
  assertError(t, res, 502, 'BURROW_ERR_ORIGIN_RESET')
  const json = await visit(edge.base, '/reset', { headers: { accept: 'application/json' } })
  t.equal(JSON.parse(json.text).error.code, 'BURROW_ERR_ORIGIN_RESET')
  t.equal(JSON.parse(json.text).error.status, 502)
  await stillServes(t, edge)
})

t.test('origin sends an invalid response: 502 BURROW_ERR_ORIGIN_RESET', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/garbage') {
      req.socket.end('this is not HTTP\r\n\r\n')
      return
    }
    res.end('fine')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await visit(edge.base, '/garbage')
  assertError(t, res, 502, 'BURROW_ERR_ORIGIN_RESET')
  await stillServes(t, edge)
})

t.test('one failing request does not disturb others in flight on the same tunnel', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/reset') { req.socket.destroy(); return }
    if (req.url === '/stall') return
    setTimeout(() => res.end(`ok ${req.url}`), 20)
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin, { originTimeoutMs: 300 })
  const paths = ['/reset', '/stall', ...Array.from({ length: 30 }, (_, i) => `/n/${i}`)]
  const results = await Promise.all(paths.map(async (p) => await visit(edge.base, p)))
  t.equal(results[0]!.headers['burrow-error'], 'BURROW_ERR_ORIGIN_RESET')
  t.equal(results[1]!.headers['burrow-error'], 'BURROW_ERR_ORIGIN_TIMEOUT')
  for (let i = 2; i < paths.length; i++) {
    t.equal(results[i]!.status, 200)
    t.equal(results[i]!.text, `ok ${paths[i]!}`)
  }
  t.equal(edge.edge.connectionCount, 1)
})

t.test('header fields over the limit get 431 BURROW_ERR_HEADERS_TOO_LARGE; headers that never finish get 408 BURROW_ERR_REQUEST_TIMEOUT (SPEC.md §6.1)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t, { headersTimeoutMs: 400 })
  await startAgent(t, edge, origin)

  const big = await rawRequest(edge.base, { headers: [['Host', 'app.localhost'], ['X-Big', 'y'.repeat(20_000)]] })
  t.equal(big.status, 431)
  t.equal(header(big, 'burrow-error'), 'BURROW_ERR_HEADERS_TOO_LARGE')
  t.match(big.text, /BURROW_ERR_HEADERS_TOO_LARGE/)

  // A slowloris-style client: the request line and one header, then nothing.
  const socket = net.connect(edge.edge.publicAddress.port, '127.0.0.1')
  socket.write('GET / HTTP/1.1\r\nHost: app.localhost\r\n')
  const started = Date.now()
  let raw = ''
  socket.on('data', (c: Buffer) => { raw += c.toString() })
  await once(socket, 'close')
  t.match(raw, /^HTTP\/1\.1 408 /)
  t.match(raw, /burrow-error: BURROW_ERR_REQUEST_TIMEOUT/)
  t.ok(Date.now() - started < 3_000, `closed after ${Date.now() - started} ms`)

  t.equal(origin.received.length, 0, 'neither reached the origin')
  t.equal((await visit(edge.base, '/still-fine')).status, 200)
})

// Requests with a body take the agent's other origin path (node:http, head sent at once): the same
// failures must give the same answers there.

t.test('upload to an origin that refuses connections: 502 BURROW_ERR_ORIGIN_UNREACHABLE (SPEC.md §5.4)', async (t) => {
  const edge = await startEdge(t)
  await startAgent(t, edge, `http://127.0.0.1:${await closedPort()}`)
  const res = await visit(edge.base, '/upload', { method: 'POST', body: 'payload' })
  assertError(t, res, 502, 'BURROW_ERR_ORIGIN_UNREACHABLE')
})

t.test('upload to an origin that never answers: 504 BURROW_ERR_ORIGIN_TIMEOUT, and the tunnel still serves (SPEC.md §5.4)', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/stall') { req.resume(); return } // reads the body, never answers
    req.resume()
    req.on('end', () => res.end('fine'))
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin, { originTimeoutMs: 300 })
  const res = await visit(edge.base, '/stall', { method: 'PUT', body: 'x'.repeat(1000) })
  assertError(t, res, 504, 'BURROW_ERR_ORIGIN_TIMEOUT')
  const ok = await visit(edge.base, '/ok', { method: 'POST', body: 'again' })
  t.equal(ok.status, 200, 'the next upload is served')
  t.equal(ok.text, 'fine')
})

t.test('upload whose response the origin cuts mid-body: the visitor sees a broken response, never a short one that looks complete (SPEC.md §5.8)', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.url !== '/cut') { res.end('fine'); return }
      res.writeHead(200, { 'content-length': '1000' })
      res.write('x'.repeat(100))
      setTimeout(() => res.socket?.destroy(), 50)
    })
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const dispatcher = new UndiciAgent({ connections: 1 })
  t.teardown(async () => { await dispatcher.close() })
  const res = await undiciRequest(`${edge.base}/cut`, { method: 'POST', body: 'payload', headers: { host: 'app.localhost' }, dispatcher })
  t.equal(res.statusCode, 200, 'the response had started')
  await t.rejects(res.body.arrayBuffer(), 'reading the body fails: the cut is visible')
  await stillServes(t, edge)
})
