/**
 * Conformance of the edge, enrollment connections (SPEC.md §4.5-§4.7): ALPN burrow-enroll/1 on the
 * tunnel port, one EnrollRequest and one answer, the certificate the edge issues, CSR and token
 * checks, renewal with the current certificate. A raw enrollment client drives a real edge.
 */
import t, { type Test } from 'tap'
import { createHash, createPrivateKey, webcrypto, X509Certificate } from 'node:crypto'
import { startEdge, identityFor, type StartedEdge } from '../helpers/servers.js'
import { issueIdentity } from '../helpers/identity.js'
import { ensureCa } from '../../src/edge/pki.js'
import { createKeyAndCsr, x509 } from '../../src/transport/x509.js'
import { encodeFrame, type DecodedFrame } from '../../src/protocol/codec.js'
import type { AgentIdentity } from '../../src/agent/enrollment.js'
import type { ZoneGrant } from '../../src/protocol/identity.js'
import { ALPN_ENROLL, FakeAgent, FakeEnrollClient, H2, credentials, registerFrame, within } from './fake-agent.js'
import { makePki } from './fake-edge.js'

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
const HOUR = 3_600_000

/** An enrollment connection to `edge`, verifying it against the edge CA, presenting `identity` if given. */
async function enrollConn (t: Test, edge: StartedEdge, identity?: { certPem: string, keyPem: string }): Promise<FakeEnrollClient> {
  return await FakeEnrollClient.connect(t, {
    tunnel: edge.tunnel,
    ca: edge.edge.caCertPem,
    ...(identity === undefined ? {} : { cert: identity.certPem, key: identity.keyPem }),
  })
}

/** One EnrollRequest on a fresh connection; returns the answer once the edge has closed the connection. */
async function exchange (t: Test, edge: StartedEdge, token: string, csr: Uint8Array, identity?: { certPem: string, keyPem: string }): Promise<DecodedFrame> {
  const conn = await enrollConn(t, edge, identity)
  const answer = await conn.request(token, csr)
  await within(conn.closed, 3_000, 'the edge ending the enrollment connection')
  return answer
}

/** A valid CSR (ECDSA P-256, self-signed) and its private key. */
async function goodCsr (commonName = 'agent'): Promise<{ keyPem: string, csrDer: Buffer }> {
  return await createKeyAndCsr(commonName)
}

async function csrFor (keys: CryptoKeyPair, signingAlgorithm: Algorithm | EcdsaParams | RsaHashedImportParams): Promise<Buffer> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=agent', keys, signingAlgorithm })
  return Buffer.from(csr.rawData)
}

/** CSRs the edge must refuse (§4.5): not DER, another curve, another key type, a signature by another key. */
async function badCsrs (): Promise<Array<[string, Buffer]>> {
  const subtle = webcrypto.subtle
  const p384 = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']) as unknown as CryptoKeyPair
  const rsa = await subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']) as unknown as CryptoKeyPair
  const ecAlg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const a = await subtle.generateKey(ecAlg, true, ['sign', 'verify']) as unknown as CryptoKeyPair
  const b = await subtle.generateKey(ecAlg, true, ['sign', 'verify']) as unknown as CryptoKeyPair
  return [
    ['empty', Buffer.alloc(0)],
    ['not DER', Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nnot der\n')],
    ['a P-384 key', await csrFor(p384, { name: 'ECDSA', hash: 'SHA-384' })],
    ['an RSA key', await csrFor(rsa, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as RsaHashedImportParams)],
    ['a P-256 key, signed by another key (no proof of possession)', await csrFor({ publicKey: a.publicKey, privateKey: b.privateKey }, ecAlg)],
  ]
}

function plainZones (zones: Array<{ zone?: string | null, wildcard?: boolean | null }> | null | undefined): ZoneGrant[] {
  return (zones ?? []).map((z) => ({ zone: z.zone ?? '', wildcard: z.wildcard === true }))
}

function uriEntries (cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(', ').filter((e) => e.startsWith('URI:')).map((e) => e.slice(4)).sort()
}

function serialHex (cert: X509Certificate): string {
  return cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, '')
}

t.test('§1.2 §4.5 the tunnel port selects ALPN burrow-enroll/1 for an enrollment connection and burrow/1 for a tunnel connection', async (t) => {
  const edge = await startEdge(t)
  const conn = await enrollConn(t, edge)
  t.equal(conn.socket.alpnProtocol, ALPN_ENROLL)
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  t.equal(fake.socket.alpnProtocol, 'burrow/1', 'same port')
  t.ok(conn.socket.authorized, 'the enrollment connection verifies against the edge CA like a tunnel connection (§1.3)')
})

t.test('§4.5 the edge sends the CA after the serving certificate in its chain, and the token pins the SHA-256 of that CA (DER)', async (t) => {
  const edge = await startEdge(t)
  await edge.edge.identity.addAccount('acme', [{ zone: 'acme.localhost', wildcard: false }])
  const token = await edge.edge.createEnrollmentToken('acme', HOUR)
  // No CA given to the client: whatever chain it sees is what the edge sent.
  const conn = await FakeEnrollClient.connect(t, { tunnel: edge.tunnel })
  const leaf = conn.socket.getPeerCertificate(true)
  const next = leaf.issuerCertificate
  t.ok(next !== undefined && next.raw !== undefined && !next.raw.equals(leaf.raw), 'a second certificate follows the serving certificate')
  const caDer = new X509Certificate(edge.edge.caCertPem).raw
  t.ok(next.raw.equals(caDer), 'it is the edge CA')
  t.ok(new X509Certificate(leaf.raw).checkIssued(new X509Certificate(next.raw)), 'the serving certificate is issued by it')

  const parts = token.split('.')
  t.equal(parts.length, 4, '§4.6 burrow1.<id>.<secret>.<cafp>')
  t.equal(parts[0], 'burrow1')
  t.match(parts[1], /^[A-Za-z0-9_-]{12}$/, 'id: 9 bytes base64url')
  t.match(parts[2], /^[A-Za-z0-9_-]{43}$/, 'secret: 32 bytes base64url')
  t.equal(parts[3], createHash('sha256').update(next.raw).digest('base64url'), 'cafp: SHA-256 of the CA DER in the chain, base64url')
})

t.test('§4.5 §4.2 one EnrollRequest gets exactly one EnrollResponse, then the edge ends the connection; the certificate is as specified', async (t) => {
  const edge = await startEdge(t, { certLifetimeMs: HOUR })
  const zones: ZoneGrant[] = [{ zone: 'acme.localhost', wildcard: true }, { zone: 'acme.example', wildcard: false }]
  await edge.edge.identity.addAccount('acme', zones)
  const token = await edge.edge.createEnrollmentToken('acme', HOUR)
  const { keyPem, csrDer } = await goodCsr('evil-subject') // the CSR subject is ignored
  const conn = await enrollConn(t, edge)
  const before = Date.now()
  const answer = await conn.request(token, csrDer)
  const after = Date.now()
  await within(conn.closed, 3_000, 'the edge ending the connection')
  t.equal(conn.reader.frames.length, 1, 'exactly one frame came back')
  t.equal(conn.reader.error, undefined, 'and nothing else')
  t.equal(answer.msg, 'enrollResponse')
  const r = answer.enrollResponse!
  t.equal(r.account, 'acme')
  t.same(plainZones(r.zones), zones)

  const cert = new X509Certificate(r.certificate!)
  const ca = new X509Certificate(r.ca!)
  t.ok(ca.raw.equals(new X509Certificate(edge.edge.caCertPem).raw), '`ca` is the edge CA')
  t.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'the certificate verifies against `ca`')
  t.ok(cert.checkPrivateKey(createPrivateKey(keyPem)), 'it certifies the key of the CSR')
  t.equal(cert.subject, 'CN=acme', 'subject CN=<account>, not the CSR subject')
  t.same(uriEntries(cert), ['urn:burrow:account:acme', 'urn:burrow:zone:*.acme.localhost', 'urn:burrow:zone:acme.example'].sort(), 'SAN URIs: account, and one zone URI per grant')
  t.ok((cert.keyUsage ?? []).includes(CLIENT_AUTH), 'EKU clientAuth')
  t.equal(cert.ca, false, 'CA:FALSE')
  t.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'ECDSA P-256')
  t.match(r.serial, /^[1-9a-f][0-9a-f]*$/, 'serial: lower-case hex without leading zeros')
  t.equal(r.serial, serialHex(cert), 'serial equals the certificate serial')
  t.ok(r.serial!.length <= 32 && r.serial!.length >= 24, `a 128-bit serial (${r.serial!.length} hex digits)`)
  const notAfter = Date.parse(cert.validTo)
  t.equal(Number(String(r.notAfterMs)), notAfter, 'not_after_ms equals notAfter')
  t.ok(notAfter >= before + HOUR - 1_000 && notAfter <= after + HOUR, 'notAfter = issue time + certificate lifetime')
  const notBefore = Date.parse(cert.validFrom)
  t.ok(notBefore >= before - 61_000 && notBefore <= after - 59_000, 'notBefore = issue time - 60 s')
  const record = edge.edge.identity.certificates().find((c) => c.serial === r.serial)
  t.match(record, { account: 'acme', status: 'valid' }, 'the edge recorded the certificate')
})

t.test('§4.5 anything but an EnrollRequest as first frame is answered EnrollRejected{BURROW_ERR_PROTOCOL}, then the connection closes', async (t) => {
  const edge = await startEdge(t)
  const cases: Array<[string, Buffer]> = [
    ['undecodable bytes', Buffer.from('00000004ffffffff', 'hex')],
    ['a length prefix of 65537 (no payload)', Buffer.from('00010001', 'hex')],
    ['an empty Frame', Buffer.from('00000000', 'hex')],
    ['a frame with only an unknown member', Buffer.from('00000003a20100', 'hex')],
    ['a Register', encodeFrame(registerFrame())],
    ['a Heartbeat', encodeFrame({ heartbeat: { seq: 1, reply: false } })],
    ['an EnrollResponse', encodeFrame({ enrollResponse: { account: 'x' } })],
  ]
  for (const [name, bytes] of cases) {
    const conn = await enrollConn(t, edge)
    conn.sendRaw(bytes)
    const answer = await conn.next()
    t.equal(answer.enrollRejected?.code, 'BURROW_ERR_PROTOCOL', name)
    await within(conn.closed, 3_000, `close after ${name}`)
    t.equal(conn.reader.frames.length, 1, `${name}: nothing after the rejection`)
  }
})

t.test('§4.5 without a complete EnrollRequest within the deadline the edge closes the connection without an answer', async (t) => {
  const edge = await startEdge(t, { enrollmentDeadlineMs: 300 })
  for (const [name, bytes] of [['nothing sent', Buffer.alloc(0)], ['half a frame sent', encodeFrame({ enrollRequest: { token: 'x', csr: Buffer.alloc(40) } }).subarray(0, 20)]] as const) {
    const started = Date.now()
    const conn = await enrollConn(t, edge)
    if (bytes.length > 0) conn.sendRaw(bytes)
    await within(conn.closed, 3_000, 'the deadline')
    const elapsed = Date.now() - started
    t.ok(elapsed >= 250, `${name}: not before the deadline (${elapsed} ms)`)
    t.equal(conn.reader.raw().length, 0, `${name}: no answer`)
  }
})

t.test('§4.5 a bad CSR is answered CSR_INVALID, and does not consume the token', async (t) => {
  const edge = await startEdge(t)
  await edge.edge.identity.addAccount('acme', [{ zone: 'acme.localhost', wildcard: false }])
  const token = await edge.edge.createEnrollmentToken('acme', HOUR)
  for (const [name, csr] of await badCsrs()) {
    const answer = await exchange(t, edge, token, csr)
    t.equal(answer.enrollRejected?.code, 'BURROW_ERR_CSR_INVALID', name)
  }
  const ok = await exchange(t, edge, token, (await goodCsr()).csrDer)
  t.equal(ok.msg, 'enrollResponse', '§4.6 a rejected request does not consume the token: it still enrolls')
  t.equal(ok.enrollResponse?.account, 'acme')
})

t.test('§4.6 token refusals: INVALID (malformed, unknown id, wrong secret), USED, EXPIRED; USED/EXPIRED only after the secret matched', async (t) => {
  const edge = await startEdge(t)
  await edge.edge.identity.addAccount('acme', [{ zone: 'acme.localhost', wildcard: false }])
  const token = await edge.edge.createEnrollmentToken('acme', HOUR)
  const [prefix, id, secret, cafp] = token.split('.') as [string, string, string, string]
  const otherSecret = (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1)
  const csr = async (): Promise<Buffer> => (await goodCsr()).csrDer
  const invalid: Array<[string, string]> = [
    ['not a token', 'not-a-token'],
    ['three parts', `${prefix}.${id}.${secret}`],
    ['another prefix', `burrow2.${id}.${secret}.${cafp}`],
    ['a short id', `${prefix}.${id.slice(1)}.${secret}.${cafp}`],
    ['a character outside base64url', `${prefix}.${id}.${secret.slice(1)}+.${cafp}`],
    ['an unknown id', `${prefix}.${id === 'AAAAAAAAAAAA' ? 'BBBBBBBBBBBB' : 'AAAAAAAAAAAA'}.${secret}.${cafp}`],
    ['a wrong secret', `${prefix}.${id}.${otherSecret}.${cafp}`],
  ]
  for (const [name, value] of invalid) {
    t.equal((await exchange(t, edge, value, await csr())).enrollRejected?.code, 'BURROW_ERR_ENROLLMENT_INVALID', name)
  }
  t.equal((await exchange(t, edge, token, await csr())).msg, 'enrollResponse', 'none of those consumed the token')
  t.equal((await exchange(t, edge, token, await csr())).enrollRejected?.code, 'BURROW_ERR_ENROLLMENT_USED', 'a second use')
  t.equal((await exchange(t, edge, `${prefix}.${id}.${otherSecret}.${cafp}`, await csr())).enrollRejected?.code, 'BURROW_ERR_ENROLLMENT_INVALID', 'a used token with a wrong secret: INVALID, not USED')

  const short = await edge.edge.createEnrollmentToken('acme', 1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await exchange(t, edge, short, await csr())).enrollRejected?.code, 'BURROW_ERR_ENROLLMENT_EXPIRED', 'past its lifetime')
  const [p2, id2, s2, f2] = short.split('.') as [string, string, string, string]
  t.equal((await exchange(t, edge, `${p2}.${id2}.${(s2[0] === 'A' ? 'B' : 'A') + s2.slice(1)}.${f2}`, await csr())).enrollRejected?.code,
    'BURROW_ERR_ENROLLMENT_INVALID', 'an expired token with a wrong secret: INVALID, not EXPIRED')
})

t.test('§3.11 §4.6 EnrollRejected on the wire: field 12 (62), code as field 1 (0a1a "BURROW_ERR_ENROLLMENT_USED")', async (t) => {
  const edge = await startEdge(t)
  await edge.edge.identity.addAccount('acme', [{ zone: 'acme.localhost', wildcard: false }])
  const token = await edge.edge.createEnrollmentToken('acme', HOUR)
  t.equal((await exchange(t, edge, token, (await goodCsr()).csrDer)).msg, 'enrollResponse')
  const conn = await enrollConn(t, edge)
  await conn.request(token, (await goodCsr()).csrDer)
  const raw = conn.reader.raw()
  const length = raw.readUInt32BE(0)
  t.equal(raw.length, 4 + length, 'one length-prefixed frame')
  t.equal(raw[4], 0x62, 'Frame field 12, length-delimited')
  const body = raw.subarray(4)
  // skip the tag and the varint length of the EnrollRejected message
  let i = 1
  while ((body[i]! & 0x80) !== 0) i++
  i++
  t.equal(body.subarray(i, i + 28).toString('hex'), '0a1a' + Buffer.from('BURROW_ERR_ENROLLMENT_USED').toString('hex'), 'code first, as in the wire example')
})

t.test('§4.5 with a token the edge ignores a presented client certificate, even a revoked one of another account', async (t) => {
  const edge = await startEdge(t)
  const old = await identityFor(edge, 'old', [{ zone: 'old.localhost', wildcard: false }])
  await edge.edge.identity.revoke('old')
  await edge.edge.identity.addAccount('acme', [{ zone: 'acme.localhost', wildcard: false }])
  const token = await edge.edge.createEnrollmentToken('acme', HOUR)
  const answer = await exchange(t, edge, token, (await goodCsr()).csrDer, old)
  t.equal(answer.msg, 'enrollResponse')
  t.equal(answer.enrollResponse?.account, 'acme', "the token's account")
})

t.test('§4.7 renewal (empty token) needs the current certificate: without one CERT_REQUIRED; the CSR is checked first', async (t) => {
  const edge = await startEdge(t)
  t.equal((await exchange(t, edge, '', (await goodCsr()).csrDer)).enrollRejected?.code, 'BURROW_ERR_CERT_REQUIRED')
  t.equal((await exchange(t, edge, '', Buffer.from('nope'))).enrollRejected?.code, 'BURROW_ERR_CSR_INVALID', 'a bad CSR without a certificate: CSR_INVALID')
})

t.test('§4.7 renewal with a valid certificate: a new serial, the same account, the account\'s current zones, a full lifetime, renewedFrom recorded', async (t) => {
  const edge = await startEdge(t, { certLifetimeMs: HOUR })
  const old: AgentIdentity = await identityFor(edge, 'acme', [{ zone: 'acme.localhost', wildcard: false }])
  // The operator grants another zone after enrollment: the renewed certificate carries it (§4.3).
  await edge.edge.identity.ensureAccount('acme', [{ zone: 'acme2.localhost', wildcard: false }])
  const { keyPem, csrDer } = await goodCsr()
  const before = Date.now()
  const answer = await exchange(t, edge, '', csrDer, old)
  t.equal(answer.msg, 'enrollResponse')
  const r = answer.enrollResponse!
  t.equal(r.account, 'acme')
  t.not(r.serial, old.serial, 'a new serial')
  t.same(plainZones(r.zones), [{ zone: 'acme.localhost', wildcard: false }, { zone: 'acme2.localhost', wildcard: false }], 'current zones, not those of the old certificate')
  const cert = new X509Certificate(r.certificate!)
  t.ok(cert.checkPrivateKey(createPrivateKey(keyPem)), 'for the new key')
  t.same(uriEntries(cert), ['urn:burrow:account:acme', 'urn:burrow:zone:acme.localhost', 'urn:burrow:zone:acme2.localhost'])
  t.equal(r.serial, serialHex(cert))
  t.ok(Number(String(r.notAfterMs)) >= before + HOUR - 1_000, 'a full lifetime')
  const record = edge.edge.identity.certificates().find((c) => c.serial === r.serial)
  t.equal(record?.renewedFrom, old.serial, 'recorded as renewed from the old serial')

  const renewed = { certPem: r.certificate!, keyPem }
  const fake = await FakeAgent.connect(t, { tunnel: edge.tunnel, ca: edge.edge.caCertPem, cert: renewed.certPem, key: renewed.keyPem })
  t.equal((await fake.register(['app.acme2.localhost'])).msg, 'registerAccepted', 'the renewed certificate grants the new zone')
  const oldConn = await FakeAgent.connect(t, { tunnel: edge.tunnel, ca: edge.edge.caCertPem, cert: old.certPem, key: old.keyPem })
  t.equal((await oldConn.register(['app.acme.localhost'])).msg, 'registerAccepted', 'the old certificate stays valid until its notAfter')

  await edge.edge.identity.revoke(old.serial)
  t.ok(edge.edge.identity.isRevoked(r.serial!), '§4.8 revoking a serial revokes the certificates renewed from it')
  const after = await FakeAgent.connect(t, { tunnel: edge.tunnel, ca: edge.edge.caCertPem, cert: renewed.certPem, key: renewed.keyPem })
  t.equal((await after.register(['app.acme.localhost'])).registerRejected?.code, 'BURROW_ERR_CERT_REVOKED')
})

t.test('§4.7 renewal with a revoked, an expired or a foreign certificate is refused with the §4.1 code', async (t) => {
  const edge = await startEdge(t)
  const revoked = await identityFor(edge)
  await edge.edge.identity.revoke(revoked.serial)
  t.equal((await exchange(t, edge, '', (await goodCsr()).csrDer, revoked)).enrollRejected?.code, 'BURROW_ERR_CERT_REVOKED', 'revoked')
  const expired = await issueIdentity(await ensureCa(edge.stateDir), { now: Date.now() - 2 * HOUR, lifetimeMs: HOUR })
  t.equal((await exchange(t, edge, '', (await goodCsr()).csrDer, expired)).enrollRejected?.code, 'BURROW_ERR_CERT_EXPIRED', 'expired')
  const foreign = await issueIdentity((await makePki(t)).ca)
  t.equal((await exchange(t, edge, '', (await goodCsr()).csrDer, foreign)).enrollRejected?.code, 'BURROW_ERR_CERT_INVALID', 'from another CA')
})

t.test('§3.1 §3.3 EnrollRequest, EnrollResponse and EnrollRejected on a control stream are protocol errors, before and after registration', async (t) => {
  const edge = await startEdge(t)
  const { csrDer } = await goodCsr()
  const frames = [
    { enrollRequest: { token: '', csr: csrDer } },
    { enrollResponse: { account: 'test' } },
    { enrollRejected: { code: 'BURROW_ERR_PROTOCOL' } },
  ]
  for (const frame of frames) {
    const name = Object.keys(frame)[0]!
    for (const registered of [true, false]) {
      const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
      if (registered) t.equal((await fake.register()).msg, 'registerAccepted')
      await fake.send(frame)
      const reply = await (await fake.frames()).nextOf('protocolError')
      t.equal(reply.protocolError?.code, 'BURROW_ERR_PROTOCOL', `${name} ${registered ? 'after' : 'before'} registration`)
      const closed = await within(fake.closed, 3_000, 'close')
      t.equal(closed.goawayCode, H2.PROTOCOL_ERROR, 'GOAWAY PROTOCOL_ERROR')
    }
  }
})
