/**
 * Conformance of the edge, identity on tunnel connections (SPEC.md §4.1-§4.4, §4.8): the client
 * certificate decides the account and its zones, checked in the documented order; zones grant
 * hostnames; revoked and expired certificates lose their live connections. A fake agent drives a
 * real edge.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { startEdge, visit, waitFor, identityFor, type StartedEdge } from '../helpers/servers.js'
import { issueIdentity } from '../helpers/identity.js'
import { ensureCa, type CaPair } from '../../src/edge/pki.js'
import { IdentityStore } from '../../src/edge/identity-store.js'
import { EC_P256, exportKeyPem, generateKeyPair, importKeyPem, x509 } from '../../src/transport/x509.js'
import type { AgentIdentity } from '../../src/agent/enrollment.js'
import type { ZoneGrant } from '../../src/protocol/identity.js'
import { FakeAgent, H2, credentials, within } from './fake-agent.js'
import { makePki } from './fake-edge.js'

/** A fake agent presenting `identity`, or no client certificate when it is undefined. */
async function fakeAs (t: Test, edge: StartedEdge, identity?: { certPem: string, keyPem: string }): Promise<FakeAgent> {
  return await FakeAgent.connect(t, {
    tunnel: edge.tunnel,
    ca: edge.edge.caCertPem,
    ...(identity === undefined ? {} : { cert: identity.certPem, key: identity.keyPem }),
  })
}

/** Registers `hostnames` on a fresh connection as `identity`; returns the answer and closes the connection. */
async function tryRegister (t: Test, edge: StartedEdge, identity: { certPem: string, keyPem: string } | undefined, hostnames: string[], extra = {}): Promise<Awaited<ReturnType<FakeAgent['register']>>> {
  const fake = await fakeAs(t, edge, identity)
  const answer = await fake.register(hostnames, extra)
  fake.destroy()
  return answer
}

/** The edge CA (certificate and key) from the edge's state directory. */
async function edgeCa (edge: StartedEdge): Promise<CaPair> {
  return await ensureCa(edge.stateDir)
}

interface CustomCert {
  uris?: string[]
  /** Extended key usages; default clientAuth. */
  eku?: string[]
  notBefore?: Date
  notAfter?: Date
}

/**
 * A certificate signed by `ca` with chosen SAN URIs and EKU: certificates the edge would never issue
 * (no account URI, two of them, no clientAuth), to check the edge refuses them anyway.
 */
async function customCert (ca: CaPair, options: CustomCert): Promise<{ certPem: string, keyPem: string }> {
  const keys = await generateKeyPair()
  const caCert = new x509.X509Certificate(ca.certPem)
  const now = Date.now()
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(options.eku ?? [x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ]
  const uris = options.uris ?? []
  if (uris.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value }))))
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01' + randomBytes(15).toString('hex'),
    subject: 'CN=test',
    issuer: caCert.subject,
    notBefore: options.notBefore ?? new Date(now - 60_000),
    notAfter: options.notAfter ?? new Date(now + 3_600_000),
    signingAlgorithm: EC_P256,
    publicKey: keys.publicKey,
    signingKey: await importKeyPem(ca.keyPem),
    extensions,
  })
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) }
}

const ZONE_LOCALHOST = 'urn:burrow:zone:localhost'

t.test('§4.1 without a client certificate the TLS handshake succeeds and Register gets CERT_REQUIRED, permanent, retry_after_ms 0', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeAs(t, edge)
  t.equal(fake.socket.alpnProtocol, 'burrow/1', '§1.1 the edge did not abort the handshake for a missing certificate')
  await fake.control()
  t.pass('the edge opened the control stream: the connection is served until Register')
  const answer = await fake.register(['app.localhost'])
  t.equal(answer.msg, 'registerRejected')
  t.match(answer.registerRejected, { code: 'BURROW_ERR_CERT_REQUIRED', permanent: true, retryAfterMs: 0 })
  const closed = await within(fake.closed, 3_000, 'close')
  t.equal(closed.goawayCode, H2.NO_ERROR, '§3.3 GOAWAY NO_ERROR after the rejection')
  t.equal((await visit(edge.base, '/')).status, 404, 'nothing was registered')
})

t.test('§4.1 §4.2 a certificate from another CA is rejected with CERT_INVALID, permanent', async (t) => {
  const edge = await startEdge(t)
  const foreign = await makePki(t) // a CA with the same subject name (CN=Burrow Edge CA) but another key
  const identity = await issueIdentity(foreign.ca)
  const answer = await tryRegister(t, edge, identity, ['app.localhost'])
  t.match(answer.registerRejected, { code: 'BURROW_ERR_CERT_INVALID', permanent: true, retryAfterMs: 0 })
})

t.test('§4.1 an expired certificate, and one not yet valid, are rejected with CERT_EXPIRED, permanent', async (t) => {
  const edge = await startEdge(t)
  const ca = await edgeCa(edge)
  const expired = await issueIdentity(ca, { now: Date.now() - 7_200_000, lifetimeMs: 3_600_000 })
  t.match((await tryRegister(t, edge, expired, ['app.localhost'])).registerRejected, { code: 'BURROW_ERR_CERT_EXPIRED', permanent: true, retryAfterMs: 0 }, 'expired')
  const future = await issueIdentity(ca, { now: Date.now() + 3_600_000, lifetimeMs: 3_600_000 })
  t.match((await tryRegister(t, edge, future, ['app.localhost'])).registerRejected, { code: 'BURROW_ERR_CERT_EXPIRED', permanent: true }, 'not yet valid')
})

t.test('§4.1 §4.8 a revoked certificate is rejected with CERT_REVOKED, permanent; another certificate of the account still works', async (t) => {
  const edge = await startEdge(t)
  const revoked = await identityFor(edge)
  const kept = await identityFor(edge)
  t.same(await edge.edge.identity.revoke(revoked.serial), [revoked.serial])
  t.match((await tryRegister(t, edge, revoked, ['app.localhost'])).registerRejected, { code: 'BURROW_ERR_CERT_REVOKED', permanent: true, retryAfterMs: 0 })
  t.equal((await tryRegister(t, edge, kept, ['app.localhost'])).msg, 'registerAccepted', 'revocation is per serial')
})

t.test('§4.1 a revocation written by another process (burrow edge certs revoke) counts for the next Register', async (t) => {
  const edge = await startEdge(t, { identityPollMs: 60_000 }) // no help from polling
  const identity = await identityFor(edge)
  const cli = await IdentityStore.open(edge.stateDir)
  await cli.revoke(identity.serial)
  t.match((await tryRegister(t, edge, identity, ['app.localhost'])).registerRejected, { code: 'BURROW_ERR_CERT_REVOKED' })
})

t.test('§4.1 §4.2 certificates from the edge CA that are not agent certificates are rejected with CERT_INVALID', async (t) => {
  const edge = await startEdge(t)
  const ca = await edgeCa(edge)
  const cases: Array<[string, CustomCert]> = [
    ['no SAN at all', {}],
    ['zones but no urn:burrow:account: URI', { uris: [ZONE_LOCALHOST] }],
    ['two account URIs', { uris: ['urn:burrow:account:test', 'urn:burrow:account:other', ZONE_LOCALHOST] }],
    ['an account URI with an invalid account name', { uris: ['urn:burrow:account:Not_Valid', ZONE_LOCALHOST] }],
    ['no clientAuth extended key usage', { uris: ['urn:burrow:account:test', ZONE_LOCALHOST], eku: [x509.ExtendedKeyUsage.serverAuth] }],
  ]
  for (const [name, options] of cases) {
    const answer = await tryRegister(t, edge, await customCert(ca, options), ['app.localhost'])
    t.match(answer.registerRejected, { code: 'BURROW_ERR_CERT_INVALID', permanent: true, retryAfterMs: 0 }, name)
  }
  const control = await customCert(ca, { uris: ['urn:burrow:account:test', ZONE_LOCALHOST] })
  t.equal((await tryRegister(t, edge, control, ['app.localhost'])).msg, 'registerAccepted', 'the same certificate with account URI and clientAuth is accepted')
})

t.test('§3.7 §4.1 order of checks: draining, version, then identity (1 required, 2 invalid, 3 expired, 4 revoked), then hostnames', async (t) => {
  const edge = await startEdge(t)
  const ca = await edgeCa(edge)
  t.match((await tryRegister(t, edge, undefined, ['app.localhost'], { protocolVersion: 0 })).registerRejected,
    { code: 'BURROW_ERR_UNSUPPORTED_VERSION', permanent: true }, 'version before identity: protocol_version 0 without a certificate')
  t.equal((await tryRegister(t, edge, undefined, ['bad_name.localhost', 'app.example.com'])).registerRejected?.code,
    'BURROW_ERR_CERT_REQUIRED', 'identity before hostname validity and zones')

  const foreignExpired = await issueIdentity((await makePki(t)).ca, { now: Date.now() - 7_200_000, lifetimeMs: 3_600_000 })
  t.equal((await tryRegister(t, edge, foreignExpired, ['app.localhost'])).registerRejected?.code,
    'BURROW_ERR_CERT_INVALID', 'not issued by this CA (2) before expired (3)')
  const noAccountExpired = await customCert(ca, { uris: [ZONE_LOCALHOST], notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) })
  t.equal((await tryRegister(t, edge, noAccountExpired, ['app.localhost'])).registerRejected?.code,
    'BURROW_ERR_CERT_INVALID', 'no account URI (2) before expired (3)')

  // An expired certificate that is also revoked: recorded and revoked like one the edge issued.
  const expired = await issueIdentity(ca, { now: Date.now() - 7_200_000, lifetimeMs: 3_600_000 })
  await edge.edge.identity.recordCertificate(expired.serial, {
    account: 'test', zones: expired.zones, notBefore: expired.notBeforeMs, notAfter: expired.notAfterMs, issuedAt: expired.notBeforeMs,
  })
  await edge.edge.identity.revoke(expired.serial)
  t.equal((await tryRegister(t, edge, expired, ['app.localhost'])).registerRejected?.code, 'BURROW_ERR_CERT_EXPIRED', 'expired (3) before revoked (4)')

  const revoked = await identityFor(edge)
  await edge.edge.identity.revoke(revoked.serial)
  t.equal((await tryRegister(t, edge, revoked, ['bad_name.localhost'])).registerRejected?.code, 'BURROW_ERR_CERT_REVOKED', 'revoked (4) before hostname validity')

  const valid = await credentials(edge)
  const test = { certPem: valid.cert, keyPem: valid.key }
  t.equal((await tryRegister(t, edge, test, ['app.example.com', 'bad_name.localhost'])).registerRejected?.code,
    'BURROW_ERR_HOSTNAME_INVALID', 'invalid before forbidden, whatever the order of the hostnames in the Register')
  const owner = await fakeAs(t, edge, test)
  t.equal((await owner.register(['owned.localhost'])).msg, 'registerAccepted')
  const other = await issueIdentity(ca, { account: 'other', zones: [{ zone: 'localhost', wildcard: false }] }) // overlapping zone: only the CA can make it
  t.match((await tryRegister(t, edge, other, ['owned.localhost', 'app.example.com'])).registerRejected,
    { code: 'BURROW_ERR_HOSTNAME_FORBIDDEN', permanent: true }, 'forbidden (permanent) before taken (retryable)')
  t.equal((await tryRegister(t, edge, other, ['owned.localhost', 'bad_name.localhost'])).registerRejected?.code,
    'BURROW_ERR_HOSTNAME_INVALID', 'invalid before taken')
  owner.destroy()

  const draining = await fakeAs(t, edge)
  await draining.control()
  const closing = edge.edge.close()
  t.match((await draining.register(['app.localhost'])).registerRejected, { code: 'BURROW_ERR_EDGE_DRAINING', permanent: false }, 'draining before identity')
  draining.destroy()
  await within(closing, 3_000, 'edge close')
})

t.test('§4.3 the zone rule: a zone grants itself and names below it, nothing beside or above it', async (t) => {
  const edge = await startEdge(t)
  const acme = await identityFor(edge, 'acme', [{ zone: 'acme.localhost', wildcard: false }])
  const cases: Array<[string[], string]> = [
    [['acme.localhost'], 'registerAccepted'],
    [['api.acme.localhost'], 'registerAccepted'],
    [['api.eu.acme.localhost'], 'registerAccepted'],
    [['API.Acme.LOCALHOST.'], 'registerAccepted'],
    [['notacme.localhost'], 'BURROW_ERR_HOSTNAME_FORBIDDEN'],
    [['xacme.localhost'], 'BURROW_ERR_HOSTNAME_FORBIDDEN'],
    [['localhost'], 'BURROW_ERR_HOSTNAME_FORBIDDEN'],
    [['acme.localhost.example'], 'BURROW_ERR_HOSTNAME_FORBIDDEN'],
    [['*.acme.localhost'], 'BURROW_ERR_HOSTNAME_FORBIDDEN'],
  ]
  for (const [hostnames, expected] of cases) {
    const answer = await tryRegister(t, edge, acme, hostnames)
    if (expected === 'registerAccepted') {
      t.equal(answer.msg, 'registerAccepted', `${hostnames[0]!} is in zone acme.localhost`)
    } else {
      t.match(answer.registerRejected, { code: expected, permanent: true, retryAfterMs: 0 }, `${hostnames[0]!} is not granted by zone acme.localhost (wildcard: false)`)
    }
  }
  const mixed = await tryRegister(t, edge, acme, ['www.acme.localhost', 'www.xacme.localhost'])
  t.equal(mixed.registerRejected?.code, 'BURROW_ERR_HOSTNAME_FORBIDDEN', 'one forbidden hostname rejects the Register')
  t.equal((await visit(edge.base, '/', { host: 'www.acme.localhost' })).status, 404, 'all or nothing: the granted one was not registered')
})

t.test('§4.3 the wildcard rule: *.X needs a wildcard grant whose zone grants X', async (t) => {
  const edge = await startEdge(t)
  const wild = await identityFor(edge, 'wild', [{ zone: 'wild.localhost', wildcard: true }, { zone: 'plain.localhost', wildcard: false }])
  const cases: Array<[string, string]> = [
    ['*.wild.localhost', 'registerAccepted'],
    ['*.eu.wild.localhost', 'registerAccepted'],
    ['app.wild.localhost', 'registerAccepted'],
    ['*.plain.localhost', 'BURROW_ERR_HOSTNAME_FORBIDDEN'],
    ['*.a.plain.localhost', 'BURROW_ERR_HOSTNAME_FORBIDDEN'],
    ['*.xwild.localhost', 'BURROW_ERR_HOSTNAME_FORBIDDEN'],
  ]
  for (const [hostname, expected] of cases) {
    const answer = await tryRegister(t, edge, wild, [hostname])
    if (expected === 'registerAccepted') t.equal(answer.msg, 'registerAccepted', `${hostname} is granted`)
    else t.match(answer.registerRejected, { code: expected, permanent: true }, `${hostname} is forbidden`)
  }
  const accepted = await tryRegister(t, edge, wild, ['*.API.Wild.LOCALHOST.'])
  t.same(accepted.registerAccepted?.hostnames, ['*.api.wild.localhost'], '§4.4 the part after *. is normalised, the *. kept')
})

t.test('§4.3 wildcard routing: *.X serves names exactly one label below X, and only when no exact registration is live', async (t) => {
  const edge = await startEdge(t)
  const wild = await identityFor(edge, 'wild', [{ zone: 'wild.localhost', wildcard: true }])
  const any = await fakeAs(t, edge, wild)
  t.equal((await any.register(['*.wild.localhost'])).msg, 'registerAccepted')
  any.onRequest = (stream) => { stream.respond({ ':status': 200, 'burrow-response-source': 'origin' }); stream.end('wildcard') }

  t.equal((await visit(edge.base, '/', { host: 'a.wild.localhost' })).text, 'wildcard', 'a.X goes to *.X')
  t.equal((await visit(edge.base, '/', { host: 'B.Wild.localhost:80' })).text, 'wildcard', 'after normalising the Host')
  t.equal((await visit(edge.base, '/', { host: 'wild.localhost' })).status, 404, 'X itself is not served by *.X')
  t.equal((await visit(edge.base, '/', { host: 'b.a.wild.localhost' })).status, 404, 'two labels below X are not served by *.X')

  const exact = await fakeAs(t, edge, wild)
  t.equal((await exact.register(['a.wild.localhost'])).msg, 'registerAccepted')
  exact.onRequest = (stream) => { stream.respond({ ':status': 200, 'burrow-response-source': 'origin' }); stream.end('exact') }
  t.equal((await visit(edge.base, '/', { host: 'a.wild.localhost' })).text, 'exact', 'a live exact registration wins')
  t.equal((await visit(edge.base, '/', { host: 'c.wild.localhost' })).text, 'wildcard', 'other names still go to *.X')
  exact.destroy()
  await waitFor(() => edge.edge.connectionCount === 1, 2_000)
  t.equal((await visit(edge.base, '/', { host: 'a.wild.localhost' })).text, 'wildcard', 'once the exact registration is gone, *.X serves a.X again')
})

t.test('§4.4 a Register hostname may start with one *. label; any other * is HOSTNAME_INVALID', async (t) => {
  const edge = await startEdge(t)
  const wild = await identityFor(edge, 'wild', [{ zone: 'wild.localhost', wildcard: true }])
  const invalid = [
    '*.*.wild.localhost',
    'a.*.wild.localhost',
    '*',
    '*.',
    '**.wild.localhost',
    'a*.wild.localhost',
    '*a.wild.localhost',
    'wild.localhost.*',
    '*.localhost', // the part after *. needs at least two labels
    `*.${'a.'.repeat(119)}wild.localhost`, // the part after *. is 252 characters (valid alone); with *. 254 > 253
  ]
  for (const hostname of invalid) {
    const answer = await tryRegister(t, edge, wild, [hostname])
    t.match(answer.registerRejected, { code: 'BURROW_ERR_HOSTNAME_INVALID', permanent: true }, `${hostname.slice(0, 40)} is invalid`)
  }
  t.equal((await tryRegister(t, edge, wild, [`*.${'a.'.repeat(118)}wild.localhost`])).msg, 'registerAccepted', 'a wildcard name of 252 characters is valid')
})

t.test('§4.8 a registered connection whose certificate is revoked gets ProtocolError CERT_REVOKED, then GOAWAY, and is closed; its reconnect is refused', async (t) => {
  const edge = await startEdge(t, { identityPollMs: 200 })
  const identity = await identityFor(edge)
  const fake = await fakeAs(t, edge, identity)
  t.equal((await fake.register()).msg, 'registerAccepted')
  t.equal((await visit(edge.base, '/')).status, 200)
  // Revoked the way `burrow edge certs revoke` does it: another process writes identity.json.
  const cli = await IdentityStore.open(edge.stateDir)
  await cli.revoke(identity.serial)
  const frames = await fake.frames()
  const frame = await frames.nextOf('protocolError', 5_000)
  t.equal(frame.protocolError?.code, 'BURROW_ERR_CERT_REVOKED')
  await waitFor(() => fake.goawayCode !== undefined, 3_000)
  t.pass(`GOAWAY (code ${String(fake.goawayCode)})`)
  await within(fake.closed, 5_000, 'close')
  t.pass('the socket closed')
  const res = await visit(edge.base, '/')
  t.equal(res.status, 503, 'the hostname is no longer routed to it')
  t.match((await tryRegister(t, edge, identity, ['app.localhost'])).registerRejected, { code: 'BURROW_ERR_CERT_REVOKED', permanent: true }, 'a reconnect with the same certificate is rejected permanently')
})

t.test('§4.8 revoking an account ends every live connection of the account, and only those', async (t) => {
  const edge = await startEdge(t, { identityPollMs: 200 })
  const a = await fakeAs(t, edge, await identityFor(edge))
  const b = await fakeAs(t, edge, await identityFor(edge))
  const other = await fakeAs(t, edge, await identityFor(edge, 'other', [{ zone: 'other.example', wildcard: false }]))
  t.equal((await a.register()).msg, 'registerAccepted')
  t.equal((await b.register()).msg, 'registerAccepted')
  t.equal((await other.register(['www.other.example'])).msg, 'registerAccepted')
  await edge.edge.identity.revoke('test')
  for (const fake of [a, b]) {
    t.equal((await (await fake.frames()).nextOf('protocolError', 5_000)).protocolError?.code, 'BURROW_ERR_CERT_REVOKED')
    await within(fake.closed, 5_000, 'close')
  }
  t.equal(other.goawayCode, undefined, 'the other account keeps its connection')
  t.equal((await visit(edge.base, '/', { host: 'www.other.example' })).status, 200)
})

t.test('§4.8 a registered connection whose certificate expires gets ProtocolError CERT_EXPIRED and is closed', async (t) => {
  const edge = await startEdge(t, { identityPollMs: 200 })
  const ca = await edgeCa(edge)
  const identity: AgentIdentity = await issueIdentity(ca, { lifetimeMs: 2_500 }) // notAfter 1.5-2.5 s from now (whole seconds)
  const fake = await fakeAs(t, edge, identity)
  t.equal((await fake.register()).msg, 'registerAccepted')
  const frame = await (await fake.frames()).nextOf('protocolError', 8_000)
  t.equal(frame.protocolError?.code, 'BURROW_ERR_CERT_EXPIRED')
  t.ok(Date.now() >= identity.notAfterMs, 'not before notAfter')
  await within(fake.closed, 5_000, 'close')
  t.pass('the socket closed')
  t.equal((await visit(edge.base, '/')).status, 503)
})

t.test('§4.1 the account, zones and serial of a connection are those of its handshake certificate', async (t) => {
  const edge = await startEdge(t)
  const zones: ZoneGrant[] = [{ zone: 'acme.localhost', wildcard: false }]
  const acme = await identityFor(edge, 'acme', zones)
  // The account gets a new zone after enrollment: the certificate in hand does not carry it (§4.3).
  await edge.edge.identity.ensureAccount('acme', [{ zone: 'acme2.localhost', wildcard: false }])
  t.equal((await tryRegister(t, edge, acme, ['app.acme.localhost'])).msg, 'registerAccepted')
  t.equal((await tryRegister(t, edge, acme, ['app.acme2.localhost'])).registerRejected?.code, 'BURROW_ERR_HOSTNAME_FORBIDDEN',
    'a zone added to the account takes effect with the next certificate')
})
