/**
 * The agent's readiness endpoint (HA: /ready) on its own, with a fake status: 200/503 following the
 * status, the JSON body and headers, HEAD, 404 for other paths, 405 for other methods, the fallback
 * ports when the port is taken, and an idempotent close() that also ends kept-alive connections.
 */
import t from 'tap'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { startReadyServer, type ReadyServer, type ReadyStatus } from '../../src/agent/ready-server.js'
import type { T } from '../helpers/servers.js'

interface Reply { status: number, headers: http.IncomingHttpHeaders, text: string }

/** One request on a fresh connection (no keep-alive pool between tests). */
async function request (port: number, path: string, method = 'GET', agent: http.Agent | false = false): Promise<Reply> {
  return await new Promise<Reply>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end()
  })
}

async function ready (t: T, options: { port?: number, fallbackPorts?: number[], status?: () => ReadyStatus } = {}): Promise<ReadyServer> {
  const server = await startReadyServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
    ...(options.fallbackPorts === undefined ? {} : { fallbackPorts: options.fallbackPorts }),
    status: options.status ?? (() => ({ agentId: 'a1', ready: true, readyConnections: 1, connections: [{}] })),
  })
  t.teardown(server.close)
  return server
}

/** A port that was free a moment ago. */
async function freePort (): Promise<number> {
  const probe = net.createServer()
  probe.listen({ host: '127.0.0.1', port: 0 })
  await once(probe, 'listening')
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

/** A plain TCP server holding a port, so the readiness server finds it taken. */
async function occupy (t: T, port = 0): Promise<number> {
  const blocker = net.createServer()
  blocker.listen({ host: '127.0.0.1', port })
  await once(blocker, 'listening')
  t.teardown(async () => { await new Promise<void>((resolve) => blocker.close(() => resolve())) })
  return (blocker.address() as AddressInfo).port
}

t.test('HA /ready: 200 while the status is ready, 503 when it is not, following the status on every request', async (t) => {
  const connections = [{ index: 0 }, { index: 1 }, { index: 2 }]
  let current: ReadyStatus = { agentId: 'agent-7', ready: false, readyConnections: 0, connections }
  const server = await ready(t, { status: () => current })
  t.equal(server.address.host, '127.0.0.1')
  t.ok(server.address.port > 0, 'bound to a real port')
  t.equal(server.url, `http://127.0.0.1:${server.address.port}/ready`)

  const connecting = await request(server.address.port, '/ready')
  t.equal(connecting.status, 503, 'not ready: 503')
  t.same(JSON.parse(connecting.text), { status: 'not-ready', readyConnections: 0, connections: 3, agentId: 'agent-7' })
  t.equal(connecting.headers['content-type'], 'application/json')
  t.equal(connecting.headers['cache-control'], 'no-store')

  current = { agentId: 'agent-7', ready: true, readyConnections: 2, connections }
  const up = await request(server.address.port, '/ready')
  t.equal(up.status, 200, 'ready: 200')
  t.equal(up.text, '{"status":"ready","readyConnections":2,"connections":3,"agentId":"agent-7"}', 'the body, field for field')
  t.equal(up.headers['content-type'], 'application/json')
  t.equal(up.headers['cache-control'], 'no-store')
  t.equal(up.headers['content-length'], String(Buffer.byteLength(up.text)))

  const withQuery = await request(server.address.port, '/ready?verbose=1')
  t.equal(withQuery.status, 200, 'a query string does not change the path')

  current = { agentId: 'agent-7', ready: false, readyConnections: 0, connections }
  const draining = await request(server.address.port, '/ready')
  t.equal(draining.status, 503, 'back to 503 once the status says not ready (draining)')
  t.equal(JSON.parse(draining.text).status, 'not-ready')
})

t.test('HA /ready: HEAD answers the same status and headers without a body', async (t) => {
  let isReady = true
  const server = await ready(t, { status: () => ({ agentId: 'a', ready: isReady, readyConnections: isReady ? 1 : 0, connections: [1] }) })
  const head = await request(server.address.port, '/ready', 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.text, '', 'no body')
  t.equal(head.headers['content-type'], 'application/json')
  t.equal(head.headers['cache-control'], 'no-store')
  const get = await request(server.address.port, '/ready')
  t.equal(head.headers['content-length'], get.headers['content-length'], 'the length of the body GET would get')
  isReady = false
  t.equal((await request(server.address.port, '/ready', 'HEAD')).status, 503)
})

t.test('HA /ready: other paths are 404 JSON, other methods on /ready 405 with Allow: GET, HEAD', async (t) => {
  let calls = 0
  const server = await ready(t, { status: () => { calls++; return { agentId: 'a', ready: true, readyConnections: 1, connections: [] } } })
  for (const path of ['/', '/readyz', '/ready/', '/healthz', '/Ready']) {
    const res = await request(server.address.port, path)
    t.equal(res.status, 404, `${path} is 404`)
    t.same(JSON.parse(res.text), { error: 'not found' })
    t.equal(res.headers['content-type'], 'application/json')
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const res = await request(server.address.port, '/ready', method)
    t.equal(res.status, 405, `${method} /ready is 405`)
    t.equal(res.headers.allow, 'GET, HEAD')
    t.equal(res.headers['content-type'], 'application/json')
    t.same(JSON.parse(res.text), { error: 'method not allowed' })
  }
  t.equal(calls, 0, 'neither asked the agent for its status')
})

t.test('HA /ready: a status() that throws is 503, not a crash', async (t) => {
  const server = await ready(t, { status: () => { throw new Error('boom') } })
  const res = await request(server.address.port, '/ready')
  t.equal(res.status, 503)
  t.equal(JSON.parse(res.text).status, 'not-ready')
  t.equal((await request(server.address.port, '/ready')).status, 503, 'and the server keeps serving')
})

t.test('HA /ready: a taken port falls back to the next free fallback port, then to any free port', async (t) => {
  const [taken, alsoTaken, thirdTaken] = [await occupy(t), await occupy(t), await occupy(t)]
  const free = await freePort()
  const server = await ready(t, { port: taken, fallbackPorts: [alsoTaken, free, thirdTaken] })
  t.equal(server.address.port, free, 'skipped the taken ports and bound the first free fallback')
  t.equal((await request(server.address.port, '/ready')).status, 200, 'and serves there')

  const anyPort = await ready(t, { port: taken, fallbackPorts: [alsoTaken, thirdTaken] })
  t.ok(anyPort.address.port > 0 && ![taken, alsoTaken, thirdTaken].includes(anyPort.address.port), `every fallback taken: any free port (${anyPort.address.port})`)
  t.equal((await request(anyPort.address.port, '/ready')).status, 200)
})

t.test('HA /ready: without fallback ports a taken port rejects with EADDRINUSE', async (t) => {
  const taken = await occupy(t)
  await t.rejects(startReadyServer({ host: '127.0.0.1', port: taken, status: () => ({ agentId: 'a', ready: true, readyConnections: 1, connections: [] }) }), { code: 'EADDRINUSE' })
})

t.test('HA /ready: close() is idempotent, ends open connections (even one mid-request) and frees the port', async (t) => {
  const server = await startReadyServer({ host: '127.0.0.1', port: 0, status: () => ({ agentId: 'a', ready: true, readyConnections: 1, connections: [] }) })
  // A raw client: one full keep-alive request (so the server has surely accepted the connection),
  // then half a request, which would hold the connection until the 5 s headers timeout.
  const socket = net.connect({ host: '127.0.0.1', port: server.address.port })
  t.teardown(() => socket.destroy())
  socket.setEncoding('utf8')
  let received = ''
  socket.on('data', (chunk: string) => { received += chunk })
  socket.on('error', () => {})
  socket.write('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n')
  const deadline = Date.now() + 5_000
  while (!received.includes('"status":"ready"') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(received, /^HTTP\/1\.1 200 /, 'the first request was answered on the kept-alive connection')
  socket.write('GET /ready HTTP/1.1\r\nHost')
  // (events.once would reject on the ECONNRESET the client may see.)
  const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()))

  const first = server.close()
  const second = server.close()
  await Promise.all([first, second])
  await server.close()
  t.pass('close() resolved three times')
  const closedInTime = await Promise.race([socketClosed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000).unref())])
  t.ok(closedInTime, 'the connection with half a request was destroyed, not left to the 5 s headers timeout')
  t.notMatch(received.slice(received.indexOf('"status":"ready"') + 1), /HTTP\/1\.1/, 'without a second response')
  await t.rejects(request(server.address.port, '/ready'), { code: 'ECONNREFUSED' }, 'nothing listens any more')
  const again = await ready(t, { port: server.address.port })
  t.equal(again.address.port, server.address.port, 'the port is free again')
})
