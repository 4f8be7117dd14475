/**
 * X.509 plumbing shared by edge and agent (SPEC.md §4.2, §4.5, §4.6): the agent's key and CSR, the edge's
 * CSR check (parse, P-256, proof of possession), certificate fingerprints and serials, reading a
 * certificate's Burrow identity, and splitting a PEM bundle.
 */
import t from 'tap'
import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto'
import { ensureCa, ensureEdgePki, issueClientCertificate } from '../../src/edge/pki.js'
import {
  EC_P256, certFingerprint, createKeyAndCsr, generateKeyPair, identityOf, pemCertificates, serialOf, verifyCsr, x509,
} from '../../src/transport/x509.js'
import { tempDir } from '../helpers/servers.js'

/** A CSR for a key of another algorithm, made as a non-Burrow client would. */
async function csrFor (algorithm: EcKeyGenParams | RsaHashedKeyGenParams, signing: Algorithm): Promise<Buffer> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as unknown as CryptoKeyPair
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=other', keys, signingAlgorithm: signing })
  return Buffer.from(csr.rawData)
}

/** A self-signed certificate with a chosen serial (hex). */
async function certWithSerial (serialNumber: string): Promise<X509Certificate> {
  const keys = await generateKeyPair()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber, name: 'CN=serial-test', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 60_000), signingAlgorithm: EC_P256, keys,
  })
  return new X509Certificate(Buffer.from(cert.rawData))
}

t.test('§4.5 createKeyAndCsr: a P-256 key and a CSR for it that verifyCsr accepts', async (t) => {
  const { keyPem, csrDer } = await createKeyAndCsr('agent-1')
  const key = createPrivateKey(keyPem)
  t.equal(key.asymmetricKeyType, 'ec')
  t.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'P-256')
  const checked = await verifyCsr(csrDer)
  if (!checked.ok) throw new Error(`rejected: ${checked.reason}`)
  const certified = createPublicKey({ key: Buffer.from(checked.publicKey.rawData), format: 'der', type: 'spki' })
  t.ok(certified.equals(createPublicKey(key)), 'the key to certify is the public half of the agent\'s key')
  t.equal(new x509.Pkcs10CertificateRequest(new Uint8Array(csrDer)).subject, 'CN=agent-1')
  const odd = await createKeyAndCsr('a,b=c+d<e>#f;g"h\\i')
  t.equal((await verifyCsr(odd.csrDer)).ok, true, 'a common name with DN special characters still makes a valid CSR')
})

t.test('§4.5 verifyCsr rejects what is not a DER PKCS#10 request', async (t) => {
  const { csrDer } = await createKeyAndCsr('agent')
  const cases: Array<[Uint8Array, string]> = [
    [Buffer.alloc(0), 'empty'],
    [Buffer.from('hello'), 'text'],
    [Buffer.from(new x509.Pkcs10CertificateRequest(new Uint8Array(csrDer)).toString('pem')), 'PEM instead of DER'],
    [Buffer.from(csrDer.toString('hex')), 'hex text of the DER'],
    [Buffer.from(csrDer.toString('base64')), 'base64 text of the DER'],
    [csrDer.subarray(0, csrDer.length - 10), 'truncated'],
  ]
  for (const [der, why] of cases) {
    const result = await verifyCsr(der)
    t.same(result, { ok: false, reason: 'not a DER PKCS#10 request' }, why)
  }
  const ca = await ensureCa(await tempDir(t))
  t.equal((await verifyCsr(ca.cert.raw)).ok, false, 'a certificate is not a CSR')
})

t.test('§4.5 verifyCsr rejects keys other than ECDSA P-256', async (t) => {
  const p384 = await csrFor({ name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' } as Algorithm)
  t.same(await verifyCsr(p384), { ok: false, reason: 'the key must be ECDSA P-256' }, 'P-384')
  const rsa = await csrFor({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' })
  t.same(await verifyCsr(rsa), { ok: false, reason: 'the key must be ECDSA P-256' }, 'RSA')
})

t.test('§4.5 verifyCsr rejects a CSR whose signature does not verify (no proof of possession)', async (t) => {
  const { csrDer } = await createKeyAndCsr('agent-tamper')
  // The signature BIT STRING ends the DER: change its last byte.
  const badSignature = Buffer.from(csrDer)
  badSignature[badSignature.length - 1]! ^= 0x01
  t.same(await verifyCsr(badSignature), { ok: false, reason: 'the request is not signed by its key' }, 'a changed signature')
  // Change the signed content instead: a letter of the subject's common name.
  const badContent = Buffer.from(csrDer)
  const at = badContent.indexOf(Buffer.from('agent-tamper'))
  t.ok(at > 0, 'the common name is in the DER')
  badContent[at] = 'b'.charCodeAt(0)
  t.same(await verifyCsr(badContent), { ok: false, reason: 'the request is not signed by its key' }, 'a changed subject')
  // A CSR carrying one key but signed by another.
  const other = await generateKeyPair()
  const mine = await generateKeyPair()
  const swapped = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys: { publicKey: mine.publicKey, privateKey: other.privateKey }, signingAlgorithm: EC_P256 })
  t.same(await verifyCsr(Buffer.from(swapped.rawData)), { ok: false, reason: 'the request is not signed by its key' }, 'signed by a key other than the one it carries')
})

t.test('§4.6 certFingerprint is the SHA-256 of the certificate DER, base64url (43 characters)', async (t) => {
  const ca = await ensureCa(await tempDir(t))
  const der = Buffer.from(ca.certPem.replace(/-----[^-]+-----|\s+/g, ''), 'base64')
  const fp = certFingerprint(ca.cert)
  t.equal(fp, createHash('sha256').update(der).digest('base64url'))
  t.equal(fp.length, 43)
  t.match(fp, /^[A-Za-z0-9_-]{43}$/, 'base64url, no padding')
  t.equal(Buffer.from(fp, 'base64url').toString('hex'), ca.cert.fingerprint256.replace(/:/g, '').toLowerCase(), 'the same digest Node reports')
})

t.test('§4.2 serialOf: lower-case hex without leading zeros', async (t) => {
  const cases: Array<[string, string]> = [
    ['00000abc', 'abc'],
    ['0abc', 'abc'],
    ['ABCDEF', 'abcdef'],
    ['7f00ff', '7f00ff'],
    ['0100', '100'],
    ['01', '1'],
    ['00ff', 'ff'],
  ]
  for (const [serial, expected] of cases) t.equal(serialOf(await certWithSerial(serial)), expected, serial)
})

t.test('§4.2 identityOf reads the account, zones, serial and validity of an issued certificate', async (t) => {
  const pki = await ensureEdgePki(await tempDir(t))
  const keys = await generateKeyPair()
  const zones = [{ zone: 'acme.localhost', wildcard: true }, { zone: 'xn--bcher-kva.example', wildcard: false }]
  const issued = await issueClientCertificate(pki.ca, { account: 'acme', zones, publicKey: keys.publicKey, lifetimeMs: 3_600_000 })
  const cert = new X509Certificate(issued.certPem)
  t.same(identityOf(cert), { account: 'acme', zones, serial: issued.serial, notBeforeMs: issued.notBeforeMs, notAfterMs: issued.notAfterMs })
  t.equal(identityOf(pki.ca.cert), undefined, 'the CA certificate carries no identity')
  t.equal(identityOf(new X509Certificate(pemCertificates(pki.certPem)[0]!)), undefined, 'nor does the serving certificate')
  const none = await issueClientCertificate(pki.ca, { account: 'zoneless', zones: [], publicKey: keys.publicKey, lifetimeMs: 60_000 })
  t.same(identityOf(new X509Certificate(none.certPem))?.zones, [], 'an account with no zones reads as no grants')
})

t.test('pemCertificates splits a bundle into certificates, each ending with a newline', async (t) => {
  const pki = await ensureEdgePki(await tempDir(t))
  const [serving, ca] = pemCertificates(pki.certPem)
  t.equal(ca, pki.caCertPem)
  t.equal(pemCertificates(pki.certPem).length, 2)
  t.ok(serving!.endsWith('-----END CERTIFICATE-----\n'))
  const messy = `garbage before\n${serving!.replace(/\n/g, '\r\n')}\n${pki.keyPem}text between\n${ca!}trailing`
  const split = pemCertificates(messy)
  t.equal(split.length, 2, 'text, CRLF line ends and a private key around them are ignored')
  t.equal(new X509Certificate(split[0]!).serialNumber, new X509Certificate(serving!).serialNumber, 'the first is the serving certificate')
  t.equal(split[1], ca, 'the second is the CA')
  t.same(pemCertificates(''), [])
  t.same(pemCertificates(pki.keyPem), [], 'a key alone holds no certificate')
})
