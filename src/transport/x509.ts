/**
 * X.509 plumbing both ends share (SPEC.md §4.2): ECDSA P-256 keys, PEM, certificate signing requests
 * and reading a certificate's Burrow identity. Built on @peculiar/x509 (which needs reflect-metadata
 * loaded first) and node:crypto; no hand-written ASN.1.
 */
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { createHash, createPublicKey, webcrypto, X509Certificate } from 'node:crypto'
import { normaliseSerial, parseIdentityUris, sanUris, type ZoneGrant } from '../protocol/identity.js'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

export { x509 }
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

export async function generateKeyPair (): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']) as unknown as CryptoKeyPair
}

export async function exportKeyPem (key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey))
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`
}

export async function importKeyPem (pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
  return await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign']) as unknown as CryptoKey
}

/** A new P-256 key and a CSR for it (DER). The private key never leaves the caller. */
export async function createKeyAndCsr (commonName: string): Promise<{ keyPem: string, csrDer: Buffer }> {
  const keys = await generateKeyPair()
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName.replace(/[,=+<>#;"\\]/g, '_')}`,
    keys,
    signingAlgorithm: EC_P256,
  })
  return { keyPem: await exportKeyPem(keys.privateKey), csrDer: Buffer.from(csr.rawData) }
}

/**
 * Checks a CSR: parseable, an ECDSA P-256 key, and signed by that key (proof of possession).
 * Returns the public key to certify, or a reason.
 */
export async function verifyCsr (der: Uint8Array): Promise<{ ok: true, publicKey: x509.PublicKey } | { ok: false, reason: string }> {
  let csr: x509.Pkcs10CertificateRequest
  // DER only (SPEC.md §4.5): @peculiar/x509 would also take PEM, hex or base64 text in a buffer.
  if (der[0] !== 0x30) return { ok: false, reason: 'not a DER PKCS#10 request' }
  try {
    csr = new x509.Pkcs10CertificateRequest(Buffer.from(der))
  } catch {
    return { ok: false, reason: 'not a DER PKCS#10 request' }
  }
  try {
    const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' })
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      return { ok: false, reason: 'the key must be ECDSA P-256' }
    }
    if (!await csr.verify()) return { ok: false, reason: 'the request is not signed by its key' }
  } catch {
    return { ok: false, reason: 'the request could not be verified' }
  }
  return { ok: true, publicKey: csr.publicKey }
}

/** SHA-256 of a certificate's DER, base64url: the fingerprint an enrollment token pins. */
export function certFingerprint (cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('base64url')
}

/** Serial number as Burrow names it: lower-case hex without leading zeros. */
export function serialOf (cert: X509Certificate): string {
  return normaliseSerial(cert.serialNumber)
}

export interface CertIdentity {
  account: string
  zones: ZoneGrant[]
  serial: string
  notBeforeMs: number
  notAfterMs: number
}

/** The Burrow identity a client certificate carries, or undefined when it carries none. */
export function identityOf (cert: X509Certificate): CertIdentity | undefined {
  const id = parseIdentityUris(sanUris(cert.subjectAltName))
  if (id === undefined) return undefined
  return { ...id, serial: serialOf(cert), notBeforeMs: Date.parse(cert.validFrom), notAfterMs: Date.parse(cert.validTo) }
}

/** Splits a PEM bundle into its certificates. */
export function pemCertificates (pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((c) => c + '\n') ?? []
}
