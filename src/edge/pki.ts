/**
 * The edge's certificate authority and serving certificate (SPEC.md §1.3).
 * On first start the edge creates an ECDSA P-256 CA and a serving certificate signed by it under its
 * state directory; later starts load them. Agents verify the tunnel listener against `ca.pem`.
 */
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { webcrypto, X509Certificate, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY_MS = 86_400_000
const CA_LIFETIME_DAYS = 3650
const SERVING_LIFETIME_DAYS = 397
/** Renew the serving certificate when it has less than this left. */
const RENEW_BEFORE_DAYS = 30

export interface EdgePki {
  caCertPem: string
  certPem: string
  keyPem: string
  caPath: string
}

/** Names every serving certificate carries, so loopback agents verify without configuration. */
const DEFAULT_NAMES = ['localhost', '127.0.0.1', '::1']

export async function ensureEdgePki (stateDir: string, extraNames: readonly string[] = []): Promise<EdgePki> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  const paths = {
    ca: join(stateDir, 'ca.pem'),
    caKey: join(stateDir, 'ca-key.pem'),
    cert: join(stateDir, 'edge.pem'),
    key: join(stateDir, 'edge-key.pem'),
  }
  let ca = await readPair(paths.ca, paths.caKey)
  if (ca === undefined) {
    ca = await createCa()
    await writePair(paths.ca, paths.caKey, ca)
  }
  const names = [...new Set([...DEFAULT_NAMES, ...extraNames])]
  let serving = await readPair(paths.cert, paths.key)
  if (serving === undefined || !servingIsCurrent(serving.certPem, ca.certPem, names)) {
    serving = await createServing(ca, names)
    await writePair(paths.cert, paths.key, serving)
  }
  return { caCertPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem, caPath: paths.ca }
}

interface Pair { certPem: string, keyPem: string }

async function readPair (certPath: string, keyPath: string): Promise<Pair | undefined> {
  try {
    return { certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function writePair (certPath: string, keyPath: string, pair: Pair): Promise<void> {
  await writeFile(keyPath, pair.keyPem, { mode: 0o600 })
  await chmod(keyPath, 0o600)
  await writeFile(certPath, pair.certPem, { mode: 0o644 })
}

function servingIsCurrent (certPem: string, caPem: string, names: readonly string[]): boolean {
  const cert = new X509Certificate(certPem)
  if (!cert.checkIssued(new X509Certificate(caPem))) return false
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return false
  // Compare whole SAN entries (a substring test let DNS:edge.example.com match DNS:edge.example.com.au),
  // with IPv6 addresses canonicalised (Node prints them expanded: IP Address:0:0:0:0:0:0:0:1).
  const have = new Set((cert.subjectAltName ?? '').split(', ').map((e) => e.startsWith('IP Address:') ? `IP Address:${canonicalIp(e.slice(11))}` : e))
  return names.every((n) => have.has(isIP(n) !== 0 ? `IP Address:${canonicalIp(n)}` : `DNS:${n}`))
}

function canonicalIp (ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]`).hostname : ip
}

function serial (): string {
  // Positive 128-bit serial number.
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] ?? 0) & 0x7f
  return bytes.toString('hex')
}

async function exportKeyPem (key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey))
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`
}

async function importKeyPem (pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
  return await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']) as unknown as CryptoKey
}

async function createCa (): Promise<Pair> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as unknown as CryptoKeyPair
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Burrow Edge CA',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_LIFETIME_DAYS * DAY_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) }
}

async function createServing (ca: Pair, names: readonly string[]): Promise<Pair> {
  const caCert = new x509.X509Certificate(ca.certPem)
  const caKey = await importKeyPem(ca.keyPem)
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as unknown as CryptoKeyPair
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=burrow-edge',
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + SERVING_LIFETIME_DAYS * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIP(n) !== 0 ? 'ip' as const : 'dns' as const, value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  })
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) }
}
