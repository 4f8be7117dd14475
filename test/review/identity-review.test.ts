/**
 * Review of issue #3 (certificate identity): regressions for defects found in review. Each test drives
 * real servers on port 0 and shows one defect: a token sent to an impostor in pinned enrollment, a
 * renewal escaping a revocation that raced it, enrollment connections outliving edge.close(), a
 * renewal that never reached the tunnel, and a rotation connection outliving agent.close().
 */
import t, { type Test } from 'tap'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent } from '../../src/agent/agent.js'
import { enroll, renew, EnrollmentError } from '../../src/agent/enrollment.js'
import { IdentityStore } from '../../src/edge/identity-store.js'
import { ensureCa } from '../../src/edge/pki.js'
import { createKeyAndCsr } from '../../src/transport/x509.js'
import { encodeFrame } from '../../src/protocol/codec.js'
import type { ZoneGrant } from '../../src/protocol/identity.js'
import { issueIdentity } from '../helpers/identity.js'
import { startEdge, startOrigin, identityFor, visit, waitFor, testLogger } from '../helpers/servers.js'
import { startGateRelay } from '../helpers/relay.js'
import { FrameReader, within } from '../conformance/fake-agent.js'

const ACME: ZoneGrant[] = [{ zone: 'acme.localhost', wildcard: false }]
const ALPN_ENROLL = 'burrow-enroll/1'

t.test('§4.5 pinned enrollment refuses an edge CA certificate that is not a serving certificate: an agent certificate whose account is the dialled host gets no token', async (t: Test) => {
  const edge = await startEdge(t)
  // A tenant of this edge, legitimately enrolled, whose account name equals a single-label edge host.
  const tenant = await identityFor(edge, 'localhost', [{ zone: 'tenant.example', wildcard: false }])
  await edge.edge.identity.addAccount('victim', [{ zone: 'victim.example', wildcard: false }])
  const token = await edge.edge.createEnrollmentToken('victim', 60_000)

  // The tenant impersonates the edge with its client certificate and the (public) edge CA.
  const received: Buffer[] = []
  const impostor = tls.createServer({ cert: tenant.certPem + tenant.caPem, key: tenant.keyPem, ALPNProtocols: [ALPN_ENROLL] }, (socket) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    socket.on('error', () => {})
  })
  impostor.listen(0, 'localhost')
  await once(impostor, 'listening')
  t.teardown(() => { impostor.close() })
  const port = (impostor.address() as AddressInfo).port

  const err = await enroll({ host: 'localhost', port, token, timeoutMs: 1_500 }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof EnrollmentError, `enroll() rejects (got ${String(err)})`)
  t.equal((err as EnrollmentError).code, 'BURROW_ERR_CERT_INVALID', 'the impostor is refused before the token is sent')
  await sleep(50)
  const bytes = Buffer.concat(received)
  t.equal(bytes.length, 0, 'the impostor received nothing')
  t.notOk(bytes.includes(token.split('.')[2]!), 'in particular not the token secret')
})

t.test('§4.7 §4.8 a renewal racing the revocation of the certificate it renews does not yield a valid certificate', async (t: Test) => {
  const edge = await startEdge(t)
  const identity = await identityFor(edge, 'acme', ACME)
  const store = edge.edge.identity
  // `burrow edge certs revoke` run beside the edge: its own store on the same state directory.
  const operator = await IdentityStore.open(edge.stateDir)
  // The revocation lands after the edge checked the presented certificate and before it recorded the
  // renewal (the window in which the new certificate is being signed).
  const record = store.recordCertificate.bind(store)
  let raced = 0
  store.recordCertificate = async (serial, rec) => {
    raced++
    t.same(await operator.revoke(identity.serial), [identity.serial], 'the operator revoked the old certificate')
    await record(serial, rec)
  }
  const result = await renew({ host: '127.0.0.1', port: edge.edge.tunnelAddress.port, identity }).then((id) => id, (e: unknown) => e)
  t.equal(raced, 1)
  t.ok(result instanceof EnrollmentError, `the renewal is refused (got ${result instanceof Error ? result.message : 'a certificate'})`)
  t.equal((result as EnrollmentError).code, 'BURROW_ERR_CERT_REVOKED')
  await store.refresh()
  const escaped = store.certificates().filter((c) => c.renewedFrom === identity.serial && c.status === 'valid')
  t.same(escaped.map((c) => c.serial), [], 'no valid certificate renewed from the revoked one')
})

t.test('§4.5 edge.close() ends enrollment connections that have not sent their EnrollRequest; none is answered after close', async (t: Test) => {
  // A long deadline, so that only close() can end the connection within the test.
  const edge = await startEdge(t, { enrollmentDeadlineMs: 30_000 })
  await edge.edge.identity.addAccount('acme', ACME)
  const token = await edge.edge.createEnrollmentToken('acme', 60_000)
  const socket = tls.connect({ host: '127.0.0.1', port: edge.edge.tunnelAddress.port, ca: edge.edge.caCertPem, ALPNProtocols: [ALPN_ENROLL] })
  t.teardown(() => { socket.destroy() })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const reader = new FrameReader(socket)
  await once(socket, 'secureConnect')
  // A TLS 1.3 server sends its session tickets once it has completed the handshake: by then the
  // edge holds the connection as an enrollment connection.
  await once(socket, 'session')
  await edge.close()
  const { csrDer } = await createKeyAndCsr('late')
  if (!socket.destroyed) socket.write(encodeFrame({ enrollRequest: { token, csr: csrDer, client: { agentId: 'late', version: '0.0.0', arch: 'test_x', features: [] } } }))
  const answer = await reader.next(3_000).then((f) => f.msg, () => undefined)
  t.equal(answer, undefined, 'a closed edge issues no certificate')
  await within(closed, 3_000, 'the closed edge ending the enrollment connection')
  t.pass('the enrollment connection was closed by edge.close()')
})

t.test('§4.7 a renewal that completes while the agent is still registering moves the tunnel to the new certificate (no cut at the old notAfter)', async (t: Test) => {
  const edge = await startEdge(t, { identityPollMs: 50 })
  const origin = await startOrigin(t)
  await edge.edge.identity.addAccount('acme', ACME)
  // A 3 s certificate is past two thirds of its (backdated) lifetime at once: the agent renews at start.
  const identity = await issueIdentity(await ensureCa(edge.stateDir), { account: 'acme', zones: ACME, lifetimeMs: 3_000 })
  // The first tunnel connection is held until the renewal is done, so it registers afterwards.
  const relay = await startGateRelay(t, edge.tunnel, (n) => n === 1 ? 'hold' : 'pass')
  const agent = new Agent({
    edge: relay.address,
    edgeCa: edge.edge.caCertPem,
    identity,
    hostnames: ['app.acme.localhost'],
    origin: origin.url,
    retryBaseMs: 20,
    retryMaxDelayMs: 50,
    gracePeriodMs: 0,
    haConnections: 1,
    logger: testLogger(),
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  const disconnects: string[] = []
  agent.on('disconnected', (reason) => disconnects.push(reason))
  agent.once('renewed', () => relay.release())
  await agent.start()
  t.not(agent.certificate.serial, identity.serial, 'the agent renewed at start')
  t.equal(relay.held.length, 1, 'the first tunnel connection was held until then')

  // Past the old certificate's notAfter, with the edge checking expiry every 50 ms.
  await sleep(Math.max(0, identity.notAfterMs - Date.now()) + 1_000)
  t.same(disconnects, [], 'no tunnel connection was cut at the old certificate\'s expiry')
  t.equal((await visit(edge.base, '/', { host: 'app.acme.localhost' })).status, 200)
  await waitFor(() => edge.edge.connectionCount === 1, 3_000)
  t.equal(edge.edge.connectionCount, 1, 'one connection, on the renewed certificate')
})

t.test('§4.7 agent.close() during a make-before-break rotation also ends the rotation\'s connection', async (t: Test) => {
  const edge = await startEdge(t)
  const origin = await startOrigin(t)
  const identity = await identityFor(edge, 'acme', ACME)
  // Tunnel 1 is the agent's connection; tunnel 2, the rotation's, is held.
  const relay = await startGateRelay(t, edge.tunnel, (n) => n === 2 ? 'hold' : 'pass')
  const agent = new Agent({
    edge: relay.address,
    edgeCa: edge.edge.caCertPem,
    identity,
    hostnames: ['app.acme.localhost'],
    origin: origin.url,
    registrationTimeoutMs: 20_000,
    gracePeriodMs: 0,
    logger: testLogger(),
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  await agent.start()
  const renewing = agent.renewNow()
  await waitFor(() => relay.held.length === 1, 5_000)
  const rotation = relay.held[0]!
  await agent.close({ gracePeriodMs: 0 })
  t.equal(agent.state, 'stopped')
  await waitFor(() => rotation.destroyed || rotation.readableEnded, 2_000).then(() => t.pass('the rotation\'s connection was closed by agent.close()'), () => t.fail('the rotation\'s connection outlived agent.close()'))
  // Released now, it must not register a tunnel for the stopped agent.
  relay.release()
  await within(renewing, 5_000, 'renewNow() settling')
  await sleep(200)
  t.equal(edge.edge.connectionCount, 0, 'the stopped agent has no tunnel connection at the edge')
})
