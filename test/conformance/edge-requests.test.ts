/**
 * Conformance of the edge, request streams and errors (SPEC.md §5, §6): visitors go through a real
 * edge to a scripted fake agent, which checks what the stream carries and scripts the answer.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { request as undiciRequest } from 'undici'
import { startEdge, visit, waitFor, type StartedEdge } from '../helpers/servers.js'
import { FakeAgent, H2, answerOk, credentials, resetStream, within, type RequestHandler } from './fake-agent.js'

async function registered (t: Test): Promise<{ edge: StartedEdge, fake: FakeAgent }> {
  const edge = await startEdge(t)
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  const answer = await fake.register()
  if (answer.msg !== 'registerAccepted') throw new Error(`registration failed: ${String(answer.msg)}`)
  return { edge, fake }
}

/** A hand-written HTTP/1.1 visitor request (undici refuses hop-by-hop request headers); reads until close. */
async function rawVisit (edge: StartedEdge, head: string, body = ''): Promise<{ status: number, head: string, body: string }> {
  const port = Number(new URL(edge.base).port)
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head + body))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    setTimeout(() => socket.destroy(new Error('no answer within 3 s')), 3_000).unref()
  })
  const split = text.indexOf('\r\n\r\n')
  return { status: Number(text.slice(9, 12)), head: text.slice(0, split), body: text.slice(split + 4) }
}

/** Collects a request stream's body. */
async function readAll (stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString()
}

t.test('§5.1 §5.3.3 a visitor request arrives as a stream with the pseudo-headers, x-forwarded-* and burrow-request-id', async (t) => {
  const { edge, fake } = await registered(t)
  let body = ''
  fake.onRequest = (stream) => {
    void readAll(stream).then((b) => {
      body = b
      stream.respond({ ':status': 200, 'burrow-response-source': 'origin' })
      stream.end('ok')
    })
  }
  const res = await visit(edge.base, '/api/items?limit=10', {
    method: 'POST',
    host: 'app.localhost:8080',
    headers: { 'content-type': 'application/json', accept: '*/*', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    body: '{"name":"widget"}',
  })
  t.equal(res.status, 200)
  const { headers } = fake.requests[0]!
  t.match(headers, {
    ':method': 'POST',
    ':scheme': 'http',
    ':authority': 'app.localhost:8080',
    ':path': '/api/items?limit=10',
    'content-type': 'application/json',
    accept: '*/*',
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'app.localhost:8080',
  })
  t.notOk(String(headers['x-forwarded-for']).includes('6.6.6.6'), 'the visitor copy of x-forwarded-for is replaced, not appended to')
  t.match(headers['burrow-request-id'], /^[0-9a-f]{32}$/)
  t.equal(res.headers['burrow-request-id'], headers['burrow-request-id'], '§5.6 the same id is returned to the visitor')
  t.equal(body, '{"name":"widget"}', 'the body arrives on the stream')
  t.ok(headers['burrow-stream-type'] === undefined || headers['burrow-stream-type'] === 'http', '§5.2 an HTTP stream: burrow-stream-type absent or http')
})

t.test('§5.3.1 the edge removes hop-by-hop, proxy-*, Host and visitor burrow-* headers, and keeps te: trailers', async (t) => {
  const { edge, fake } = await registered(t)
  const res = await rawVisit(edge, [
    'POST /h HTTP/1.1',
    'Host: app.localhost',
    'Connection: close, X-Secret',
    'X-Secret: listed-by-connection',
    'Keep-Alive: timeout=5',
    'Proxy-Connection: keep-alive',
    'Proxy-Authorization: Basic Zm9vOmJhcg==',
    'Proxy-Other: 1',
    'TE: trailers',
    'Upgrade: websocket',
    'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
    'Transfer-Encoding: chunked',
    'Burrow-Stream-Type: websocket',
    'Burrow-Request-Id: forged',
    'Burrow-Response-Source: agent',
    'X-Keep: yes',
    '', '',
  ].join('\r\n'), '3\r\nabc\r\n0\r\n\r\n')
  t.equal(res.status, 200)
  const { headers } = fake.requests[0]!
  for (const name of ['connection', 'x-secret', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-other', 'upgrade', 'http2-settings', 'transfer-encoding', 'host', 'burrow-response-source']) {
    t.equal(headers[name], undefined, `${name} removed`)
  }
  t.not(headers['burrow-stream-type'], 'websocket', 'a visitor cannot forge burrow-stream-type')
  t.match(headers['burrow-request-id'], /^[0-9a-f]{32}$/, 'a visitor cannot forge burrow-request-id')
  t.equal(headers.te, 'trailers', 'te: trailers is passed through')
  t.equal(headers['x-keep'], 'yes', 'end-to-end headers are kept')
  t.equal(headers[':authority'], 'app.localhost', 'Host became :authority')
})

t.test('§5.5 §5.6 the edge strips every burrow-* response header, adds burrow-request-id and keeps multi-value headers', async (t) => {
  const { edge, fake } = await registered(t)
  fake.onRequest = (stream) => {
    stream.respond({
      ':status': 202,
      'burrow-response-source': 'origin',
      'burrow-internal': 'secret',
      'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
      'x-origin': 'yes',
    })
    stream.end('accepted')
  }
  const res = await visit(edge.base, '/r')
  t.equal(res.status, 202)
  t.equal(res.text, 'accepted')
  t.equal(res.headers['x-origin'], 'yes')
  t.equal(res.headers['burrow-response-source'], undefined)
  t.equal(res.headers['burrow-internal'], undefined)
  t.same(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/'], 'set-cookie values kept separate')
  t.equal(res.headers['burrow-request-id'], fake.requests[0]!.headers['burrow-request-id'])
})

/** A fake answer as an agent error (SPEC.md §5.6). */
function agentError (code: string | undefined, status = 502): RequestHandler {
  return (stream) => {
    stream.respond({
      ':status': status,
      'content-type': 'text/plain',
      'burrow-response-source': 'agent',
      ...(code === undefined ? {} : { 'burrow-error': code }),
    })
    stream.end(`${code ?? 'none'}: agent text\n`)
  }
}

t.test('§5.6 §6.1 an agent error BURROW_ERR_ORIGIN_TIMEOUT becomes a 504 error response rendered by the edge', async (t) => {
  const { edge, fake } = await registered(t)
  fake.onRequest = agentError('BURROW_ERR_ORIGIN_TIMEOUT', 504)
  const res = await visit(edge.base, '/slow')
  t.equal(res.status, 504)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_ORIGIN_TIMEOUT')
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.headers['content-type'], /^text\/plain/)
  t.equal(res.headers['burrow-response-source'], undefined, 'burrow-response-source removed')
  const id = res.headers['burrow-request-id'] as string
  t.match(id, /^[0-9a-f]{32}$/)
  t.match(res.text, new RegExp(`^504 Gateway Timeout\\nBURROW_ERR_ORIGIN_TIMEOUT: [^\\n]+\\nrequest id: ${id}\\n$`), '§6.1 text body')
})

t.test('§6.1 with Accept: application/json the error body is JSON {error: {code, message, status, requestId}}', async (t) => {
  const { edge, fake } = await registered(t)
  fake.onRequest = agentError('BURROW_ERR_ORIGIN_TIMEOUT', 504)
  const res = await visit(edge.base, '/slow', { headers: { accept: 'text/html, application/json;q=0.9' } })
  t.equal(res.status, 504)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = JSON.parse(res.text)
  t.match(body, { error: { code: 'BURROW_ERR_ORIGIN_TIMEOUT', status: 504, requestId: res.headers['burrow-request-id'], message: String } })
})

t.test('§5.6 §6 agent error codes map to their registry status', async (t) => {
  const { edge, fake } = await registered(t)
  const cases: Array<[string, number]> = [
    ['BURROW_ERR_ORIGIN_UNREACHABLE', 502],
    ['BURROW_ERR_ORIGIN_RESET', 502],
    ['BURROW_ERR_UNSUPPORTED_STREAM', 501],
  ]
  for (const [code, status] of cases) {
    // The edge maps the code, not the agent's :status: send a misleading one.
    fake.onRequest = agentError(code, 418)
    const res = await visit(edge.base, '/x')
    t.equal(res.status, status, code)
    t.equal(res.headers['burrow-error'], code)
  }
})

t.test('§5.6 an agent error with an unknown code, or none, is treated as BURROW_ERR_INTERNAL (500)', async (t) => {
  const { edge, fake } = await registered(t)
  for (const code of ['BURROW_ERR_FROM_THE_FUTURE', undefined]) {
    fake.onRequest = agentError(code, 599)
    const res = await visit(edge.base, '/x')
    t.equal(res.status, 500, String(code))
    t.equal(res.headers['burrow-error'], 'BURROW_ERR_INTERNAL')
  }
})

t.test('§5.7 the response body streams: the visitor reads the first chunk before the agent finishes', async (t) => {
  const { edge, fake } = await registered(t)
  fake.onRequest = (stream) => {
    stream.respond({ ':status': 200, 'burrow-response-source': 'origin' })
    stream.write('first;')
  }
  const res = await undiciRequest(edge.base + '/stream', { headers: { host: 'app.localhost' } })
  const it = res.body[Symbol.asyncIterator]()
  const first = await within(it.next(), 3_000, 'first chunk')
  t.equal(Buffer.from(first.value as Buffer).toString(), 'first;', 'first chunk delivered while the stream is still open')
  fake.requests[0]!.stream.end('second')
  let rest = ''
  for (let r = await it.next(); r.done !== true; r = await it.next()) rest += Buffer.from(r.value as Buffer).toString()
  t.equal(rest, 'second')
})

t.test('§5.8 the agent resetting a stream after headers and part of the body aborts the visitor response', async (t) => {
  const { edge, fake } = await registered(t)
  fake.onRequest = (stream) => {
    stream.respond({ ':status': 200, 'burrow-response-source': 'origin', 'content-length': '100' })
    stream.write('partial body ')
    setImmediate(() => resetStream(stream))
  }
  const res = await rawVisit(edge, 'GET /broken HTTP/1.1\r\nHost: app.localhost\r\n\r\n')
  t.equal(res.status, 200, 'the response had started')
  t.equal(res.body, 'partial body ', 'the visitor got only the part that was sent')
  t.ok(res.body.length < 100, 'and the connection was closed short of content-length: the truncation is visible')
  await t.rejects(visit(edge.base, '/broken'), 'an HTTP client sees an error, not a complete response')
})

t.test('§5.8 a chunked response reset by the agent is aborted, not ended cleanly', async (t) => {
  const { edge, fake } = await registered(t)
  fake.onRequest = (stream) => {
    stream.respond({ ':status': 200, 'burrow-response-source': 'origin' })
    stream.write('partial body ')
    setImmediate(() => resetStream(stream))
  }
  const res = await rawVisit(edge, 'GET /broken HTTP/1.1\r\nHost: app.localhost\r\n\r\n')
  t.equal(res.status, 200)
  t.notOk(res.body.endsWith('0\r\n\r\n'), 'no terminating chunk: the visitor cannot mistake it for a complete body')
  await t.rejects(visit(edge.base, '/broken'), 'an HTTP client sees an error, not a complete response')
})

t.test('§5.8 a tunnel failure before response headers gives the visitor 502 BURROW_ERR_TUNNEL_LOST', async (t) => {
  const { edge, fake } = await registered(t)
  fake.onRequest = () => { setImmediate(() => fake.destroy()) }
  const res = await visit(edge.base, '/lost')
  t.equal(res.status, 502)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_TUNNEL_LOST')
})

t.test('§5.8 the visitor disconnecting mid-response makes the edge reset the stream with CANCEL', async (t) => {
  const { edge, fake } = await registered(t)
  fake.onRequest = (stream) => {
    stream.respond({ ':status': 200, 'burrow-response-source': 'origin' })
    stream.write('chunk-1')
  }
  const port = Number(new URL(edge.base).port)
  const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /long HTTP/1.1\r\nHost: app.localhost\r\n\r\n'))
  socket.on('error', () => {})
  t.teardown(() => { socket.destroy() })
  await within(new Promise<void>((resolve) => {
    let seen = ''
    socket.on('data', (c: Buffer) => { seen += c.toString(); if (seen.includes('chunk-1')) resolve() })
  }), 3_000, 'first chunk')
  const { stream } = await fake.nextRequest()
  const closed = new Promise<number | undefined>((resolve) => stream.once('close', () => resolve(stream.rstCode)))
  socket.destroy()
  t.equal(await within(closed, 3_000, 'stream reset'), H2.CANCEL, 'RST_STREAM CANCEL')
  t.equal(fake.goawayCode, undefined, 'only the stream is cancelled, not the tunnel')
  fake.onRequest = answerOk
  t.equal((await visit(edge.base, '/after')).status, 200, 'the tunnel keeps serving')
})

t.test('§5.8 a visitor disconnecting mid-upload: the agent sees RST_STREAM CANCEL, not a complete request body', async (t) => {
  const { edge, fake } = await registered(t)
  const events: string[] = []
  fake.onRequest = (stream) => {
    stream.on('data', (c: Buffer) => events.push(`data:${c.toString()}`))
    // Node also emits 'end' after a RST_STREAM; rstCode tells a real END_STREAM (0) from a reset.
    stream.on('end', () => events.push(`end rst=${stream.rstCode}`))
  }
  const port = Number(new URL(edge.base).port)
  const socket = net.connect(port, '127.0.0.1', () => {
    socket.write('POST /upload HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
  })
  socket.on('error', () => {})
  t.teardown(() => { socket.destroy() })
  const { stream } = await fake.nextRequest()
  await waitFor(() => events.includes('data:hello'), 3_000)
  const closed = new Promise<number | undefined>((resolve) => stream.once('close', () => resolve(stream.rstCode)))
  socket.destroy()
  t.equal(await within(closed, 3_000, 'stream reset'), H2.CANCEL, 'RST_STREAM CANCEL')
  t.notOk(events.includes('end rst=0'), `no END_STREAM before the reset: a truncated upload never looks complete (${events.join(', ')})`)
})

t.test('§5.1 §6 a Host that names no tunnel gets 404 UNKNOWN_HOST; no Host gets 400 BAD_REQUEST', async (t) => {
  const { edge } = await registered(t)
  const unknown = await visit(edge.base, '/', { host: 'nobody.localhost' })
  t.equal(unknown.status, 404)
  t.equal(unknown.headers['burrow-error'], 'BURROW_ERR_UNKNOWN_HOST')
  const noHost = await rawVisit(edge, 'GET / HTTP/1.0\r\n\r\n')
  t.equal(noHost.status, 400)
  t.match(noHost.head.toLowerCase(), /burrow-error: burrow_err_bad_request/)
})

t.test('§5.1 a hostname whose only connection went away gets 503 NO_TUNNEL', async (t) => {
  const { edge, fake } = await registered(t)
  fake.destroy()
  await waitFor(() => edge.edge.connectionCount === 0, 2_000)
  const res = await visit(edge.base, '/')
  t.equal(res.status, 503)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')
})

t.test('§5.9 the edge runs at most the agent\'s MAX_CONCURRENT_STREAMS - 1 request streams, queues a bounded number more, then answers 503 TUNNEL_BUSY', async (t) => {
  const edge = await startEdge(t, { queueLimit: 2 })
  const held: Array<() => void> = []
  // 3 streams: the control stream and 2 request streams. Requests are held until released.
  const fake = await FakeAgent.connect(t, {
    ...await credentials(edge),
    maxConcurrentStreams: 3,
    onRequest: (stream) => { held.push(() => answerOk(stream, {})) },
  })
  const answer = await fake.register()
  t.equal(answer.msg, 'registerAccepted')
  // Four requests: two become streams at the agent, two wait in the edge's queue.
  const first = [0, 1, 2, 3].map(async (i) => await visit(edge.base, `/held/${i}`))
  await waitFor(() => held.length === 2)
  await waitFor(() => edge.edge.registry.list()[0]?.connections[0]?.inflight === 4)
  t.equal(fake.requests.length, 2, 'only two streams reached the agent')
  // The fifth finds the queue full.
  const busy = await visit(edge.base, '/one-too-many')
  t.equal(busy.status, 503)
  t.equal(busy.headers['burrow-error'], 'BURROW_ERR_TUNNEL_BUSY')
  t.equal(fake.requests.length, 2, 'the rejected request never reached the agent')
  // Releasing the held streams lets the queued requests through, and all four succeed.
  await waitFor(() => {
    for (const release of held.splice(0)) release()
    return fake.requests.length === 4 && held.length === 0
  })
  const results = await within(Promise.all(first), 5_000, 'queued requests')
  t.same(results.map((r) => r.status), [200, 200, 200, 200])
  t.same(fake.requests.map((r) => r.headers[':path']).sort(), ['/held/0', '/held/1', '/held/2', '/held/3'])
})
