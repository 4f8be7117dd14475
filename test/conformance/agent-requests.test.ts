/**
 * Conformance of the agent, request streams (SPEC.md §5): a scripted fake edge opens request
 * streams on a real agent, whose origin records what arrives.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { addAbortSignal } from 'node:stream'
import type { AddressInfo } from 'node:net'
import { startOrigin, waitFor, type Handler } from '../helpers/servers.js'
import { H2, within } from './fake-agent.js'
import { FakeEdge, registeredAgent, type FakeEdgeConnection } from './fake-edge.js'
import type { Agent } from '../../src/agent/agent.js'

async function setup (t: Test, handler?: Handler, options: { originTimeoutMs?: number } = {}): Promise<{ conn: FakeEdgeConnection, origin: Awaited<ReturnType<typeof startOrigin>>, agent: Agent }> {
  const origin = await startOrigin(t, handler)
  const edge = await FakeEdge.start(t)
  const { conn, agent } = await registeredAgent(t, edge, origin.url, options)
  return { conn, origin, agent }
}

/** A URL nothing listens on. */
async function deadOrigin (): Promise<string> {
  const server = http.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

t.test('§5.4 a request stream reaches the origin with Host = :authority, the method, path, headers and body', async (t) => {
  const { conn, origin } = await setup(t)
  const req = conn.request({
    ':method': 'POST',
    ':path': '/api/items?limit=10',
    ':authority': 'app.localhost:8080',
    'burrow-stream-type': 'http',
    'content-type': 'application/json',
    'content-length': '17',
    accept: '*/*',
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'app.localhost:8080',
    'burrow-request-id': '9f3b6c1e0a7d4e2f8b5c3a1d6e9f0b24',
  }, '{"name":"widget"}')
  const res = await req.response
  t.equal(res[':status'], 200)
  await req.done
  const seen = origin.received[0]!
  t.equal(seen.method, 'POST')
  t.equal(seen.url, '/api/items?limit=10')
  t.equal(seen.headers.host, 'app.localhost:8080', 'Host = :authority')
  t.match(seen.headers, {
    'content-type': 'application/json',
    accept: '*/*',
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'app.localhost:8080',
    'burrow-request-id': '9f3b6c1e0a7d4e2f8b5c3a1d6e9f0b24',
  })
  t.equal(seen.body.toString(), '{"name":"widget"}')
})

t.test('§5.4 hop-by-hop headers on the stream are not forwarded to the origin; te: trailers is', async (t) => {
  // HTTP/2 itself forbids Connection, Keep-Alive, Transfer-Encoding, Upgrade and TE other than
  // "trailers" on a stream (node:http2 refuses to send them), so proxy-* are the ones left to test.
  const { conn, origin } = await setup(t)
  const req = conn.request({
    ':path': '/h',
    'proxy-authorization': 'Basic Zm9vOmJhcg==',
    'proxy-other': '1',
    te: 'trailers',
    'x-keep': 'yes',
  })
  await req.done
  const seen = origin.received[0]!
  t.equal(seen.headers['proxy-authorization'], undefined)
  t.equal(seen.headers['proxy-other'], undefined)
  t.equal(seen.headers['x-keep'], 'yes')
  t.equal(seen.headers.te, 'trailers', '§5.3.1 §5.10 only TE other than "trailers" is hop-by-hop')
})

t.test('§5.5 the response carries the origin status, headers and body, with burrow-response-source: origin', async (t) => {
  const { conn } = await setup(t, (_req, res) => {
    res.statusCode = 207
    res.setHeader('x-origin', 'yes')
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/'])
    res.setHeader('burrow-response-source', 'agent') // an origin cannot pose as the agent
    res.setHeader('connection', 'x-hop')
    res.setHeader('x-hop', 'listed by Connection')
    res.setHeader('keep-alive', 'timeout=5')
    res.setHeader('proxy-thing', '1')
    res.end('multi-status')
  })
  const req = conn.request({ ':path': '/r' })
  const res = await req.response
  const { body, ended } = await req.done
  t.equal(res[':status'], 207)
  t.equal(res['burrow-response-source'], 'origin', 'replaced, not passed through')
  t.equal(res['x-origin'], 'yes')
  t.same(res['set-cookie'], ['a=1; Path=/', 'b=2; Path=/'], 'set-cookie kept as separate values')
  for (const name of ['connection', 'x-hop', 'keep-alive', 'proxy-thing', 'transfer-encoding']) {
    t.equal(res[name], undefined, `${name} removed`)
  }
  t.equal(body.toString(), 'multi-status')
  t.equal(ended, true)
})

t.test('§5.2 an absent burrow-stream-type is an HTTP request', async (t) => {
  const { conn, origin } = await setup(t)
  const req = conn.request({ ':path': '/plain' })
  t.equal((await req.response)['burrow-response-source'], 'origin')
  await req.done
  t.equal(origin.received.length, 1)
})

t.test('§5.2 burrow-stream-type websocket, tcp or unknown gets 501 UNSUPPORTED_STREAM from the agent', async (t) => {
  const { conn, origin } = await setup(t)
  for (const type of ['websocket', 'tcp', 'carrier-pigeon']) {
    const req = conn.request({ ':path': '/ws', 'burrow-stream-type': type })
    const res = await req.response
    t.equal(res[':status'], 501, type)
    t.equal(res['burrow-response-source'], 'agent')
    t.equal(res['burrow-error'], 'BURROW_ERR_UNSUPPORTED_STREAM')
    await req.done
  }
  t.equal(origin.received.length, 0, 'the origin was never contacted')
})

t.test('§5.4 §5.6 an unreachable origin gives an agent error 502 BURROW_ERR_ORIGIN_UNREACHABLE', async (t) => {
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, await deadOrigin())
  const req = conn.request({ ':path': '/' })
  const res = await req.response
  const { body } = await req.done
  t.equal(res[':status'], 502)
  t.equal(res['burrow-response-source'], 'agent')
  t.equal(res['burrow-error'], 'BURROW_ERR_ORIGIN_UNREACHABLE')
  t.match(res['content-type'], /^text\/plain/)
  t.ok(body.length > 0, 'a short text body')
})

t.test('§5.4 an origin that sends no headers within the origin timeout gives 504 BURROW_ERR_ORIGIN_TIMEOUT', async (t) => {
  const { conn } = await setup(t, () => { /* never answers */ }, { originTimeoutMs: 200 })
  const req = conn.request({ ':path': '/stall' })
  const res = await req.response
  t.equal(res[':status'], 504)
  t.equal(res['burrow-response-source'], 'agent')
  t.equal(res['burrow-error'], 'BURROW_ERR_ORIGIN_TIMEOUT')
})

t.test('§5.4 an origin closing the connection before the response gives 502 BURROW_ERR_ORIGIN_RESET', async (t) => {
  const { conn } = await setup(t, (req) => { req.socket.destroy() })
  const req = conn.request({ ':path': '/reset' })
  const res = await req.response
  t.equal(res[':status'], 502)
  t.equal(res['burrow-response-source'], 'agent')
  t.equal(res['burrow-error'], 'BURROW_ERR_ORIGIN_RESET')
})

t.test('§5.7 the response body streams: the edge gets the first chunk before the origin finishes', async (t) => {
  let finish: (() => void) | undefined
  const { conn } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('first;')
    finish = () => res.end('second')
  })
  const req = conn.request({ ':path': '/stream' })
  await req.response
  const first = await within(new Promise<Buffer>((resolve) => req.stream.once('data', resolve)), 3_000, 'first chunk')
  t.equal(first.toString(), 'first;')
  finish!()
  const { ended } = await req.done
  t.equal(ended, true)
})

t.test('§5.8 the origin failing after the response started: the agent resets the stream with INTERNAL_ERROR', async (t) => {
  const { conn } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('partial')
    setTimeout(() => res.socket?.destroy(), 20)
  })
  const req = conn.request({ ':path': '/broken' })
  t.equal((await req.response)[':status'], 200)
  const result = await within(req.done, 3_000, 'stream close')
  t.equal(result.body.toString(), 'partial')
  t.equal(result.ended, false, 'no END_STREAM: the truncated body must not look complete')
  t.equal(result.rstCode, H2.INTERNAL_ERROR, 'RST_STREAM INTERNAL_ERROR')
})

t.test('§5.8 the edge cancelling a stream (RST_STREAM CANCEL) makes the agent abort the origin request', async (t) => {
  let originClosed = false
  const { conn, origin } = await setup(t, (req, res) => {
    res.once('close', () => { originClosed = !res.writableFinished })
    req.resume()
  })
  const req = conn.request({ ':method': 'POST', ':path': '/upload' })
  req.stream.write('part of an upload')
  await waitFor(() => origin.received.length === 1, 3_000)
  // RST_STREAM CANCEL alone: node:http2 maps a destroy by AbortError to CANCEL.
  const ac = new AbortController()
  addAbortSignal(ac.signal, req.stream)
  ac.abort()
  t.equal((await req.done).rstCode, H2.CANCEL)
  await waitFor(() => originClosed, 3_000)
  t.ok(originClosed, 'the origin saw its request aborted before any response')
})
