/**
 * The edge PKI across restarts (SPEC.md §1.3): the CA is created once and kept, so agents configured
 * with `--edge-ca` keep trusting a restarted edge; the serving certificate is reissued (by the same
 * CA) only when it no longer fits: a tunnel name was added, it is close to expiry, or another CA
 * signed it. Each reissued certificate is checked the way an agent checks it: a TLS handshake
 * against ca.pem with the name as servername.
 */
import 'reflect-metadata'
import t from 'tap'
import tls from 'node:tls'
import { once } from 'node:events'
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import * as x509 from '@peculiar/x509'
import { ensureCa, ensureEdgePki, issueClientCertificate, type EdgePki } from '../../src/edge/pki.js'
import { certFingerprint, exportKeyPem, generateKeyPair, identityOf, pemCertificates, serialOf } from '../../src/transport/x509.js'
import { identityUris, sanUris, type ZoneGrant } from '../../src/protocol/identity.js'
import { tempDir, type T } from '../helpers/servers.js'

const DAY_MS = 86_400_000
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/**
 * Serves `pki` on a loopback TLS port and connects to it as an agent would (trusting only the CA),
 * with `servername` (or none for an IP, as the agent does). Resolves null when verified, or the
 * verification error code.
 */
async function verifyAs (t: T, pki: EdgePki, ca: string, servername: string | undefined, host = '127.0.0.1'): Promise<string | null> {
  const server = tls.createServer({ cert: pki.certPem, key: pki.keyPem, minVersion: 'TLSv1.3' }, (s) => s.end())
  server.on('tlsClientError', () => {})
  server.listen(0, host)
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = (server.address() as AddressInfo).port
  return await new Promise((resolve) => {
    const socket = tls.connect({ host, port, ca, minVersion: 'TLSv1.3', ...(servername === undefined ? {} : { servername }) })
    socket.once('secureConnect', () => { socket.destroy(); resolve(null) })
    socket.once('error', (err: NodeJS.ErrnoException) => { socket.destroy(); resolve(err.code ?? err.message) })
  })
}

function sanOf (pem: string): string {
  return new X509Certificate(pem).subjectAltName ?? ''
}

/** A serving certificate signed by the state dir's CA that expires in `days` days (an old edge's certificate). */
async function writeServingExpiringIn (stateDir: string, days: number): Promise<string> {
  const caPem = await readFile(join(stateDir, 'ca.pem'), 'utf8')
  const caKeyPem = await readFile(join(stateDir, 'ca-key.pem'), 'utf8')
  const caKey = await webcrypto.subtle.importKey('pkcs8', Buffer.from(caKeyPem.replace(/-----[^-]+-----|\s+/g, ''), 'base64'), ALG, false, ['sign'])
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])
  const caCert = new x509.X509Certificate(caPem)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: 'CN=burrow-edge',
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 400 * DAY_MS),
    notAfter: new Date(Date.now() + days * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey as unknown as CryptoKey,
    signingKey: caKey as unknown as CryptoKey,
    extensions: [new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' },
    ])],
  })
  const pem = cert.toString('pem') + '\n'
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  await writeFile(join(stateDir, 'edge-key.pem'), `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`)
  await writeFile(join(stateDir, 'edge.pem'), pem)
  return pem
}

t.test('first start: a CA and a serving certificate for localhost and loopback, private keys 0600', async (t) => {
  const stateDir = await tempDir(t)
  const pki = await ensureEdgePki(stateDir)
  t.equal(pki.caPath, join(stateDir, 'ca.pem'))
  t.equal(await readFile(pki.caPath, 'utf8'), pki.caCertPem, 'ca.pem holds the CA agents are given')
  for (const key of ['ca-key.pem', 'edge-key.pem']) {
    t.equal(((await stat(join(stateDir, key))).mode & 0o777).toString(8), '600', `${key} is private`)
  }
  t.equal(await verifyAs(t, pki, pki.caCertPem, 'localhost'), null, 'an agent dialling localhost verifies the edge')
  t.equal(await verifyAs(t, pki, pki.caCertPem, undefined), null, 'an agent dialling 127.0.0.1 (no SNI) verifies the edge')
  t.equal(await verifyAs(t, pki, pki.caCertPem, 'elsewhere.example'), 'ERR_TLS_CERT_ALTNAME_INVALID', 'another name is refused')
})

t.test('a restart with the same names reuses the CA and the serving certificate unchanged', async (t) => {
  const stateDir = await tempDir(t)
  const first = await ensureEdgePki(stateDir, ['edge.example.test'])
  const again = await ensureEdgePki(stateDir, ['edge.example.test'])
  t.equal(again.caCertPem, first.caCertPem, 'same CA: agents keep their --edge-ca')
  t.equal(again.certPem, first.certPem, 'same serving certificate')
  t.equal(again.keyPem, first.keyPem, 'same serving key')
})

t.test('a new tunnel name reissues only the serving certificate, and agents verify the new name against the old CA', async (t) => {
  const stateDir = await tempDir(t)
  const first = await ensureEdgePki(stateDir)
  const caKeyBefore = await readFile(join(stateDir, 'ca-key.pem'), 'utf8')
  const renamed = await ensureEdgePki(stateDir, ['tunnel.example.test', '192.0.2.7'])
  t.equal(renamed.caCertPem, first.caCertPem, 'the CA is kept')
  t.equal(await readFile(join(stateDir, 'ca-key.pem'), 'utf8'), caKeyBefore, 'the CA key is kept')
  t.not(renamed.certPem, first.certPem, 'a new serving certificate')
  t.equal(await readFile(join(stateDir, 'edge.pem'), 'utf8') + renamed.caCertPem, renamed.certPem, 'written to the state dir (certPem is it followed by the CA)')
  t.equal(await verifyAs(t, renamed, first.caCertPem, 'tunnel.example.test'), null, 'the new DNS name verifies against the CA agents already have')
  t.match(sanOf(renamed.certPem), /IP Address:192\.0\.2\.7/, 'the new IP is in the certificate')
  t.equal(await verifyAs(t, renamed, first.caCertPem, 'localhost'), null, 'the default names are still there')
})

t.test('a tunnel name that is a prefix or suffix of an existing one still gets its own entry (no substring match)', async (t) => {
  const stateDir = await tempDir(t)
  await ensureEdgePki(stateDir, ['edge.example.test.internal'])
  const pki = await ensureEdgePki(stateDir, ['edge.example.test'])
  t.equal(await verifyAs(t, pki, pki.caCertPem, 'edge.example.test'), null, 'edge.example.test verifies after the restart')
})

t.test('a new IPv6 tunnel name reissues the certificate (::1 being there already does not count)', async (t) => {
  const stateDir = await tempDir(t)
  const first = await ensureEdgePki(stateDir)
  const pki = await ensureEdgePki(stateDir, ['2001:db8::7'])
  t.not(pki.certPem, first.certPem, 'reissued')
  t.match(sanOf(pki.certPem), /IP Address:2001:DB8:0:0:0:0:0:7/i, 'the IPv6 address is in the certificate')
  const again = await ensureEdgePki(stateDir, ['2001:DB8:0::7'])
  t.equal(again.certPem, pki.certPem, 'the same address written differently does not reissue it again')
})

t.test('a serving certificate with less than 30 days left is renewed by the same CA on start', async (t) => {
  const stateDir = await tempDir(t)
  const first = await ensureEdgePki(stateDir)
  const old = await writeServingExpiringIn(stateDir, 10)
  const renewed = await ensureEdgePki(stateDir)
  t.equal(renewed.caCertPem, first.caCertPem, 'the CA is kept')
  t.not(pemCertificates(renewed.certPem)[0], old, 'the expiring certificate was replaced')
  t.not(await readFile(join(stateDir, 'edge.pem'), 'utf8'), old, 'in the state dir too')
  const daysLeft = (Date.parse(new X509Certificate(renewed.certPem).validTo) - Date.now()) / DAY_MS
  t.ok(daysLeft > 300, `the new one is valid for a long time (${Math.round(daysLeft)} days)`)
  t.equal(await verifyAs(t, renewed, first.caCertPem, 'localhost'), null, 'and chains to the CA agents have')
})

t.test('a serving certificate with more than 30 days left is kept', async (t) => {
  const stateDir = await tempDir(t)
  await ensureEdgePki(stateDir)
  const old = await writeServingExpiringIn(stateDir, 60)
  const pki = await ensureEdgePki(stateDir)
  t.equal(pki.certPem, old + pki.caCertPem, 'not renewed early')
})

t.test('a serving certificate another CA signed is replaced by one from the state dir CA', async (t) => {
  const stateDir = await tempDir(t)
  const other = await ensureEdgePki(await tempDir(t))
  await ensureEdgePki(stateDir)
  await writeFile(join(stateDir, 'edge.pem'), other.certPem)
  await writeFile(join(stateDir, 'edge-key.pem'), other.keyPem)
  const pki = await ensureEdgePki(stateDir)
  t.not(pemCertificates(pki.certPem)[0], pemCertificates(other.certPem)[0], 'replaced')
  t.equal(await verifyAs(t, pki, pki.caCertPem, 'localhost'), null, 'agents with ca.pem verify the edge again')
})

const ZONES: ZoneGrant[] = [{ zone: 'acme.localhost', wildcard: true }, { zone: 'acme.example', wildcard: false }]

t.test('§4.2 issueClientCertificate: signed by the CA, the identity URIs, clientAuth, not a CA, the given key', async (t) => {
  const ca = await ensureCa(await tempDir(t))
  const keys = await generateKeyPair()
  const now = Date.now()
  const lifetimeMs = 7 * DAY_MS + 1_234
  const issued = await issueClientCertificate(ca, { account: 'acme', zones: ZONES, publicKey: keys.publicKey, lifetimeMs, now })
  const cert = new X509Certificate(issued.certPem)
  t.ok(cert.verify(ca.cert.publicKey), 'the signature verifies with the CA key')
  t.ok(cert.checkIssued(ca.cert), 'the CA is the issuer')
  t.equal(cert.subject, 'CN=acme')
  t.same(sanUris(cert.subjectAltName), identityUris('acme', ZONES), 'exactly the account URI and one URI per zone grant')
  t.same(sanUris(cert.subjectAltName), ['urn:burrow:account:acme', 'urn:burrow:zone:*.acme.localhost', 'urn:burrow:zone:acme.example'])
  t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'extended key usage: clientAuth only')
  t.equal(cert.ca, false, 'CA:FALSE')
  t.ok(cert.checkPrivateKey(createPrivateKey(await exportKeyPem(keys.privateKey))), 'certifies the key it was given')

  const parsed = new x509.X509Certificate(issued.certPem)
  t.same(parsed.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } }, 'signed with ecdsa-with-SHA256')
  const ku = parsed.getExtension(x509.KeyUsagesExtension)
  t.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature, 'key usage: digitalSignature')
  t.equal(ku?.critical, true, 'key usage is critical')
  t.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.ca, false)
  const aki = parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId
  const ski = new x509.X509Certificate(ca.certPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId
  t.ok(aki !== undefined && aki === ski, 'the authority key identifier is the CA\'s key identifier')

  t.equal(Date.parse(cert.validFrom), Math.floor((now - 60_000) / 1000) * 1000, 'notBefore = issue time - 60 s (second precision)')
  t.equal(Date.parse(cert.validTo), Math.floor((now + lifetimeMs) / 1000) * 1000, 'notAfter = issue time + lifetime (second precision)')
  t.equal(issued.notBeforeMs, Date.parse(cert.validFrom), 'notBeforeMs is the certificate\'s')
  t.equal(issued.notAfterMs, Date.parse(cert.validTo), 'notAfterMs is the certificate\'s')
  t.equal(issued.serial, serialOf(cert), 'serial is serialOf the certificate')
  t.match(issued.serial, /^[1-9a-f][0-9a-f]{0,31}$/, 'lower-case hex, no leading zero, at most 128 bits')
  t.same(identityOf(cert), { account: 'acme', zones: ZONES, serial: issued.serial, notBeforeMs: issued.notBeforeMs, notAfterMs: issued.notAfterMs }, 'reads back as the identity it was issued for')
})

t.test('§4.2 every certificate gets its own random serial', async (t) => {
  const ca = await ensureCa(await tempDir(t))
  const keys = await generateKeyPair()
  const serials = new Set<string>()
  for (let i = 0; i < 8; i++) {
    serials.add((await issueClientCertificate(ca, { account: 'acme', zones: ZONES, publicKey: keys.publicKey, lifetimeMs: 60_000 })).serial)
  }
  t.equal(serials.size, 8)
})

t.test('§4.1 an issued certificate authenticates a TLS client against the CA', async (t) => {
  const stateDir = await tempDir(t)
  const pki = await ensureEdgePki(stateDir)
  const keys = await generateKeyPair()
  const issued = await issueClientCertificate(pki.ca, { account: 'acme', zones: ZONES, publicKey: keys.publicKey, lifetimeMs: 3_600_000 })
  const keyPem = await exportKeyPem(keys.privateKey)
  const server = tls.createServer({ cert: pki.certPem, key: pki.keyPem, ca: pki.caCertPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' })
  const seen = new Promise<{ authorized: boolean, error: string | undefined, uris: string[] }>((resolve) => {
    server.once('secureConnection', (s: tls.TLSSocket) => {
      const peer = s.getPeerX509Certificate()
      resolve({ authorized: s.authorized, error: s.authorizationError?.toString(), uris: sanUris(peer?.subjectAltName) })
      s.end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const socket = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: pki.caCertPem, cert: issued.certPem, key: keyPem, minVersion: 'TLSv1.3' })
  socket.on('error', () => {})
  t.teardown(() => { socket.destroy() })
  const got = await seen
  t.equal(got.error, undefined, 'no verification error')
  t.equal(got.authorized, true, 'the edge side sees a certificate its CA issued')
  t.same(got.uris, identityUris('acme', ZONES), 'and reads the identity from it')
})

t.test('§1.3 ensureCa: creates the directory 0700 and the CA files 0600, then returns the same CA', async (t) => {
  const stateDir = join(await tempDir(t), 'state')
  const first = await ensureCa(stateDir)
  t.equal(((await stat(stateDir)).mode & 0o777).toString(8), '700', 'the state directory is private')
  for (const file of ['ca.pem', 'ca-key.pem']) {
    t.equal(((await stat(join(stateDir, file))).mode & 0o777).toString(8), '600', `${file} is 0600`)
  }
  t.same((await readdir(stateDir)).sort(), ['ca-key.pem', 'ca.pem'], 'only the CA')
  t.equal(first.cert.ca, true, 'a CA certificate')
  t.ok(first.cert.checkIssued(first.cert) && first.cert.verify(first.cert.publicKey), 'self-signed')
  const again = await ensureCa(stateDir)
  t.equal(again.certPem, first.certPem, 'the same certificate')
  t.equal(again.keyPem, first.keyPem, 'the same key')
  t.equal(certFingerprint(again.cert), certFingerprint(first.cert), 'the same fingerprint (tokens stay valid)')
})

t.test('§4.5 ensureEdgePki: certPem is the serving certificate followed by the CA certificate', async (t) => {
  const stateDir = await tempDir(t)
  const pki = await ensureEdgePki(stateDir)
  const chain = pemCertificates(pki.certPem)
  t.equal(chain.length, 2, 'two certificates')
  t.equal(chain[0], await readFile(join(stateDir, 'edge.pem'), 'utf8'), 'first the serving certificate of edge.pem')
  t.equal(chain[1], pki.caCertPem, 'then the CA certificate')
  t.equal(pki.caCertPem, pki.ca.certPem)
  const serving = new X509Certificate(chain[0]!)
  t.equal(serving.ca, false, 'the serving certificate is not a CA')
  t.ok(serving.checkIssued(pki.ca.cert) && serving.verify(pki.ca.cert.publicKey), 'and is signed by the CA that follows it')
})

t.test('§1.3 two ensureCa calls racing on an empty directory end with one CA that both return', async (t) => {
  const stateDir = join(await tempDir(t), 'state')
  const [a, b] = await Promise.all([ensureCa(stateDir), ensureCa(stateDir)])
  t.equal(a.certPem, b.certPem, 'the same certificate')
  t.equal(a.keyPem, b.keyPem, 'the same key')
  t.equal(await readFile(join(stateDir, 'ca.pem'), 'utf8'), a.certPem, 'the one on disk')
  t.equal(await readFile(join(stateDir, 'ca-key.pem'), 'utf8'), a.keyPem, 'with its key on disk')
  t.ok(a.cert.checkPrivateKey(createPrivateKey(a.keyPem)), 'the key belongs to the certificate')
})
