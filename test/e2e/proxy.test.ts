/**
 * End-to-end request forwarding through a real edge and agent (SPEC.md §5): what the origin
 * receives, what the visitor gets back, header hygiene in both directions.
 */
import t from 'tap'
import { startOrigin, startEdge, startAgent, visit, type Received } from '../helpers/servers.js'
import { rawRequest, header, headerValues } from '../helpers/raw-http.js'

const REQUEST_ID = /^[0-9a-f]{32}$/

/** Every value of a header in the origin's raw header list (case-insensitive name). */
function rawValues (r: Received, name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    if (r.rawHeaders[i]!.toLowerCase() === name) out.push(r.rawHeaders[i + 1]!)
  }
  return out
}

/** Lower-cased header names the origin received. */
function rawNames (r: Received): string[] {
  const out: string[] = []
  for (let i = 0; i < r.rawHeaders.length; i += 2) out.push(r.rawHeaders[i]!.toLowerCase())
  return out
}

t.test('a GET keeps its method, path and query (SPEC.md §5.4)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await visit(edge.base, '/a/b%20c?x=1&y=two&x=3')
  t.equal(res.status, 200)
  t.equal(origin.received.length, 1)
  t.equal(origin.received[0]!.method, 'GET')
  t.equal(origin.received[0]!.url, '/a/b%20c?x=1&y=two&x=3')
  t.equal(origin.received[0]!.body.length, 0)
  t.equal(JSON.parse(res.text).url, '/a/b%20c?x=1&y=two&x=3')
})

t.test('a POST body reaches the origin byte for byte and the echo comes back', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const body = JSON.stringify({ hello: 'wörld', n: [1, 2, 3] }) + 'x'.repeat(10_000)
  const res = await visit(edge.base, '/items?limit=10', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  t.equal(res.status, 200)
  const got = origin.received[0]!
  t.equal(got.method, 'POST')
  t.equal(got.url, '/items?limit=10')
  t.equal(got.body.toString(), body)
  t.equal(got.headers['content-type'], 'application/json')
  t.equal(JSON.parse(res.text).body, body)
  t.equal(res.headers['content-type'], 'application/json')
})

t.test('two x-multi request fields both reach the origin, in order', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await rawRequest(edge.base, {
    headers: [['Host', 'app.localhost'], ['X-Multi', 'one'], ['X-Other', 'z'], ['X-Multi', 'two'], ['Connection', 'close']],
  })
  t.equal(res.status, 200)
  const got = origin.received[0]!
  // Either two fields or one correctly joined value carries both, in order.
  t.equal(rawValues(got, 'x-multi').join(', '), 'one, two')
  t.equal(got.headers['x-multi'], 'one, two')
  t.equal(got.headers['x-other'], 'z')
})

t.test('the origin\'s multi-value Set-Cookie arrives as separate Set-Cookie headers (SPEC.md §5.5)', async (t) => {
  const origin = await startOrigin(t, (_req, res) => {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly', 'c=3, with comma; Expires=Wed, 21 Oct 2015 07:28:00 GMT'])
    res.end('ok')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await rawRequest(edge.base, { headers: [['Host', 'app.localhost']] })
  t.equal(res.status, 200)
  t.equal(res.text, 'ok')
  t.same(headerValues(res, 'set-cookie'), ['a=1; Path=/', 'b=2; HttpOnly', 'c=3, with comma; Expires=Wed, 21 Oct 2015 07:28:00 GMT'])
  const viaUndici = await visit(edge.base, '/')
  t.same(viaUndici.headers['set-cookie'], ['a=1; Path=/', 'b=2; HttpOnly', 'c=3, with comma; Expires=Wed, 21 Oct 2015 07:28:00 GMT'])
})

t.test('hop-by-hop request headers are stripped before the origin (SPEC.md §5.3.1, §5.4)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await rawRequest(edge.base, {
    headers: [
      ['Host', 'app.localhost'],
      ['Connection', 'x-hop, X-Other-Hop'],
      ['X-Hop', '1'],
      ['x-other-hop', '2'],
      ['Keep-Alive', 'timeout=99, max=7'],
      ['Proxy-Authorization', 'Basic c2VjcmV0'],
      ['Proxy-Connection', 'keep-alive'],
      ['Proxy-Foo', 'bar'],
      ['TE', 'gzip'],
      ['Upgrade', 'h2c'],
      ['HTTP2-Settings', 'AAMAAABkAAQAAP__'],
      ['X-Kept', 'yes'],
    ],
  })
  t.equal(res.status, 200)
  t.equal(origin.received.length, 1)
  const got = origin.received[0]!
  const names = rawNames(got)
  for (const name of ['x-hop', 'x-other-hop', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'proxy-foo', 'te', 'upgrade', 'http2-settings']) {
    t.notOk(names.includes(name), `${name} did not reach the origin`)
  }
  // The agent's own HTTP/1.1 connection may say keep-alive; nothing the visitor listed survives.
  for (const value of rawValues(got, 'connection')) t.equal(value.toLowerCase(), 'keep-alive')
  t.equal(got.headers['x-kept'], 'yes')
})

t.test('te: trailers is passed through to the origin (SPEC.md §5.10)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await rawRequest(edge.base, { headers: [['Host', 'app.localhost'], ['TE', 'trailers']] })
  t.equal(res.status, 200)
  t.same(rawValues(origin.received[0]!, 'te'), ['trailers'])
})

t.test('X-Forwarded-* are set by the edge; a forged X-Forwarded-For is replaced (SPEC.md §5.3.3)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const port = edge.edge.publicAddress.port
  const res = await rawRequest(edge.base, {
    headers: [
      ['Host', `app.localhost:${port}`],
      ['X-Forwarded-For', '6.6.6.6'],
      ['X-Forwarded-For', '7.7.7.7, 8.8.8.8'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Host', 'evil.example'],
    ],
  })
  t.equal(res.status, 200)
  const got = origin.received[0]!
  t.same(rawValues(got, 'x-forwarded-for'), ['127.0.0.1'])
  t.same(rawValues(got, 'x-forwarded-proto'), ['http'])
  t.same(rawValues(got, 'x-forwarded-host'), [`app.localhost:${port}`])
  t.equal(got.headers.host, `app.localhost:${port}`)
})

t.test('burrow-request-id: 32 hex, the same at origin and visitor, unique per request (SPEC.md §5.3.3)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const ids = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const res = await visit(edge.base, `/r/${i}`)
    t.equal(res.status, 200)
    const id = res.headers['burrow-request-id']
    t.match(id, REQUEST_ID)
    const got = origin.received[i]!
    t.equal(got.url, `/r/${i}`)
    t.same(rawValues(got, 'burrow-request-id'), [id], 'the origin got the same id, once')
    ids.add(id as string)
  }
  t.equal(ids.size, 20, 'every request got its own id')
})

t.test('visitor-forged burrow-* headers never reach the origin (SPEC.md §5.3.1)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const forgedId = 'f'.repeat(32)
  const res = await rawRequest(edge.base, {
    headers: [
      ['Host', 'app.localhost'],
      ['Burrow-Request-Id', forgedId],
      ['burrow-error', 'BURROW_ERR_INTERNAL'],
      ['burrow-response-source', 'agent'],
      ['Burrow-Stream-Type', 'control'],
      ['burrow-anything', 'x'],
    ],
  })
  t.equal(res.status, 200, 'a forged stream type does not derail the request')
  const got = origin.received[0]!
  const burrowNames = rawNames(got).filter((n) => n.startsWith('burrow-'))
  t.same(burrowNames, ['burrow-request-id'], 'only the edge\'s own request id')
  const id = rawValues(got, 'burrow-request-id')[0]
  t.not(id, forgedId)
  t.match(id, REQUEST_ID)
  t.same(headerValues(res, 'burrow-request-id'), [id!])
  t.equal(header(res, 'burrow-error'), undefined)
})

t.test('hop-by-hop headers in the origin\'s response do not reach the visitor (SPEC.md §5.5)', async (t) => {
  const origin = await startOrigin(t, (_req, res) => {
    res.writeHead(200, [
      ['Connection', 'x-secret, X-Also-Secret'],
      ['x-secret', '1'],
      ['x-also-secret', '2'],
      ['Keep-Alive', 'timeout=99, max=7'],
      ['Proxy-Connection', 'keep-alive'],
      ['burrow-error', 'BURROW_ERR_INTERNAL'],
      ['burrow-request-id', 'forged-by-origin'],
      ['x-public', 'yes'],
      ['content-type', 'text/plain'],
    ].flat())
    res.end('body')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await rawRequest(edge.base, { headers: [['Host', 'app.localhost']] })
  t.equal(res.status, 200)
  t.equal(res.text, 'body')
  t.equal(header(res, 'x-public'), 'yes')
  t.equal(header(res, 'x-secret'), undefined)
  t.equal(header(res, 'x-also-secret'), undefined)
  t.equal(header(res, 'proxy-connection'), undefined)
  t.equal(header(res, 'burrow-error'), undefined, 'an origin cannot forge a Burrow error')
  t.match(headerValues(res, 'burrow-request-id'), [REQUEST_ID], 'exactly one id, the edge\'s')
  // The edge's own HTTP/1.1 server may add its Connection / Keep-Alive; the origin's never pass.
  for (const v of headerValues(res, 'connection')) t.notMatch(v, /secret/i)
  for (const v of headerValues(res, 'keep-alive')) t.notMatch(v, /max=7|timeout=99/)
})

t.test('HEAD returns the headers without a body', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11', 'x-method': req.method })
    res.end(req.method === 'HEAD' ? undefined : 'hello world')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const head = await visit(edge.base, '/h', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers['content-length'], '11')
  t.equal(head.headers['x-method'], 'HEAD')
  t.equal(head.body.length, 0)
  t.equal(origin.received[0]!.method, 'HEAD')
  // The keep-alive visitor connection is still in sync afterwards.
  const get = await visit(edge.base, '/h')
  t.equal(get.status, 200)
  t.equal(get.text, 'hello world')
})

t.test('204 and 304 responses pass through without a body', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/204') {
      res.writeHead(204, { 'x-kind': 'no-content' })
      res.end()
    } else if (req.url === '/304') {
      res.writeHead(304, { etag: '"v1"' })
      res.end()
    } else {
      res.end('after')
    }
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const r204 = await visit(edge.base, '/204', { method: 'DELETE' })
  t.equal(r204.status, 204)
  t.equal(r204.headers['x-kind'], 'no-content')
  t.equal(r204.body.length, 0)
  const r304 = await visit(edge.base, '/304', { headers: { 'if-none-match': '"v1"' } })
  t.equal(r304.status, 304)
  t.equal(r304.headers.etag, '"v1"')
  t.equal(r304.body.length, 0)
  t.equal(origin.received[1]!.headers['if-none-match'], '"v1"')
  const after = await visit(edge.base, '/after')
  t.equal(after.status, 200)
  t.equal(after.text, 'after')
})

t.test('a Host with upper case, a port and a trailing dot routes to its hostname (SPEC.md §5.1)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await visit(edge.base, '/case', { host: 'APP.localhost.:8080' })
  t.equal(res.status, 200)
  t.equal(origin.received.length, 1)
  t.equal(origin.received[0]!.url, '/case')
  t.equal(origin.received[0]!.headers['x-forwarded-host'], 'APP.localhost.:8080')
  const raw = await rawRequest(edge.base, { path: '/raw', headers: [['Host', 'App.LocalHost']] })
  t.equal(raw.status, 200)
  t.equal(origin.received[1]!.url, '/raw')
})

t.test('an ambiguous request, a single-value field given twice with different values, is refused with 400 and never reaches the origin (SPEC.md §5.3.2)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const cases: Array<Array<[string, string]>> = [
    [['Host', 'app.localhost'], ['Host', 'other.localhost']],
    [['Host', 'app.localhost'], ['User-Agent', 'a'], ['User-Agent', 'b']],
    [['Host', 'app.localhost'], ['Authorization', 'Bearer a'], ['Authorization', 'Bearer b']],
  ]
  for (const headers of cases) {
    const res = await rawRequest(edge.base, { headers })
    t.equal(res.status, 400, headers.map(([n, v]) => `${n}: ${v}`).join(', '))
    t.equal(header(res, 'burrow-error'), 'BURROW_ERR_BAD_REQUEST')
    t.match(header(res, 'burrow-request-id'), REQUEST_ID)
  }
  t.equal(origin.received.length, 0, 'the origin saw none of them')
  // Repeating a list-valued field is fine, and the tunnel is unharmed.
  const ok = await rawRequest(edge.base, { headers: [['Host', 'app.localhost'], ['Accept', 'text/plain'], ['Accept', 'text/html']] })
  t.equal(ok.status, 200)
  t.same(rawValues(origin.received[0]!, 'accept').join(', '), 'text/plain, text/html')
})

t.test('repeated origin response fields reach the visitor as separate lines; a repeated single-value field keeps the first (SPEC.md §5.5)', async (t) => {
  const origin = await startOrigin(t, (_req, res) => {
    res.writeHead(200, [
      'Link', '</a.css>; rel=preload',
      'Link', '</b.js>; rel=preload',
      'Content-Type', 'text/plain',
      'Content-Type', 'text/html',
      'Vary', 'Accept',
      'Vary', 'Origin',
    ])
    res.end('ok')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await rawRequest(edge.base, { headers: [['Host', 'app.localhost']] })
  t.equal(res.status, 200)
  t.same(headerValues(res, 'link'), ['</a.css>; rel=preload', '</b.js>; rel=preload'])
  t.same(headerValues(res, 'vary'), ['Accept', 'Origin'])
  t.same(headerValues(res, 'content-type'), ['text/plain'])
  t.equal(res.text, 'ok')
})

t.test('a request Node cannot parse (Content-Length with Transfer-Encoding) gets a coded 400 and the connection closes (SPEC.md §6.1)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await rawRequest(edge.base, {
    method: 'POST',
    headers: [['Host', 'app.localhost'], ['Content-Length', '3'], ['Transfer-Encoding', 'chunked']],
    body: '3\r\nabc\r\n0\r\n\r\n',
  })
  t.equal(res.status, 400)
  t.equal(header(res, 'burrow-error'), 'BURROW_ERR_BAD_REQUEST')
  t.equal(header(res, 'cache-control'), 'no-store')
  t.match(res.text, /BURROW_ERR_BAD_REQUEST/)
  t.equal(origin.received.length, 0)
})

t.test('an absolute-form target naming the same tunnel is forwarded in origin-form; one naming another host, or "*", is refused with 400 (SPEC.md §5.1)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const same = await rawRequest(edge.base, { path: 'http://APP.localhost:8080/abs?q=1', headers: [['Host', 'app.localhost']] })
  t.equal(same.status, 200)
  t.equal(origin.received.at(-1)?.url, '/abs?q=1', 'the origin got origin-form')
  const before = origin.received.length
  for (const path of ['http://other.localhost/x', 'http://user@app.localhost/x', '*']) {
    const res = await rawRequest(edge.base, { method: path === '*' ? 'OPTIONS' : 'GET', path, headers: [['Host', 'app.localhost']] })
    t.equal(res.status, 400, path)
    t.equal(header(res, 'burrow-error'), 'BURROW_ERR_BAD_REQUEST', path)
  }
  t.equal(origin.received.length, before, 'none of the refused requests reached the origin')
})
