/**
 * Conformance of the agent, transport and control stream (SPEC.md §1, §2): a real agent dials a
 * scripted fake edge.
 */
import t from 'tap'
import { startOrigin, waitFor } from '../helpers/servers.js'
import { encodeFrame } from '../../src/protocol/codec.js'
import { H2, resetStream, within } from './fake-agent.js'
import { FakeEdge, agentFor, heartbeat, makePki, registeredAgent } from './fake-edge.js'

/** The RegisterAccepted a fake edge answers with. */
const ACCEPTED = encodeFrame({ registerAccepted: { connectionId: 'c1', edgeId: 'e1', hostnames: ['app.localhost'], protocolVersion: 1 } })

/** A Heartbeat round trip: everything sent before it has been processed by the agent. */
t.test('§1.2 the agent offers exactly the ALPN protocol burrow/1', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, origin.url)
  t.same(edge.offeredAlpn[0], ['burrow/1'])
  t.equal(conn.alpn, 'burrow/1')
})

t.test('§1.2 the agent closes a connection on which the edge selected no ALPN protocol, and retries', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t, { alpn: null })
  const agent = agentFor(t, edge, origin.url)
  let registered = false
  agent.start().then(() => { registered = true }, () => {})
  const first = await edge.nextConnection()
  t.equal(first.alpn, false, 'no protocol selected')
  await within(first.closed, 3_000, 'agent closing the connection')
  await t.rejects(first.controlResponse!, 'the agent never answered the control stream')
  await edge.nextConnection()
  t.pass('the agent dialled again (backoff)')
  t.equal(registered, false)
})

t.test('§1.3 the agent refuses an edge certificate from a different CA, does not register, and keeps retrying', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const otherCa = (await makePki(t)).caCertPem
  const agent = agentFor(t, edge, origin.url, { edgeCa: otherCa })
  let registered = false
  agent.start().then(() => { registered = true }, () => {})
  await edge.handshakeFailed(3, 5_000)
  t.ok(edge.handshakeFailures >= 3, `${edge.handshakeFailures} refused handshakes: retried per backoff`)
  t.equal(edge.connections.length, 0, 'no TLS session was ever established')
  t.equal(registered, false)
  t.ok(agent.attempts >= 3)
})

t.test('§1.1 the agent sends SNI for a DNS edge host and none for an IP literal', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const byName = agentFor(t, edge, origin.url, { edge: `localhost:${edge.tunnel.split(':')[1]}` })
  byName.start().catch(() => {})
  const named = await edge.nextConnection()
  t.equal(named.servername, 'localhost', 'SNI = the edge host')
  await named.accept()
  const byIp = agentFor(t, edge, origin.url)
  byIp.start().catch(() => {})
  const literal = await edge.nextConnection()
  t.notOk(literal.servername, 'no SNI for 127.0.0.1')
})

t.test('§1.1 the reference agent requires TLS 1.3: an edge offering only TLS 1.2 is refused', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })
  const agent = agentFor(t, edge, origin.url)
  agent.start().catch(() => {})
  await edge.handshakeFailed(1)
  t.equal(edge.connections.length, 0, 'no TLS 1.2 session')
})

t.test('§1.5 the agent sends MAX_CONCURRENT_STREAMS 1024, a 1 MiB stream window, a 64 KiB header list and a 16 MiB connection window', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  agent.start().catch(() => {})
  const conn = await edge.nextConnection()
  const s = await within(conn.remoteSettings, 3_000, 'agent SETTINGS')
  t.equal(s.maxConcurrentStreams, 1024)
  t.equal(s.initialWindowSize, 1048576)
  t.equal(s.maxHeaderListSize, 65536)
  // No DATA sent to the agent yet: our send window is exactly what the agent granted.
  await waitFor(() => conn.session.state.remoteWindowSize === 16777216, 2_000)
  t.equal(conn.session.state.remoteWindowSize, 16777216, 'WINDOW_UPDATE on stream 0 to 16 MiB')
})

t.test('§1.6 the agent sends an HTTP/2 PING every heartbeat interval', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, origin.url, { heartbeatIntervalMs: 40 })
  await waitFor(() => conn.pings >= 3, 3_000)
  t.ok(conn.pings >= 3, `${conn.pings} PINGs`)
})

t.test('§2.1 the agent answers the control stream with :status 200 and burrow-stream-type: control, without END_STREAM', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  agent.start().catch(() => {})
  const conn = await edge.nextConnection()
  const { headers, endStream } = await within(conn.controlResponse!, 3_000, 'control response')
  t.equal(headers[':status'], 200)
  t.equal(headers['burrow-stream-type'], 'control')
  t.equal(endStream, false, 'the response stays open: agent frames follow in its body')
  t.equal(conn.control!.id, 1, 'stream 1')
})

t.test('§2.2 the agent refuses a second control stream with RST_STREAM PROTOCOL_ERROR and keeps the first', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, origin.url)
  const second = conn.openControl()
  const rst = await within(new Promise<number>((resolve) => second.once('close', () => resolve(second.rstCode))), 3_000, 'reset')
  t.equal(rst, H2.PROTOCOL_ERROR)
  await heartbeat(conn, 3)
  t.equal(conn.goawayCode, undefined, 'the connection is still up')
})

t.test('§2.2 when the edge ends the control stream the agent closes the session and reconnects', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, origin.url)
  conn.control!.end()
  await within(conn.closed, 3_000, 'agent closing')
  t.pass('the agent closed the connection')
  await edge.nextConnection()
  t.pass('and dialled a new one')
})

t.test('§2.2 when the edge resets the control stream the agent closes the session and reconnects', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { conn } = await registeredAgent(t, edge, origin.url)
  resetStream(conn.control!)
  await within(conn.closed, 3_000, 'agent closing')
  t.pass('the agent closed the connection')
  await edge.nextConnection()
  t.pass('and dialled a new one')
})

t.test('§2.3 the agent reassembles a frame split across DATA frames', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  const started = agent.start()
  const conn = await edge.nextConnection()
  t.equal((await conn.nextFrame()).msg, 'register')
  conn.sendRaw(ACCEPTED.subarray(0, 3))
  await conn.flush() // acknowledged PING: those 3 bytes went out alone
  conn.sendRaw(ACCEPTED.subarray(3, 10))
  await conn.flush()
  conn.sendRaw(ACCEPTED.subarray(10))
  await within(started, 3_000, 'registration')
  t.same(agent.registeredHostnames(), ['app.localhost'])
})

t.test('§2.3 the agent handles several frames in one DATA frame', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  const started = agent.start()
  const conn = await edge.nextConnection()
  t.equal((await conn.nextFrame()).msg, 'register')
  conn.sendRaw(Buffer.concat([ACCEPTED, encodeFrame({ heartbeat: { seq: 11, reply: false } })]))
  await within(started, 3_000, 'registration')
  const reply = await conn.nextFrame()
  t.same([reply.msg, String(reply.heartbeat?.seq), reply.heartbeat?.reply], ['heartbeat', '11', true])
})

for (const [name, bytes] of [
  ['undecodable payload', Buffer.from('00000004ffffffff', 'hex')],
  ['a length prefix of 65537', Buffer.from('00010001', 'hex')],
] as const) {
  t.test(`§2.3 §2.4 ${name} on the control stream: the agent sends ProtocolError, closes with GOAWAY PROTOCOL_ERROR, and reconnects`, async (t) => {
    const origin = await startOrigin(t)
    const edge = await FakeEdge.start(t)
    const { conn } = await registeredAgent(t, edge, origin.url)
    conn.sendRaw(bytes)
    const frame = await conn.frames().nextOf('protocolError')
    t.equal(frame.protocolError?.code, 'BURROW_ERR_PROTOCOL')
    const closed = await within(conn.closed, 3_000, 'agent closing')
    t.equal(closed.goawayCode, H2.PROTOCOL_ERROR)
    await edge.nextConnection()
    t.pass('the agent dialled a new connection')
  })
}

t.test('§3.5 §2.4 an empty Frame before registration is a protocol error for the agent', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  agent.start().catch(() => {})
  const conn = await edge.nextConnection()
  t.equal((await conn.nextFrame()).msg, 'register')
  conn.sendRaw(Buffer.from('00000000', 'hex'))
  const frame = await conn.frames().nextOf('protocolError')
  t.equal(frame.protocolError?.code, 'BURROW_ERR_PROTOCOL')
  const closed = await within(conn.closed, 3_000, 'agent closing')
  t.equal(closed.goawayCode, H2.PROTOCOL_ERROR)
})
