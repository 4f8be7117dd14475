/**
 * Conformance of the agent, identity (SPEC.md §4.1, §4.8, §8.2): it presents its client certificate
 * in every tunnel handshake, stops on a permanent identity or zone rejection, and reconnects after a
 * ProtocolError on a live connection. A real agent dials a scripted fake edge.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { startOrigin } from '../helpers/servers.js'
import type { RegistrationError } from '../../src/agent/tunnel-client.js'
import { within } from './fake-agent.js'
import { FakeEdge, agentFor, registeredAgent } from './fake-edge.js'

t.test('§1.1 §4.1 the agent presents its client certificate in the TLS handshake of every tunnel connection', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { agent, conn } = await registeredAgent(t, edge, origin.url)
  const expected = new X509Certificate(edge.agentIdentity.certPem)
  const presented = conn.socket.getPeerX509Certificate()
  t.ok(presented?.raw.equals(expected.raw), 'the certificate of its identity')
  t.equal(agent.certificate.serial, edge.agentIdentity.serial)
  const ca = new X509Certificate(edge.caCertPem)
  t.ok(presented !== undefined && presented.checkIssued(ca) && presented.verify(ca.publicKey), 'issued by the edge CA')
  conn.destroy() // the connection is lost: the agent dials again
  const again = await edge.nextConnection(3_000)
  t.ok(again.socket.getPeerX509Certificate()?.raw.equals(expected.raw), 'presented again on the reconnect')
  await again.accept()
})

for (const code of ['BURROW_ERR_CERT_REQUIRED', 'BURROW_ERR_CERT_INVALID', 'BURROW_ERR_CERT_EXPIRED', 'BURROW_ERR_CERT_REVOKED', 'BURROW_ERR_HOSTNAME_FORBIDDEN']) {
  t.test(`§4.1 §8.2 RegisterRejected{${code}, permanent: true}: the agent stops, reports it and does not reconnect`, async (t) => {
    const origin = await startOrigin(t)
    const edge = await FakeEdge.start(t)
    const agent = agentFor(t, edge, origin.url) // retry base 50 ms: a retry would come well within a second
    const fatal: RegistrationError[] = []
    agent.on('fatal', (err) => fatal.push(err))
    const started = agent.start()
    const conn = await edge.nextConnection()
    t.equal((await conn.nextFrame()).msg, 'register')
    conn.send({ registerRejected: { code, message: 'refused by the test', retryAfterMs: 0, permanent: true } })
    await t.rejects(within(started, 3_000, 'start'), { code }, 'start() rejects with the code')
    t.equal(agent.state, 'failed')
    t.equal(fatal.length, 1, "one 'fatal' event")
    t.equal(fatal[0]?.code, code)
    t.equal(fatal[0]?.permanent, true)
    await t.rejects(edge.nextConnection(1_000), 'no further connection within a second')
  })
}

t.test('§2.4 §4.8 a ProtocolError CERT_REVOKED on a registered connection makes the agent reconnect; the rejection of that Register stops it', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { agent, conn } = await registeredAgent(t, edge, origin.url)
  const fatal: RegistrationError[] = []
  agent.on('fatal', (err) => fatal.push(err))
  conn.send({ protocolError: { code: 'BURROW_ERR_CERT_REVOKED', message: 'certificate revoked' } })
  try { conn.session.close() } catch { /* gone */ } // GOAWAY, as the edge does (§4.8)
  await within(conn.closed, 3_000, 'the agent treating the connection as closed')
  const next = await edge.nextConnection(3_000)
  t.pass('the agent dialled again: a ProtocolError alone is not a permanent rejection')
  t.not(agent.state, 'failed')
  t.equal((await next.nextFrame()).msg, 'register')
  next.send({ registerRejected: { code: 'BURROW_ERR_CERT_REVOKED', message: 'revoked', retryAfterMs: 0, permanent: true } })
  await within(new Promise<void>((resolve) => { if (fatal.length > 0) resolve(); else agent.once('fatal', () => resolve()) }), 3_000, "'fatal' event")
  t.equal(fatal[0]?.code, 'BURROW_ERR_CERT_REVOKED')
  t.equal(agent.state, 'failed', 'stopped by the permanent rejection')
  await t.rejects(edge.nextConnection(1_000), 'no further connection within a second')
})
