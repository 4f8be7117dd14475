/**
 * Conformance of the agent, control messages (SPEC.md §3, §8): registration, heartbeat, rejection,
 * drain, unregister. A real agent dials a scripted fake edge.
 */
import t from 'tap'
import type { ServerResponse } from 'node:http'
import { startOrigin, waitFor } from '../helpers/servers.js'
import { H2, within } from './fake-agent.js'
import { FakeEdge, agentFor, heartbeat, registeredAgent } from './fake-edge.js'

t.test('§3.3 §3.4 the agent sends Register first: version 1, bearer token, hostnames, labels, client info, conn_index 0', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { agent, conn, register } = await registeredAgent(t, edge, origin.url, {
    hostnames: ['app.localhost', 'api.localhost'],
    labels: { release: 'canary' },
    version: '1.2.3',
  })
  t.equal(conn.frames().frames[0], register, 'Register is the first frame')
  const r = register.register!
  t.equal(r.protocolVersion, 1)
  t.equal(conn.socket.getPeerX509Certificate()?.serialNumber.toLowerCase().replace(/^0+/, ''), agent.certificate.serial, 'the agent presented its client certificate in the TLS handshake (SPEC.md §4.1)')
  t.same(r.hostnames, ['app.localhost', 'api.localhost'])
  t.same(r.labels, { release: 'canary' })
  t.equal(r.client?.agentId, agent.id, 'client.agent_id')
  t.equal(r.client?.version, '1.2.3')
  t.equal(r.client?.arch, `${process.platform}_${process.arch}`, 'client.arch is <platform>_<arch>')
  t.equal(r.connIndex, 0)
  t.equal(r.previousAttempts, 0)
  t.same(agent.registeredHostnames(), ['app.localhost', 'api.localhost'], 'the agent took the hostnames from RegisterAccepted')
})

t.test('§3.4 previous_attempts counts failed attempts; agent_id is shared by all connections of the agent', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  const started = agent.start()
  started.catch(() => {})
  const first = await edge.nextConnection()
  const r1 = await first.nextFrame()
  first.send({ registerRejected: { code: 'BURROW_ERR_HOSTNAME_TAKEN', message: 'taken', retryAfterMs: 0, permanent: false } })
  const second = await edge.nextConnection()
  const r2 = await second.accept()
  await within(started, 3_000, 'registration')
  t.equal(r1.register?.previousAttempts, 0)
  t.equal(r2.register?.previousAttempts, 1, 'one failed attempt before this one')
  t.equal(r2.register?.client?.agentId, r1.register?.client?.agentId, 'same agent_id')
})

t.test('§3.8 the agent answers Heartbeat{seq, reply: false} with the same seq and reply: true, and never answers a reply', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, origin.url)
  conn.send({ heartbeat: { seq: 6, reply: true } })
  conn.send({ heartbeat: { seq: 7, reply: false } })
  const reply = await conn.nextFrame()
  t.equal(reply.msg, 'heartbeat')
  t.equal(String(reply.heartbeat?.seq), '7', 'the first frame back answers 7: the reply (6) was not answered')
  t.equal(reply.heartbeat?.reply, true)
})

t.test('§3.11 the wire example: RegisterAccepted and Heartbeat{seq: 7} bytes get the exact reply bytes', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  const started = agent.start()
  const conn = await edge.nextConnection()
  t.equal((await conn.nextFrame()).msg, 'register')
  conn.sendRaw(Buffer.from('0000001b' + '1219' + '0a026331' + '12026531' + '1a0d6170702e6c6f63616c686f7374' + '2801', 'hex'))
  await within(started, 3_000, 'registration')
  const frames = conn.frames()
  const before = frames.raw().length
  conn.sendRaw(Buffer.from('0000000422020807', 'hex'))
  await conn.nextFrame()
  t.equal(frames.raw().subarray(before).toString('hex'), '00000006' + '22040807' + '1001')
})

t.test('§3.5 after registration the agent ignores empty frames, unknown members, RouteUpdate and ConfigPush', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { agent, conn } = await registeredAgent(t, edge, origin.url)
  conn.sendRaw(Buffer.from('00000000', 'hex'))
  conn.sendRaw(Buffer.from('00000003a20100', 'hex')) // field 20: a newer peer's message
  conn.send({ routeUpdate: { addHostnames: ['x.localhost'] } })
  conn.send({ configPush: { version: 1, config: Buffer.from('{}') } })
  await heartbeat(conn, 2)
  t.equal(conn.goawayCode, undefined, 'no GOAWAY')
  t.equal(agent.state, 'connected')
  const req = conn.request({ ':path': '/after' })
  t.equal((await req.response)[':status'], 200, 'the connection still serves requests')
})

t.test('§3.7 §8.2 on RegisterRejected{permanent: true} the agent stops: start() rejects and it does not reconnect', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  const started = agent.start()
  const conn = await edge.nextConnection()
  await conn.nextFrame()
  conn.send({ registerRejected: { code: 'BURROW_ERR_AUTH_FAILED', message: 'no', retryAfterMs: 0, permanent: true } })
  await t.rejects(within(started, 3_000, 'start'), { code: 'BURROW_ERR_AUTH_FAILED' })
  await t.rejects(edge.nextConnection(600), 'no new connection within 600 ms (backoff base is 50 ms)')
  t.equal(agent.state, 'failed')
})

t.test('§3.7 §8.1 on RegisterRejected{permanent: false, retry_after_ms: 300} the agent reconnects, no sooner than 300 ms', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url, { retryBaseMs: 10, retryMaxDelayMs: 20 })
  const started = agent.start()
  started.catch(() => {})
  const conn = await edge.nextConnection()
  await conn.nextFrame()
  conn.send({ registerRejected: { code: 'BURROW_ERR_EDGE_DRAINING', message: 'later', retryAfterMs: 300, permanent: false } })
  const sent = Date.now()
  const next = await edge.nextConnection(3_000)
  const waited = Date.now() - sent
  t.ok(waited >= 300, `reconnected after ${waited} ms`)
  await next.accept()
  await within(started, 3_000, 'registration')
})

t.test('§3.10 on Drain the agent dials a new connection and lets the in-flight request finish on the old one', async (t) => {
  let held: ServerResponse | undefined
  const origin = await startOrigin(t, (_req, res) => { held = res })
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, origin.url)
  const inflight = conn.request({ ':path': '/slow' })
  await waitFor(() => held !== undefined, 3_000)
  conn.send({ drain: { deadlineMs: 5_000, reason: 'maintenance' } })
  const fresh = await edge.nextConnection()
  await fresh.accept()
  t.pass('a new TLS connection registered')
  held!.end('done late')
  t.equal((await inflight.response)[':status'], 200)
  const result = await inflight.done
  t.equal(result.body.toString(), 'done late', 'the in-flight request finished on the old connection')
  t.equal(result.ended, true)
  await within(conn.closed, 3_000, 'old connection closed')
  t.pass('the agent then closed the old connection')
})

t.test('§3.9 §8.3 on shutdown the agent sends Unregister, finishes in-flight requests, then closes with GOAWAY', async (t) => {
  let held: ServerResponse | undefined
  const origin = await startOrigin(t, (_req, res) => { held = res })
  const edge = await FakeEdge.start(t)
  const { agent, conn } = await registeredAgent(t, edge, origin.url)
  const inflight = conn.request({ ':path': '/slow' })
  await waitFor(() => held !== undefined, 3_000)
  const closing = agent.close({ gracePeriodMs: 3_000 })
  const frames = conn.frames()
  const unregister = await frames.nextOf('unregister')
  t.ok(unregister.unregister != null, 'Unregister sent')
  // §3.9: the agent confirms the Unregister with a Heartbeat round trip; a conforming edge answers it.
  const beat = await frames.nextOf('heartbeat')
  t.equal(beat.heartbeat?.reply, false, 'a Heartbeat follows the Unregister')
  conn.send({ heartbeat: { seq: beat.heartbeat?.seq ?? 0, reply: true } })
  t.equal(conn.goawayCode, undefined, 'no GOAWAY while a request is in flight')
  held!.end('finished')
  const result = await inflight.done
  t.equal(result.body.toString(), 'finished')
  t.equal(result.ended, true)
  await within(closing, 3_000, 'agent close')
  const closed = await within(conn.closed, 3_000, 'connection closed')
  t.equal(closed.goawayCode, H2.NO_ERROR, 'GOAWAY NO_ERROR')
})

t.test('§2.4 an agent receiving ProtocolError treats the connection as closed and reconnects', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, origin.url)
  conn.send({ protocolError: { code: 'BURROW_ERR_PROTOCOL', message: 'scripted' } })
  await within(conn.closed, 3_000, 'agent closing the connection')
  t.pass('the agent closed the connection')
  await edge.nextConnection()
  t.pass('and dialled a new one')
})
