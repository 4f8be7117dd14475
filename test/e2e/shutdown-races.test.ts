/**
 * agent.close() at awkward moments (SPEC.md §8.1, §8.3): while it backs off from an unreachable edge,
 * while the TLS handshake hangs, and while its Register is in flight (the edge's RegisterAccepted
 * arriving after close()). Each time close() must finish promptly, leave the agent 'stopped', release
 * the connection, and never dial again.
 */
import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { Agent } from '../../src/agent/agent.js'
import { startOrigin, testLogger, waitFor, type T } from '../helpers/servers.js'
import { issueIdentity } from '../helpers/identity.js'
import type { AgentIdentity } from '../../src/agent/enrollment.js'
import { FakeEdge, agentFor, makePki } from '../conformance/fake-edge.js'
import { within } from '../conformance/fake-agent.js'

/** A closed loopback port: connections to it are refused. */
async function refusedPort (): Promise<number> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function agentTo (t: T, edge: string, identity: AgentIdentity, origin: string): Agent {
  const agent = new Agent({
    edge,
    identity,
    hostnames: ['app.localhost'],
    origin,
    retryBaseMs: 20,
    retryMaxDelayMs: 50,
    logger: testLogger(),
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  return agent
}

t.test('close() while backing off from an unreachable edge: stops at once and never dials again (SPEC.md §8.1)', async (t) => {
  const origin = await startOrigin(t)
  const pki = await makePki(t)
  const agent = agentTo(t, `127.0.0.1:${await refusedPort()}`, await issueIdentity(pki.ca), origin.url)
  const retries: number[] = []
  agent.on('retry', (r) => retries.push(r.attempt))
  agent.start().catch(() => {})
  await waitFor(() => retries.length >= 3, 3_000)
  const started = Date.now()
  await within(agent.close(), 1_000, 'agent.close()')
  t.ok(Date.now() - started < 500, `close() returned in ${Date.now() - started} ms`)
  t.equal(agent.state, 'stopped')
  const attempts = agent.attempts
  const retriesAtClose = retries.length
  // Several backoff periods (cap 50 ms): a leaked retry timer would have dialled by now.
  await new Promise((resolve) => setTimeout(resolve, 250))
  t.equal(agent.attempts, attempts, 'no connection attempt after close()')
  t.equal(retries.length, retriesAtClose, 'no retry scheduled after close()')
  t.equal(agent.state, 'stopped')
})

t.test('close() while the TLS handshake hangs: the socket is released and close() does not wait for the edge', async (t) => {
  const origin = await startOrigin(t)
  const pki = await makePki(t)
  // A tunnel port that accepts TCP and never answers the ClientHello.
  const sockets: net.Socket[] = []
  const closedSockets: net.Socket[] = []
  const silent = net.createServer((s) => {
    sockets.push(s)
    s.on('error', () => {})
    s.resume() // read (and discard) the ClientHello, so the agent's FIN is seen
    s.once('close', () => closedSockets.push(s))
  })
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); silent.close(() => resolve()) }))
  const agent = agentTo(t, `127.0.0.1:${(silent.address() as AddressInfo).port}`, await issueIdentity(pki.ca), origin.url)
  agent.start().catch(() => {})
  await waitFor(() => sockets.length === 1, 3_000)
  t.equal(agent.state, 'connecting')
  await within(agent.close(), 1_000, 'agent.close()')
  t.equal(agent.state, 'stopped')
  await waitFor(() => closedSockets.length === 1, 2_000)
  t.pass('the half-open connection was closed by the agent')
  t.equal(sockets.length, 1, 'and no other connection was made')
})

t.test('close() while Register is in flight, RegisterAccepted arriving afterwards: no registration, the connection is released', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url)
  let registered = 0
  agent.on('registered', () => { registered++ })
  agent.start().catch(() => {})
  const conn = await edge.nextConnection()
  const register = await conn.nextFrame()
  t.equal(register.msg, 'register', 'the agent is waiting for its answer')
  const closing = agent.close({ gracePeriodMs: 0 })
  // The edge's answer crosses the agent's shutdown on the wire.
  conn.send({
    registerAccepted: { connectionId: 'late', edgeId: 'fake-edge', hostnames: ['app.localhost'], features: [], protocolVersion: 1 },
  })
  await within(closing, 2_500, 'agent.close()')
  t.equal(agent.state, 'stopped')
  t.equal(registered, 0, "no 'registered' event after close()")
  await within(conn.closed, 2_000, 'the tunnel connection to close')
  t.pass('the tunnel connection is closed')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(edge.connections.length, 1, 'the agent did not reconnect')
})

t.test('close() right after TLS, before the agent even sent Register: prompt, and the edge sees the connection end', async (t) => {
  const origin = await startOrigin(t)
  // No control stream from the edge: the agent cannot register.
  const edge = await FakeEdge.start(t, { openControl: false })
  const agent = agentFor(t, edge, origin.url)
  agent.start().catch(() => {})
  const conn = await edge.nextConnection()
  await waitFor(() => agent.state === 'connecting', 1_000)
  await within(agent.close(), 2_500, 'agent.close()')
  t.equal(agent.state, 'stopped')
  const { goawayCode } = await within(conn.closed, 2_000, 'the tunnel connection to close')
  t.ok(goawayCode === undefined || goawayCode === 0, 'closed cleanly (GOAWAY NO_ERROR or just the socket)')
  t.equal(edge.connections.length, 1, 'no reconnect')
})

t.test('start() rejects, instead of hanging, when close() runs before the first registration', async (t) => {
  const agent = new Agent({
    edge: '127.0.0.1:1', // nothing listens: the agent backs off
    identity: await issueIdentity((await makePki(t)).ca),
    hostnames: ['app.localhost'],
    origin: 'http://127.0.0.1:1',
    retryBaseMs: 1_000,
    logger: testLogger(),
  })
  const rejected = t.rejects(agent.start(), /closed before it registered/)
  await agent.close({ gracePeriodMs: 0 })
  await rejected
  t.equal(agent.state, 'stopped')
})
