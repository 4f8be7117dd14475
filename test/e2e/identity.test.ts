/**
 * Identity end to end (SPEC.md §4): enrollment over a real enrollment connection with real state
 * files, mTLS admission of tunnel connections, zone-based hostname ownership (no takeover by another
 * account), replicas of one account, revocation of live tunnels, and renewal without dropping traffic.
 * Every edge and agent is real, on port 0, with its own state directory.
 */
import t, { type Test } from 'tap'
import { createHash, randomBytes, X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino, type Logger } from 'pino'
import { Agent, type AgentOptions } from '../../src/agent/agent.js'
import { RegistrationError } from '../../src/agent/tunnel-client.js'
import { enroll, EnrollmentError, type AgentIdentity } from '../../src/agent/enrollment.js'
import { ensureCa } from '../../src/edge/pki.js'
import type { ZoneGrant } from '../../src/protocol/identity.js'
import { issueIdentity } from '../helpers/identity.js'
import { makePki } from '../conformance/fake-edge.js'
import {
  startOrigin, startEdge, startAgent, identityFor, visit, waitFor, testLogger, type StartedEdge, type Origin,
} from '../helpers/servers.js'

const ACME: ZoneGrant[] = [{ zone: 'acme.localhost', wildcard: false }]
const EVIL: ZoneGrant[] = [{ zone: 'evil.localhost', wildcard: false }]

/** A pino logger whose JSON lines land in `lines`. */
function sinkLogger (): { logger: Logger, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line))
      cb()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

/** An agent that is constructed but not started, so a test can observe start() itself. */
function newAgent (t: Test, edge: StartedEdge, origin: Origin, identity: AgentIdentity, options: Partial<AgentOptions> = {}): Agent {
  const agent = new Agent({
    edge: edge.tunnel,
    // The edge's own CA: some identities below come from another CA, which must not change whom we trust.
    edgeCa: edge.edge.caCertPem,
    identity,
    hostnames: ['app.localhost'],
    origin: origin.url,
    retryBaseMs: 20,
    retryMaxDelayMs: 50,
    gracePeriodMs: 0,
    logger: testLogger(),
    ...options,
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  return agent
}

/** What start() rejected with (fails the test when it resolved). */
async function startRejection (t: Test, agent: Agent): Promise<RegistrationError> {
  const err = await agent.start().then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof RegistrationError, `start() rejects with a RegistrationError (got ${String(err)})`)
  return err as RegistrationError
}

/** What enroll() rejected with (fails the test when it resolved). */
async function enrollRejection (t: Test, promise: Promise<AgentIdentity>): Promise<EnrollmentError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof EnrollmentError, `enroll() rejects with an EnrollmentError (got ${String(err)})`)
  return err as EnrollmentError
}

function tunnelPort (edge: StartedEdge): number {
  return edge.edge.tunnelAddress.port
}

/**
 * Visitor traffic for `host` in the background until stop(): sequential requests, bounded in count
 * and time. Records every status that is not 200.
 */
function keepVisiting (edge: StartedEdge, host: string): { stop: () => Promise<{ ok: number, bad: number[] }> } {
  let stopped = false
  let ok = 0
  const bad: number[] = []
  const deadline = Date.now() + 60_000
  const loop = (async () => {
    for (let i = 0; i < 20_000 && !stopped && Date.now() < deadline; i++) {
      const res = await visit(edge.base, `/bg/${i}`, { host })
      if (res.status === 200) ok++
      else bad.push(res.status)
      await sleep(5)
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
      return { ok, bad }
    },
  }
}

// -------------------------------------------------------------------------------------------------
// §4.5, §4.6: enrollment

t.test('§4.5 §4.6 enrollment end to end: pinned or with a CA file, identity.json 0600 holding only the secret digest', async (t) => {
  const edge = await startEdge(t)
  await edge.edge.identity.addAccount('acme', ACME)
  const token = await edge.edge.createEnrollmentToken('acme', 60_000)
  t.match(token, /^burrow1\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/, 'token format burrow1.<id>.<secret>.<cafp>')
  const [, id, secret, cafp] = token.split('.') as [string, string, string, string]
  t.equal(cafp, edge.edge.caFingerprint, 'the token pins the edge CA')

  // No CA file: the fingerprint in the token is the only trust anchor.
  const pinned = await enroll({ host: '127.0.0.1', port: tunnelPort(edge), token })
  t.equal(pinned.account, 'acme')
  t.same(pinned.zones, ACME)
  t.equal(pinned.caPem.trim(), edge.edge.caCertPem.trim(), 'the pinned CA is stored with the identity')
  const cert = new X509Certificate(pinned.certPem)
  const ca = new X509Certificate(edge.edge.caCertPem)
  t.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'the certificate is signed by the edge CA')
  t.match(cert.subjectAltName ?? '', /URI:urn:burrow:account:acme/)
  t.match(cert.subjectAltName ?? '', /URI:urn:burrow:zone:acme\.localhost/)
  t.match(pinned.serial, /^[0-9a-f]+$/, 'serial in lower-case hex')
  t.ok(pinned.notAfterMs > Date.now())

  // With a CA file: ordinary TLS verification.
  const token2 = await edge.edge.createEnrollmentToken('acme', 60_000)
  const verified = await enroll({ host: '127.0.0.1', port: tunnelPort(edge), token: token2, ca: edge.edge.caCertPem })
  t.equal(verified.account, 'acme')
  t.same(verified.zones, ACME)
  t.not(verified.serial, pinned.serial, 'each enrollment gets its own certificate')

  // What the edge keeps on disk.
  const path = join(edge.stateDir, 'identity.json')
  t.equal((await stat(path)).mode & 0o777, 0o600, 'identity.json is 0600')
  const text = await readFile(path, 'utf8')
  const data = JSON.parse(text)
  t.equal(data.version, 1)
  t.same(data.accounts.acme.zones, ACME)
  t.equal(data.tokens[id].account, 'acme')
  t.equal(data.tokens[id].secretSha256, createHash('sha256').update(secret).digest('hex'), 'only the SHA-256 of the secret is stored')
  t.type(data.tokens[id].usedAt, 'number', 'the token is marked used')
  t.notOk(text.includes(secret), 'the secret is not in identity.json')
  t.notOk(text.includes(token) || text.includes(token2), 'no token is in identity.json')
  t.equal(data.certificates[pinned.serial].account, 'acme')
  t.equal(data.certificates[verified.serial].account, 'acme')

  // The enrolled identity serves traffic.
  const origin = await startOrigin(t)
  await startAgent(t, edge, origin, { identity: pinned, hostnames: ['app.acme.localhost'] })
  const res = await visit(edge.base, '/enrolled', { host: 'app.acme.localhost' })
  t.equal(res.status, 200)
  t.equal(origin.received.length, 1)
})

t.test('§4.6 token rejections: used, expired, malformed, unknown, wrong secret; a pin mismatch sends nothing', async (t) => {
  const edge = await startEdge(t)
  await edge.edge.identity.addAccount('acme', ACME)
  const port = tunnelPort(edge)

  const token = await edge.edge.createEnrollmentToken('acme', 60_000)
  await enroll({ host: '127.0.0.1', port, token })
  const used = await enrollRejection(t, enroll({ host: '127.0.0.1', port, token }))
  t.equal(used.code, 'BURROW_ERR_ENROLLMENT_USED', 'second use of a token')

  const short = await edge.edge.createEnrollmentToken('acme', 1)
  await sleep(30)
  const expired = await enrollRejection(t, enroll({ host: '127.0.0.1', port, token: short }))
  t.equal(expired.code, 'BURROW_ERR_ENROLLMENT_EXPIRED', 'expired token')

  for (const bad of ['', 'burrow1.garbage', 'not-a-token', token.replace(/^burrow1/, 'burrow2')]) {
    const err = await enrollRejection(t, enroll({ host: '127.0.0.1', port, token: bad }))
    t.equal(err.code, 'BURROW_ERR_ENROLLMENT_INVALID', `malformed token ${JSON.stringify(bad.slice(0, 20))}`)
  }

  const unknown = `burrow1.${randomBytes(9).toString('base64url')}.${randomBytes(32).toString('base64url')}.${edge.edge.caFingerprint}`
  t.equal((await enrollRejection(t, enroll({ host: '127.0.0.1', port, token: unknown }))).code, 'BURROW_ERR_ENROLLMENT_INVALID', 'unknown id')

  // A known id with the wrong secret: INVALID, and the genuine token still works afterwards.
  const fresh = await edge.edge.createEnrollmentToken('acme', 60_000)
  const [, freshId, , freshFp] = fresh.split('.') as [string, string, string, string]
  const forged = `burrow1.${freshId}.${randomBytes(32).toString('base64url')}.${freshFp}`
  t.equal((await enrollRejection(t, enroll({ host: '127.0.0.1', port, token: forged }))).code, 'BURROW_ERR_ENROLLMENT_INVALID', 'wrong secret')

  // A token pinning another CA: the client refuses the edge before sending anything (SPEC.md §4.5).
  const otherFp = createHash('sha256').update('another ca').digest('base64url')
  const mispinned = fresh.replace(/\.[^.]+$/, `.${otherFp}`)
  const pinErr = await enrollRejection(t, enroll({ host: '127.0.0.1', port, token: mispinned }))
  t.equal(pinErr.code, 'BURROW_ERR_CERT_INVALID', 'the edge does not present the pinned CA')

  // Neither the forged secret nor the mismatched pin consumed the token.
  const identity = await enroll({ host: '127.0.0.1', port, token: fresh })
  t.equal(identity.account, 'acme', 'the genuine token still enrolls')
})

t.test('§4.6 a token raced by concurrent enrollments is redeemed exactly once', async (t) => {
  const edge = await startEdge(t)
  await edge.edge.identity.addAccount('acme', ACME)
  const token = await edge.edge.createEnrollmentToken('acme', 60_000)
  const before = edge.edge.identity.certificates().length
  const N = 8
  const results = await Promise.allSettled(Array.from({ length: N }, async () => await enroll({ host: '127.0.0.1', port: tunnelPort(edge), token })))
  const won = results.filter((r) => r.status === 'fulfilled')
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  t.equal(won.length, 1, 'exactly one enrollment succeeds')
  t.equal(lost.length, N - 1)
  for (const r of lost) {
    t.ok(r.reason instanceof EnrollmentError)
    t.equal((r.reason as EnrollmentError).code, 'BURROW_ERR_ENROLLMENT_USED')
  }
  await edge.edge.identity.refresh()
  t.equal(edge.edge.identity.certificates().length, before + 1, 'exactly one certificate was issued')
})

// -------------------------------------------------------------------------------------------------
// §4.1: mTLS admission

t.test('§4.1 tunnel admission: no, foreign, expired and revoked certificates are refused permanently; the legitimate agent keeps serving', async (t) => {
  const edge = await startEdge(t)
  const origin = await startOrigin(t)
  const legit = await identityFor(edge)
  await startAgent(t, edge, origin, { identity: legit })
  t.equal((await visit(edge.base, '/first')).status, 200)
  const traffic = keepVisiting(edge, 'app.localhost')

  const edgeCa = await ensureCa(edge.stateDir)
  const revoked = await identityFor(edge)
  t.same(await edge.edge.identity.revoke(revoked.serial), [revoked.serial])
  const cases: Array<{ name: string, identity: AgentIdentity, code: string }> = [
    // Empty PEMs: the TLS handshake carries no client certificate at all.
    { name: 'no client certificate', identity: { ...legit, certPem: '', keyPem: '' }, code: 'BURROW_ERR_CERT_REQUIRED' },
    { name: 'a certificate from another CA', identity: await issueIdentity((await makePki(t)).ca), code: 'BURROW_ERR_CERT_INVALID' },
    { name: 'an expired certificate', identity: await issueIdentity(edgeCa, { now: Date.now() - 2 * 3_600_000, lifetimeMs: 3_600_000 }), code: 'BURROW_ERR_CERT_EXPIRED' },
    { name: 'a revoked certificate', identity: revoked, code: 'BURROW_ERR_CERT_REVOKED' },
  ]
  const intruderOrigin = await startOrigin(t)
  const agents: Agent[] = []
  for (const c of cases) {
    const agent = newAgent(t, edge, intruderOrigin, c.identity, { hostnames: ['app.localhost', 'other.localhost'] })
    agents.push(agent)
    let fatal: RegistrationError | undefined
    agent.on('fatal', (err) => { fatal = err })
    const err = await startRejection(t, agent)
    t.equal(err.code, c.code, `${c.name}: ${c.code}`)
    t.equal(err.permanent, true, `${c.name}: permanent`)
    t.equal(fatal, err, `${c.name}: the fatal event carries the rejection`)
    t.equal(agent.state, 'failed')
  }
  // With a 20 ms backoff, a retry would have happened many times by now.
  await sleep(400)
  for (const [i, agent] of agents.entries()) {
    t.equal(agent.attempts, 1, `${cases[i]!.name}: exactly one attempt`)
    t.equal(agent.state, 'failed')
  }
  const { ok, bad } = await traffic.stop()
  t.same(bad, [], 'no visitor request failed meanwhile')
  t.ok(ok > 0, `${ok} background requests served`)
  t.equal(intruderOrigin.received.length, 0, 'no refused agent served anything')
  const other = await visit(edge.base, '/', { host: 'other.localhost' })
  t.equal(other.status, 404, 'no hostname of a refused agent became routable')
  t.equal(other.headers['burrow-error'], 'BURROW_ERR_UNKNOWN_HOST')
  await waitFor(() => edge.edge.connectionCount === 1, 3_000)
})

// -------------------------------------------------------------------------------------------------
// §4.3: zones and ownership

t.test('§4.3 another account cannot take a hostname in a zone it does not hold: BURROW_ERR_HOSTNAME_FORBIDDEN', async (t) => {
  const edge = await startEdge(t)
  const owner = await startOrigin(t)
  const intruderOrigin = await startOrigin(t)
  await startAgent(t, edge, owner, { identity: await identityFor(edge, 'acme', ACME), hostnames: ['app.acme.localhost'] })
  const evil = await identityFor(edge, 'evil', EVIL)
  t.same(evil.zones, EVIL)
  const traffic = keepVisiting(edge, 'app.acme.localhost')

  const attempts = [
    ['app.acme.localhost'],
    ['APP.ACME.LOCALHOST.'],
    ['*.acme.localhost'],
    ['аpp.acme.localhost'], // Cyrillic а: punycode under acme.localhost, still acme's zone
    ['ａｐｐ.acme.localhost'], // fullwidth: normalises to app.acme.localhost
    ['app.evil.localhost', 'app.acme.localhost'], // all or nothing
  ]
  const agents: Agent[] = []
  for (const hostnames of attempts) {
    const agent = newAgent(t, edge, intruderOrigin, evil, { hostnames })
    agents.push(agent)
    const err = await startRejection(t, agent)
    t.equal(err.code, 'BURROW_ERR_HOSTNAME_FORBIDDEN', `${hostnames.join(', ')}: forbidden`)
    t.equal(err.permanent, true)
    t.equal(agent.state, 'failed')
  }
  await sleep(300)
  for (const agent of agents) t.equal(agent.attempts, 1, 'not retried')

  const { ok, bad } = await traffic.stop()
  t.same(bad, [], 'the owner served every visitor meanwhile')
  t.ok(ok > 0)
  const res = await visit(edge.base, '/after', { host: 'app.acme.localhost' })
  t.equal(res.status, 200)
  t.equal(owner.received.length, ok + 1, 'every request reached the owner')
  t.equal(intruderOrigin.received.length, 0)
  const evilHost = await visit(edge.base, '/', { host: 'app.evil.localhost' })
  t.equal(evilHost.status, 404, 'the valid name of a refused Register was not registered either')

  // The intruder's own zone works.
  const own = await startOrigin(t)
  await startAgent(t, edge, own, { identity: evil, hostnames: ['app.evil.localhost'] })
  t.equal((await visit(edge.base, '/', { host: 'app.evil.localhost' })).status, 200)
  t.equal(own.received.length, 1)
})

t.test('§4.3 a certificate granting an overlapping zone gets BURROW_ERR_HOSTNAME_TAKEN (retryable) while the owner is live', async (t) => {
  const edge = await startEdge(t)
  const owner = await startOrigin(t)
  const intruderOrigin = await startOrigin(t)
  await startAgent(t, edge, owner, { identity: await identityFor(edge, 'acme', ACME), hostnames: ['app.acme.localhost'] })
  // No edge would issue this (zones of accounts do not overlap), but the CA key could sign it.
  const overlapping = await issueIdentity(await ensureCa(edge.stateDir), { account: 'evil2', zones: ACME })
  const agent = newAgent(t, edge, intruderOrigin, overlapping, { hostnames: ['app.acme.localhost'] })
  const retries: Array<{ attempt: number, delayMs: number, reason: string }> = []
  agent.on('retry', (info) => retries.push(info))
  let fatal = false
  agent.on('fatal', () => { fatal = true })
  let registered = false
  agent.start().then(() => { registered = true }, () => {})
  await waitFor(() => retries.length >= 1, 3_000)
  t.match(retries[0]!.reason, /another account/)
  t.ok(retries[0]!.delayMs >= 5_000, `retry after ${retries[0]!.delayMs} ms honours retry_after_ms 5000`)
  t.equal(agent.state, 'backoff', 'not permanent: the agent waits to retry')
  t.equal(fatal, false)
  t.equal(registered, false)
  for (let i = 0; i < 5; i++) t.equal((await visit(edge.base, `/o/${i}`, { host: 'app.acme.localhost' })).status, 200)
  t.equal(owner.received.length, 5)
  t.equal(intruderOrigin.received.length, 0)
})

t.test('§4.3 wildcards need a wildcard grant; *.X serves one label below X unless an exact registration exists', async (t) => {
  const edge = await startEdge(t)
  const acmeOrigin = await startOrigin(t)
  const acme = await identityFor(edge, 'acme', ACME)
  const noWildcard = newAgent(t, edge, acmeOrigin, acme, { hostnames: ['*.acme.localhost'] })
  const err = await startRejection(t, noWildcard)
  t.equal(err.code, 'BURROW_ERR_HOSTNAME_FORBIDDEN', 'a grant without wildcard grants no wildcard hostname')
  t.equal(err.permanent, true)

  const wildGrant: ZoneGrant[] = [{ zone: 'wild.localhost', wildcard: true }]
  const wildIdentity = await identityFor(edge, 'wild', wildGrant)
  t.same(wildIdentity.zones, wildGrant)
  t.match(new X509Certificate(wildIdentity.certPem).subjectAltName ?? '', /URI:urn:burrow:zone:\*\.wild\.localhost/)
  const wildcardOrigin = await startOrigin(t)
  const exactOrigin = await startOrigin(t)
  const wildcardAgent = await startAgent(t, edge, wildcardOrigin, { identity: wildIdentity, hostnames: ['*.wild.localhost'] })
  t.same(wildcardAgent.registeredHostnames(), ['*.wild.localhost'])
  // Another agent of the same account, separately enrolled, takes one exact name under the zone.
  await startAgent(t, edge, exactOrigin, { identity: await identityFor(edge, 'wild', wildGrant), hostnames: ['exact.wild.localhost'] })

  const x = await visit(edge.base, '/x', { host: 'x.wild.localhost' })
  t.equal(x.status, 200)
  t.equal(JSON.parse(x.text).url, '/x')
  t.equal(wildcardOrigin.received.length, 1, 'x.wild.localhost reaches the wildcard registration')
  t.equal((await visit(edge.base, '/y', { host: 'Y.Wild.Localhost:80' })).status, 200)
  t.equal(wildcardOrigin.received.length, 2)
  const exact = await visit(edge.base, '/exact', { host: 'exact.wild.localhost' })
  t.equal(exact.status, 200)
  t.equal(exactOrigin.received.length, 1, 'the exact registration wins for its own name')
  t.equal(wildcardOrigin.received.length, 2)
  for (const host of ['a.b.wild.localhost', 'wild.localhost']) {
    const res = await visit(edge.base, '/', { host })
    t.equal(res.status, 404, `${host} is not one label below the wildcard`)
    t.equal(res.headers['burrow-error'], 'BURROW_ERR_UNKNOWN_HOST')
  }

  // The wildcard grant does not reach outside the zone, nor another account's wildcard.
  const evil = await identityFor(edge, 'evil', EVIL)
  const steal = newAgent(t, edge, await startOrigin(t), evil, { hostnames: ['*.wild.localhost'] })
  t.equal((await startRejection(t, steal)).code, 'BURROW_ERR_HOSTNAME_FORBIDDEN')
  const outside = newAgent(t, edge, wildcardOrigin, wildIdentity, { hostnames: ['*.acme.localhost'] })
  t.equal((await startRejection(t, outside)).code, 'BURROW_ERR_HOSTNAME_FORBIDDEN')
  t.equal(wildcardOrigin.received.length, 2)
  t.equal(acmeOrigin.received.length, 0)
})

t.test('§4.3 a separately enrolled agent of the same account joins as a replica and shares the traffic', async (t) => {
  const edge = await startEdge(t)
  const a = await startOrigin(t)
  const b = await startOrigin(t)
  const first = await identityFor(edge, 'acme', ACME)
  const second = await identityFor(edge, 'acme', ACME)
  t.not(first.serial, second.serial, 'two certificates')
  await startAgent(t, edge, a, { identity: first, hostnames: ['app.acme.localhost'] })
  await startAgent(t, edge, b, { identity: second, hostnames: ['app.acme.localhost'] })
  t.equal(edge.edge.connectionCount, 2)
  const entry = edge.edge.registry.list().find((h) => h.hostname === 'app.acme.localhost')
  t.equal(entry?.connections.length, 2, 'both connections serve app.acme.localhost')
  const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => await visit(edge.base, `/r/${i}`, { host: 'app.acme.localhost' })))
  t.same(results.map((r) => r.status), Array(40).fill(200))
  t.equal(a.received.length + b.received.length, 40, 'every request reached exactly one origin')
  t.ok(a.received.length > 0, `first replica served ${a.received.length}`)
  t.ok(b.received.length > 0, `second replica served ${b.received.length}`)
})

// -------------------------------------------------------------------------------------------------
// §4.8: revocation of live connections

t.test('§4.8 revoking a serial cuts its live tunnel within seconds; the agent stops with CERT_REVOKED', async (t) => {
  const edge = await startEdge(t, { identityPollMs: 200 })
  const origin = await startOrigin(t)
  const { logger, lines } = sinkLogger()
  const agent = await startAgent(t, edge, origin, { identity: await identityFor(edge, 'acme', ACME), hostnames: ['app.acme.localhost'], logger })
  t.equal((await visit(edge.base, '/', { host: 'app.acme.localhost' })).status, 200)
  let disconnected = 0
  agent.on('disconnected', () => { disconnected++ })
  const fatal = new Promise<RegistrationError>((resolve) => agent.once('fatal', resolve))
  const serial = agent.certificate.serial
  t.same(await edge.edge.identity.revoke(serial), [serial])
  const err = await Promise.race([fatal, sleep(5_000, undefined)])
  t.ok(err !== undefined, 'the agent stopped within 5 s of the revocation')
  t.equal(err?.code, 'BURROW_ERR_CERT_REVOKED')
  t.equal(err?.permanent, true)
  t.equal(agent.state, 'failed')
  t.equal(disconnected, 1, 'the live connection was cut once')
  // The live connection was told why (ProtocolError{CERT_REVOKED}) before the reconnect was refused.
  const told = lines.filter((l) => l.code === 'BURROW_ERR_CERT_REVOKED').map((l) => l.msg)
  t.ok(told.length >= 2, `the agent logged CERT_REVOKED on the live connection and on the reconnect: ${JSON.stringify(told)}`)
  t.equal(agent.attempts, 2, 'one reconnect, refused permanently, then no more')
  const res = await visit(edge.base, '/', { host: 'app.acme.localhost' })
  t.equal(res.status, 503)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')
  t.equal(origin.received.length, 1)
  const listed = edge.edge.identity.certificates().find((c) => c.serial === serial)
  t.equal(listed?.status, 'revoked')
})

t.test('§4.8 revoking an account cuts all its tunnels and deletes its unused tokens; other accounts are untouched', async (t) => {
  const edge = await startEdge(t, { identityPollMs: 200 })
  const acmeOrigin = await startOrigin(t)
  const otherOrigin = await startOrigin(t)
  const one = await startAgent(t, edge, acmeOrigin, { identity: await identityFor(edge, 'acme', ACME), hostnames: ['app.acme.localhost'] })
  const two = await startAgent(t, edge, acmeOrigin, { identity: await identityFor(edge, 'acme', ACME), hostnames: ['api.acme.localhost'] })
  await startAgent(t, edge, otherOrigin, { identity: await identityFor(edge, 'other', [{ zone: 'other.localhost', wildcard: false }]), hostnames: ['app.other.localhost'] })
  const pending = await edge.edge.createEnrollmentToken('acme', 60_000)
  const codes: string[] = []
  for (const agent of [one, two]) agent.on('fatal', (err) => codes.push(err.code))

  const serials = [one.certificate.serial, two.certificate.serial]
  const revoked = await edge.edge.identity.revoke('acme')
  t.same([...revoked].sort(), [...serials].sort(), 'every certificate of the account is revoked')
  await waitFor(() => codes.length === 2, 5_000)
  t.same(codes, ['BURROW_ERR_CERT_REVOKED', 'BURROW_ERR_CERT_REVOKED'])
  t.equal(one.state, 'failed')
  t.equal(two.state, 'failed')
  for (const host of ['app.acme.localhost', 'api.acme.localhost']) {
    const res = await visit(edge.base, '/', { host })
    t.equal(res.status, 503, `${host} has no tunnel`)
    t.equal(res.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')
  }
  t.equal((await visit(edge.base, '/', { host: 'app.other.localhost' })).status, 200, 'another account keeps serving')

  const err = await enrollRejection(t, enroll({ host: '127.0.0.1', port: tunnelPort(edge), token: pending }))
  t.equal(err.code, 'BURROW_ERR_ENROLLMENT_INVALID', 'a token made before the revocation no longer enrolls')
})

t.test('§4.8 revoking a serial also revokes the certificates renewed from it', async (t) => {
  const edge = await startEdge(t, { identityPollMs: 200 })
  const origin = await startOrigin(t)
  const agent = await startAgent(t, edge, origin, { identity: await identityFor(edge, 'acme', ACME), hostnames: ['app.acme.localhost'] })
  const original = agent.certificate.serial
  await agent.renewNow()
  const renewed = agent.certificate.serial
  t.not(renewed, original, 'the agent moved to a new certificate')
  await waitFor(() => edge.edge.connectionCount === 1, 5_000)
  t.equal((await visit(edge.base, '/', { host: 'app.acme.localhost' })).status, 200, 'served with the renewed certificate')

  const fatal = new Promise<RegistrationError>((resolve) => agent.once('fatal', resolve))
  const revoked = await edge.edge.identity.revoke(original)
  t.same([...revoked].sort(), [original, renewed].sort(), 'the original and its renewal are revoked')
  const err = await Promise.race([fatal, sleep(5_000, undefined)])
  t.equal(err?.code, 'BURROW_ERR_CERT_REVOKED', 'the renewed connection is cut too')
  t.equal(agent.state, 'failed')
  const res = await visit(edge.base, '/', { host: 'app.acme.localhost' })
  t.equal(res.status, 503)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')
})

// -------------------------------------------------------------------------------------------------
// §4.7: renewal

t.test('§4.7 renewal before expiry keeps every visitor request served (make-before-break)', async (t) => {
  const edge = await startEdge(t, { certLifetimeMs: 4_000, identityPollMs: 200 })
  const origin = await startOrigin(t)
  const identity = await identityFor(edge, 'acme', ACME)
  const saved: AgentIdentity[] = []
  const agent = await startAgent(t, edge, origin, {
    identity,
    hostnames: ['app.acme.localhost'],
    onIdentityRenewed: (id) => { saved.push(id) },
  })
  const renewedEvents: AgentIdentity[] = []
  agent.on('renewed', (id) => renewedEvents.push(id))
  let fatal: RegistrationError | undefined
  agent.on('fatal', (err) => { fatal = err })

  // Sequential and concurrent visitors for ~6 s: past the first certificate's notAfter.
  const statuses = new Map<number, number>()
  const count = (s: number): void => { statuses.set(s, (statuses.get(s) ?? 0) + 1) }
  const deadline = Date.now() + 6_000
  for (let i = 0; i < 2_000 && Date.now() < deadline; i++) {
    count((await visit(edge.base, `/seq/${i}`, { host: 'app.acme.localhost' })).status)
    if (i % 10 === 0) {
      const burst = await Promise.all(Array.from({ length: 8 }, async (_, j) => await visit(edge.base, `/par/${i}/${j}`, { host: 'app.acme.localhost' })))
      for (const r of burst) count(r.status)
    }
    await sleep(5)
  }
  const total = [...statuses.values()].reduce((a, b) => a + b, 0)
  t.same([...statuses.keys()], [200], `all ${total} visitor requests got 200 (${JSON.stringify(Object.fromEntries(statuses))})`)
  t.ok(Date.now() > identity.notAfterMs, 'the run outlived the first certificate')
  t.equal(fatal, undefined)

  t.ok(renewedEvents.length >= 1, `renewed ${renewedEvents.length} time(s)`)
  t.ok(saved.length >= renewedEvents.length, 'onIdentityRenewed saw every renewed identity')
  // A 4 s certificate is renewed every few seconds, not in a loop.
  t.ok(renewedEvents.length <= 6, `renewed ${renewedEvents.length} times in 6 s`)
  const first = saved[0]!
  const latest = saved[saved.length - 1]!
  t.not(first.serial, identity.serial, 'a new serial')
  t.not(first.keyPem, identity.keyPem, 'a new key pair')
  t.ok(latest.notAfterMs > identity.notAfterMs, 'a later notAfter')
  t.equal(agent.certificate.serial, latest.serial, 'the agent uses the latest certificate')
  // Each certificate records the one it renewed: identity -> saved[0] -> saved[1] ...
  const records = edge.edge.identity.certificates()
  let previous = identity.serial
  for (const id of saved) {
    const record = records.find((c) => c.serial === id.serial)
    t.equal(record?.renewedFrom, previous, `certificate ${id.serial} records that it renewed ${previous}`)
    t.equal(record?.account, 'acme')
    previous = id.serial
  }
  await waitFor(() => edge.edge.connectionCount === 1, 5_000)
  t.equal(edge.edge.connectionCount, 1, 'the old connection was closed')
})

t.test('§4.7 a renewed certificate carries the account\'s current zones', async (t) => {
  const edge = await startEdge(t)
  const origin = await startOrigin(t)
  const saved: AgentIdentity[] = []
  const identity = await identityFor(edge, 'acme', ACME)
  const agent = await startAgent(t, edge, origin, {
    identity,
    hostnames: ['app.acme.localhost'],
    onIdentityRenewed: (id) => { saved.push(id) },
  })
  const more: ZoneGrant = { zone: 'acme2.localhost', wildcard: false }
  await edge.edge.identity.ensureAccount('acme', [more])
  // A zone change takes effect with the next certificate: the current one cannot use the new zone.
  const early = newAgent(t, edge, origin, identity, { hostnames: ['app.acme2.localhost'] })
  t.equal((await startRejection(t, early)).code, 'BURROW_ERR_HOSTNAME_FORBIDDEN', 'the old certificate does not grant the new zone')
  await agent.renewNow()
  t.equal(saved.length, 1)
  t.same(agent.certificate.zones, [...ACME, more], 'the renewed certificate has the zones the account has now')
  t.match(new X509Certificate(saved[0]!.certPem).subjectAltName ?? '', /URI:urn:burrow:zone:acme2\.localhost/)
  const record = edge.edge.identity.certificates().find((c) => c.serial === saved[0]!.serial)
  t.same(record?.zones, [...ACME, more])

  // The renewed identity can register in the new zone.
  const second = await startOrigin(t)
  await startAgent(t, edge, second, { identity: saved[0]!, hostnames: ['app.acme2.localhost'] })
  const res = await visit(edge.base, '/', { host: 'app.acme2.localhost' })
  t.equal(res.status, 200)
  t.equal(second.received.length, 1)
})
