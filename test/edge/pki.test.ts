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
import { webcrypto, X509Certificate } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import * as x509 from '@peculiar/x509'
import { ensureEdgePki, type EdgePki } from '../../src/edge/pki.js'
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
  t.equal(await readFile(join(stateDir, 'edge.pem'), 'utf8'), renamed.certPem, 'written to the state dir')
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
  t.not(renewed.certPem, old, 'the expiring certificate was replaced')
  const daysLeft = (Date.parse(new X509Certificate(renewed.certPem).validTo) - Date.now()) / DAY_MS
  t.ok(daysLeft > 300, `the new one is valid for a long time (${Math.round(daysLeft)} days)`)
  t.equal(await verifyAs(t, renewed, first.caCertPem, 'localhost'), null, 'and chains to the CA agents have')
})

t.test('a serving certificate with more than 30 days left is kept', async (t) => {
  const stateDir = await tempDir(t)
  await ensureEdgePki(stateDir)
  const old = await writeServingExpiringIn(stateDir, 60)
  const pki = await ensureEdgePki(stateDir)
  t.equal(pki.certPem, old, 'not renewed early')
})

t.test('a serving certificate another CA signed is replaced by one from the state dir CA', async (t) => {
  const stateDir = await tempDir(t)
  const other = await ensureEdgePki(await tempDir(t))
  await ensureEdgePki(stateDir)
  await writeFile(join(stateDir, 'edge.pem'), other.certPem)
  await writeFile(join(stateDir, 'edge-key.pem'), other.keyPem)
  const pki = await ensureEdgePki(stateDir)
  t.not(pki.certPem, other.certPem, 'replaced')
  t.equal(await verifyAs(t, pki, pki.caCertPem, 'localhost'), null, 'agents with ca.pem verify the edge again')
})
