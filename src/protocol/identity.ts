/**
 * Identity rules shared by the edge and the agent (SPEC.md §4): account names, zone grants and the
 * hostnames they cover, the URIs a client certificate carries, and the enrollment token format.
 * Pure: strings in, strings out.
 */
import { normaliseHostname } from './hostname.js'

export interface ZoneGrant {
  /** Normalised DNS name: grants itself and every name below it. */
  zone: string
  /** Wildcard hostnames ("*.<name in zone>") may be registered too. */
  wildcard: boolean
}

const ACCOUNT = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export function isAccountName (value: string): boolean {
  return ACCOUNT.test(value)
}

/** Normalises a zone as the operator typed it ("ACME.localhost." → "acme.localhost"); undefined if invalid. */
export function normaliseZone (value: string): string | undefined {
  if (value.startsWith('*.')) return undefined
  return normaliseHostname(value)
}

/** True when `name` is `zone` or lies below it. Both normalised. */
export function inZone (name: string, zone: string): boolean {
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46 /* . */)
}

/** True when zones `a` and `b` overlap (equal, or one inside the other). */
export function zonesOverlap (a: string, b: string): boolean {
  return inZone(a, b) || inZone(b, a)
}

/**
 * Whether `hostname` (normalised; "*." prefix for a wildcard) may be registered under `grants`
 * (SPEC.md §4.3): a plain name needs a grant whose zone contains it; a wildcard name "*.X" needs a
 * wildcard grant whose zone contains X.
 */
export function hostnameGranted (hostname: string, grants: readonly ZoneGrant[]): boolean {
  if (hostname.startsWith('*.')) {
    const base = hostname.slice(2)
    return grants.some((g) => g.wildcard && inZone(base, g.zone))
  }
  return grants.some((g) => inZone(hostname, g.zone))
}

// ---------------------------------------------------------------------------------------------
// What a client certificate carries (SPEC.md §4.2): SAN URIs.

export const ACCOUNT_URI_PREFIX = 'urn:burrow:account:'
export const ZONE_URI_PREFIX = 'urn:burrow:zone:'

export function identityUris (account: string, zones: readonly ZoneGrant[]): string[] {
  return [
    ACCOUNT_URI_PREFIX + account,
    ...zones.map((z) => ZONE_URI_PREFIX + (z.wildcard ? '*.' : '') + z.zone),
  ]
}

/**
 * Reads the account and zones from SAN URIs. A zone listed both plainly and as "*." is one wildcard
 * grant. Returns undefined unless there is exactly one valid account URI.
 */
export function parseIdentityUris (uris: readonly string[]): { account: string, zones: ZoneGrant[] } | undefined {
  const accounts = uris.filter((u) => u.startsWith(ACCOUNT_URI_PREFIX)).map((u) => u.slice(ACCOUNT_URI_PREFIX.length))
  if (accounts.length !== 1 || !isAccountName(accounts[0]!)) return undefined
  const zones = new Map<string, boolean>()
  for (const uri of uris) {
    if (!uri.startsWith(ZONE_URI_PREFIX)) continue
    let value = uri.slice(ZONE_URI_PREFIX.length)
    const wildcard = value.startsWith('*.')
    if (wildcard) value = value.slice(2)
    const zone = normaliseZone(value)
    if (zone === undefined || zone !== value) continue
    zones.set(zone, (zones.get(zone) ?? false) || wildcard)
  }
  return { account: accounts[0]!, zones: [...zones].map(([zone, wildcard]) => ({ zone, wildcard })) }
}

/** Parses Node's X509Certificate.subjectAltName string into its URI entries. */
export function sanUris (subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined || subjectAltName === '') return []
  return subjectAltName.split(', ').filter((e) => e.startsWith('URI:')).map((e) => e.slice(4))
}

/**
 * A certificate serial as Burrow names it (SPEC.md §4.2): lower-case hex without colons or leading
 * zeros, whatever form it was written in (Node prints upper case, operators may paste "0A:1B").
 */
export function normaliseSerial (serial: string): string {
  return serial.toLowerCase().replace(/:/g, '').replace(/^0+(?=.)/, '')
}

// ---------------------------------------------------------------------------------------------
// Enrollment token (SPEC.md §4.6): burrow1.<id>.<secret>.<ca fingerprint>, each part base64url.

const TOKEN_PREFIX = 'burrow1'
const B64URL = /^[A-Za-z0-9_-]+$/

export interface EnrollmentToken {
  /** 9 random bytes: the key under which the edge stores the token. */
  id: string
  /** 32 random bytes: only its SHA-256 is stored. */
  secret: string
  /** SHA-256 of the edge CA certificate (DER), base64url: what the client pins. */
  caFingerprint: string
}

export function formatEnrollmentToken (token: EnrollmentToken): string {
  return `${TOKEN_PREFIX}.${token.id}.${token.secret}.${token.caFingerprint}`
}

/** Parses a token; undefined when it is not one (wrong prefix, part count or lengths). */
export function parseEnrollmentToken (value: string): EnrollmentToken | undefined {
  const parts = value.trim().split('.')
  if (parts.length !== 4 || parts[0] !== TOKEN_PREFIX) return undefined
  const [, id, secret, caFingerprint] = parts as [string, string, string, string]
  if (id.length !== 12 || secret.length !== 43 || caFingerprint.length !== 43) return undefined
  if (!B64URL.test(id) || !B64URL.test(secret) || !B64URL.test(caFingerprint)) return undefined
  return { id, secret, caFingerprint }
}

/** Parses durations such as "500ms", "90s", "30m", "24h", "7d" into milliseconds; undefined if invalid. */
export function parseDuration (value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim())
  if (m === null) return undefined
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']
  const ms = Math.round(Number(m[1]) * unit)
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined
}
