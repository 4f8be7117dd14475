/**
 * The edge's certificate authority and serving certificate (SPEC.md §1.3).
 * On first start the edge creates an ECDSA P-256 CA and a serving certificate signed by it under its
 * state directory; later starts load them. Agents verify the tunnel listener against `ca.pem`.
 */
import { X509Certificate, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { EC_P256 as ALG, exportKeyPem, generateKeyPair, importKeyPem, serialOf, x509 } from '../transport/x509.js'
import { identityUris, type ZoneGrant } from '../protocol/identity.js'

const DAY_MS = 86_400_000
const CA_LIFETIME_DAYS = 3650
const SERVING_LIFETIME_DAYS = 397
/** Renew the serving certificate when it has less than this left. */
const RENEW_BEFORE_DAYS = 30

export interface EdgePki {
  ca: CaPair
  caCertPem: string
  /** The serving certificate followed by the CA: clients that pin the CA find it in the chain. */
  certPem: string
  keyPem: string
  caPath: string
}

/** The CA certificate and key, loaded once. */
export interface CaPair {
  certPem: string
  keyPem: string
  cert: X509Certificate
}

/** Names every serving certificate carries, so loopback agents verify without configuration. */
const DEFAULT_NAMES = ['localhost', '127.0.0.1', '::1']

function pathsOf (stateDir: string): { ca: string, caKey: string, cert: string, key: string } {
  return {
    ca: join(stateDir, 'ca.pem'),
    caKey: join(stateDir, 'ca-key.pem'),
    cert: join(stateDir, 'edge.pem'),
    key: join(stateDir, 'edge-key.pem'),
  }
}

/**
 * Loads the edge CA from `stateDir`, creating it (and the directory, 0700) on first use. Two processes
 * creating it at once cannot both win: the key file is created exclusively.
 */
export async function ensureCa (stateDir: string): Promise<CaPair> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  const paths = pathsOf(stateDir)
  let ca = await readPair(paths.ca, paths.caKey)
  if (ca === undefined) {
    const created = await createCa()
    try {
      await writeFile(paths.caKey, created.keyPem, { mode: 0o600, flag: 'wx' })
      await writeFile(paths.ca, created.certPem, { mode: 0o600 })
      ca = created
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      // Another process created it first: use theirs once its certificate is written.
      for (let i = 0; i < 100 && ca === undefined; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        ca = await readPair(paths.ca, paths.caKey)
      }
      if (ca === undefined) throw new Error(`${paths.ca} is missing while ${paths.caKey} exists`)
    }
  }
  return { ...ca, cert: new X509Certificate(ca.certPem) }
}

export async function ensureEdgePki (stateDir: string, extraNames: readonly string[] = []): Promise<EdgePki> {
  const ca = await ensureCa(stateDir)
  const paths = pathsOf(stateDir)
  const names = [...new Set([...DEFAULT_NAMES, ...extraNames])]
  let serving = await readPair(paths.cert, paths.key)
  if (serving === undefined || !servingIsCurrent(serving.certPem, ca.certPem, names)) {
    serving = await createServing(ca, names)
    await writePair(paths.cert, paths.key, serving)
  }
  return { ca, caCertPem: ca.certPem, certPem: serving.certPem + ca.certPem, keyPem: serving.keyPem, caPath: paths.ca }
}

export interface ClientCertRequest {
  account: string
  zones: readonly ZoneGrant[]
  /** The agent's public key, from its verified CSR. */
  publicKey: x509.PublicKey | CryptoKey
  lifetimeMs: number
  /** Issue time; defaults to now. Tests set it in the past to make an expired certificate. */
  now?: number
}

/** Clock skew allowed for a freshly issued certificate (SPEC.md §4.2). */
const NOT_BEFORE_SKEW_MS = 60_000

/** Signs a client certificate for an agent (SPEC.md §4.2). Returns its PEM and identity. */
export async function issueClientCertificate (ca: CaPair, req: ClientCertRequest): Promise<{ certPem: string, serial: string, notBeforeMs: number, notAfterMs: number }> {
  const now = req.now ?? Date.now()
  const caCert = new x509.X509Certificate(ca.certPem)
  const notBefore = new Date(Math.floor((now - NOT_BEFORE_SKEW_MS) / 1000) * 1000)
  const notAfter = new Date(Math.floor((now + req.lifetimeMs) / 1000) * 1000)
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${req.account}`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: req.publicKey,
    signingKey: await importKeyPem(ca.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(identityUris(req.account, req.zones).map((value) => ({ type: 'url' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  })
  const certPem = cert.toString('pem') + '\n'
  return { certPem, serial: serialOf(new X509Certificate(certPem)), notBeforeMs: notBefore.getTime(), notAfterMs: notAfter.getTime() }
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
  await writeFile(certPath, pair.certPem, { mode: 0o600 })
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

async function createCa (): Promise<Pair> {
  const keys = await generateKeyPair()
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
  const keys = await generateKeyPair()
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
