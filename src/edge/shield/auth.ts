/**
 * Visitor authentication for a shielded hostname (issue #4, scratch/design-shield.md step 5): HTTP
 * Basic against scrypt password hashes, static bearer tokens stored as SHA-256 hashes, and JWTs
 * verified with jose against a JWK set from a file or a URL. Several methods on one host means any
 * one of them may pass.
 *
 * `authenticate()` never throws: every failure — a missing or malformed header, a wrong secret, an
 * unreadable JWK set, a bad hash in the config — is `{ ok: false, challenge }`, and the caller
 * answers 401 with `challenge` as the WWW-Authenticate value.
 */
import { createHash, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import {
  createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify,
  type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions,
} from 'jose'
import type { Logger } from 'pino'
import { silentLogger } from '../../observability/logger.js'

// ---------------------------------------------------------------------------------------------
// Password hashes: scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>

/** Parameters new hashes are made with (OWASP's scrypt minimum: N=2^14, r=8, p=1; 16 MiB per run). */
const SCRYPT_N = 16384
const SCRYPT_R = 8
const SCRYPT_P = 1
const SALT_BYTES = 16
const KEY_BYTES = 32

/**
 * Bounds on what a stored hash may ask for. Hashes come from the operator's config, but a typo like
 * N=2^30 must not make one request allocate gigabytes: such a hash is simply not a hash.
 */
const MAX_LOG2_N = 20
const MAX_R = 32
const MAX_P = 16
const MIN_SALT_BYTES = 8
const MAX_SALT_BYTES = 64
const MIN_KEY_BYTES = 16
const MAX_KEY_BYTES = 64

const B64URL = /^[A-Za-z0-9_-]+$/
const DECIMAL = /^[1-9][0-9]{0,9}$/

interface ParsedHash {
  N: number
  r: number
  p: number
  salt: Buffer
  hash: Buffer
}

function scrypt (password: BinaryLike, salt: BinaryLike, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, options, (err, key) => { if (err === null) resolve(key); else reject(err) })
  })
}

/** Memory scrypt needs for these parameters (128·N·r·p plus slack), so Node's 32 MiB default never refuses a valid hash. */
function maxmemFor (N: number, r: number, p: number): number {
  return 128 * N * r * (p + 1) + 1024 * 1024
}

function parseHash (s: string): ParsedHash | undefined {
  if (typeof s !== 'string') return undefined
  const parts = s.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string]
  if (!DECIMAL.test(nText) || !DECIMAL.test(rText) || !DECIMAL.test(pText)) return undefined
  const N = Number(nText)
  const r = Number(rText)
  const p = Number(pText)
  // N must be a power of two greater than 1 (scrypt's own rule), within the bound above.
  if (N < 2 || N > 2 ** MAX_LOG2_N || (N & (N - 1)) !== 0) return undefined
  if (r > MAX_R || p > MAX_P) return undefined
  if (!B64URL.test(saltText) || !B64URL.test(hashText)) return undefined
  const salt = Buffer.from(saltText, 'base64url')
  const hash = Buffer.from(hashText, 'base64url')
  // Re-encoding must give the same text: this refuses non-canonical trailing bits, so one hash has one spelling.
  if (salt.toString('base64url') !== saltText || hash.toString('base64url') !== hashText) return undefined
  if (salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES) return undefined
  if (hash.length < MIN_KEY_BYTES || hash.length > MAX_KEY_BYTES) return undefined
  return { N, r, p, salt, hash }
}

/**
 * Hashes a password for the config file: `scrypt$16384$8$1$<16-byte salt>$<32-byte key>`, salt and
 * key in unpadded base64url.
 */
export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await scrypt(password, salt, KEY_BYTES, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: maxmemFor(SCRYPT_N, SCRYPT_R, SCRYPT_P) })
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** True when `s` is a password hash `verifyPassword` can check (for config validation). */
export function isPasswordHash (s: string): boolean {
  return parseHash(s) !== undefined
}

/**
 * Checks `password` against a `hashPassword` hash, comparing in constant time. A stored hash in an
 * unknown or out-of-bounds format gives false (it never throws: this runs at request time).
 */
export async function verifyPassword (password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash)
  if (parsed === undefined || typeof password !== 'string') return false
  try {
    const { N, r, p, salt } = parsed
    const key = await scrypt(password, salt, parsed.hash.length, { N, r, p, maxmem: maxmemFor(N, r, p) })
    return timingSafeEqual(key, parsed.hash)
  } catch {
    return false
  }
}

/**
 * A well-formed hash no password produces (its key is random, not derived): an unknown user name
 * is checked against it so that it costs one scrypt, like a known one, and the response time does
 * not tell which user names exist.
 */
const DUMMY_HASH = `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${randomBytes(SALT_BYTES).toString('base64url')}$${randomBytes(KEY_BYTES).toString('base64url')}`

// ---------------------------------------------------------------------------------------------
// Static bearer tokens: stored as sha256:<hex>

const BEARER_HASH = /^sha256:[0-9a-f]{64}$/i

/** The form a static bearer token is stored in: `sha256:<64 lower-case hex>` of its UTF-8 bytes. */
export function hashBearerToken (token: string): string {
  return 'sha256:' + createHash('sha256').update(token, 'utf8').digest('hex')
}

/** True when `s` is a `hashBearerToken` value (for config validation). */
export function isBearerTokenHash (s: string): boolean {
  return typeof s === 'string' && BEARER_HASH.test(s)
}

// ---------------------------------------------------------------------------------------------
// The authenticator

/**
 * Types are readonly and take `undefined` for "not set" so the parsed config (config.ts `AuthPolicy`)
 * can be passed as it is.
 */
export interface JwtAuthConfig {
  /** A JSON file holding a JWK set (`{"keys": [...]}`); re-read when it changes. */
  readonly jwksFile?: string | undefined
  /** An http(s) URL serving a JWK set; fetched and cached by jose (10 min max age, 30 s cooldown). */
  readonly jwksUrl?: string | undefined
  /** Required `iss` when set. */
  readonly issuer?: string | undefined
  /** Required `aud` (any one of them) when set. */
  readonly audience?: string | readonly string[] | undefined
  /** Accepted `alg` values; default RS256, ES256, EdDSA. `none` is never accepted. */
  readonly algorithms?: readonly string[] | undefined
  /** The claim that names the visitor; default `sub`. It must be a string. */
  readonly identityClaim?: string | undefined
}

export interface AuthConfig {
  /** User name → `hashPassword` hash. User names are compared exactly. */
  readonly basic?: Readonly<Record<string, string>> | undefined
  /** `hashBearerToken` hashes of the accepted static tokens. */
  readonly bearer?: readonly string[] | undefined
  readonly jwt?: JwtAuthConfig | undefined
}

export type AuthMethod = 'basic' | 'bearer' | 'jwt'

/**
 * Why a request failed, for logs and counters (never shown to the visitor beyond the challenge):
 * `missing` no Authorization header; `malformed` unparsable header or a scheme this host does not
 * use; `bad_credentials` wrong user/password or unknown static token; `invalid_token` a bearer
 * credential that failed as a static token and as a JWT (signature, expiry, audience, issuer, alg,
 * key set unavailable…).
 */
export type AuthFailureReason = 'missing' | 'malformed' | 'bad_credentials' | 'invalid_token'

export type AuthResult =
  | { ok: true, identity: string, method: AuthMethod }
  | { ok: false, challenge: string, reason: AuthFailureReason }

export interface Authenticator {
  /** Checks one request's Authorization header value. Never throws. */
  authenticate: (authorization: string | undefined) => Promise<AuthResult>
}

export interface AuthenticatorOptions {
  logger?: Logger
  /** Successful Basic verifications remembered (default 1024) … */
  basicCacheSize?: number
  /** … for this long (default 60 s), so scrypt does not run on every request of a logged-in visitor. */
  basicCacheTtlMs?: number
  /** How often at most the JWK set file's mtime is checked (default 1000 ms). */
  jwksFileCheckMs?: number
  /** Clock for the caches (tests). */
  now?: () => number
}

const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA']

/** RFC 7235 token68: what follows `Basic ` / `Bearer ` (RFC 6750's b64token is the same set). */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/
/** Longest credential looked at; header size limits apply before this, it only bounds our own work. */
const MAX_CREDENTIAL_CHARS = 16 * 1024
/** Identities become a request header for the origin: printable ASCII only, bounded. */
const SAFE_IDENTITY = /^[\x21-\x7e](?:[\x20-\x7e]{0,1022}[\x21-\x7e])?$/

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** `"<s>"` as an RFC 9110 quoted-string: backslash and quote escaped, control characters dropped. */
function quoted (s: string): string {
  // eslint-disable-next-line no-control-regex
  return '"' + s.replace(/[\x00-\x1f\x7f]/g, '').replace(/["\\]/g, '\\$&') + '"'
}

/**
 * Builds the authenticator for one host's `auth` policy. `realm` is the host name, shown in the
 * challenge. Throws TypeError for a config naming no method or a JWT section without exactly one
 * key source (config validation rejects those first).
 */
export function createAuthenticator (config: AuthConfig, realm: string, options: AuthenticatorOptions = {}): Authenticator {
  return new PolicyAuthenticator(config, realm, options)
}

interface CacheEntry {
  expiresAt: number
  /** The stored hash the password was verified against: a different hash is a miss. */
  storedHash: string
}

class PolicyAuthenticator implements Authenticator {
  private readonly users: Map<string, string> | undefined
  private readonly bearerDigests: Buffer[] | undefined
  private readonly jwt: JwtVerifier | undefined
  private readonly challengeBase: string
  private readonly challengeInvalidToken: string
  private readonly cacheSize: number
  private readonly cacheTtlMs: number
  private readonly now: () => number
  /** HMAC key for cache keys: the cache never holds a plain (or plainly hashed) password. */
  private readonly cacheKey = randomBytes(32)
  /** Insertion-ordered, so the first key is the oldest; bounded by `cacheSize`. */
  private readonly basicCache = new Map<string, CacheEntry>()
  /** Verifications in flight, shared by concurrent requests with the same credentials. */
  private readonly inflight = new Map<string, Promise<boolean>>()

  constructor (config: AuthConfig, realm: string, options: AuthenticatorOptions) {
    const logger = (options.logger ?? silentLogger).child({ component: 'shield-auth', realm })
    this.now = options.now ?? Date.now
    this.cacheSize = options.basicCacheSize ?? 1024
    this.cacheTtlMs = options.basicCacheTtlMs ?? 60_000
    if (config.basic !== undefined) {
      this.users = new Map()
      for (const [user, hash] of Object.entries(config.basic)) {
        // A hash that is not one can never match; checking against the dummy keeps the timing uniform.
        this.users.set(user, isPasswordHash(hash) ? hash : DUMMY_HASH)
        if (!isPasswordHash(hash)) logger.error({ user }, 'basic auth: stored password hash is not a scrypt hash; this user cannot log in')
      }
    }
    if (config.bearer !== undefined) {
      this.bearerDigests = []
      for (const stored of config.bearer) {
        if (isBearerTokenHash(stored)) this.bearerDigests.push(Buffer.from(stored.slice('sha256:'.length), 'hex'))
        else logger.error('bearer auth: a stored token is not a sha256:<hex> hash; it is ignored')
      }
    }
    if (config.jwt !== undefined) this.jwt = new JwtVerifier(config.jwt, logger, options.jwksFileCheckMs ?? 1000, this.now)
    if (this.users === undefined && this.bearerDigests === undefined && this.jwt === undefined) {
      throw new TypeError('auth policy configures no method (basic, bearer or jwt)')
    }
    // One header value listing every configured scheme (RFC 9110 §11.6.1 allows a comma-separated list).
    const challenges: string[] = []
    if (this.users !== undefined) challenges.push(`Basic realm=${quoted(realm)}`)
    const bearer = this.bearerDigests !== undefined || this.jwt !== undefined
    this.challengeBase = bearer ? [...challenges, `Bearer realm=${quoted(realm)}`].join(', ') : challenges.join(', ')
    // RFC 6750 §3.1: a presented token that was rejected gets error="invalid_token" on the Bearer challenge.
    this.challengeInvalidToken = this.challengeBase + ', error="invalid_token"'
  }

  async authenticate (authorization: string | undefined): Promise<AuthResult> {
    try {
      return await this.check(authorization)
    } catch {
      // Nothing below should throw; if it does, the visitor is refused, never let through.
      return this.fail('malformed')
    }
  }

  private fail (reason: AuthFailureReason): AuthResult {
    return { ok: false, challenge: reason === 'invalid_token' ? this.challengeInvalidToken : this.challengeBase, reason }
  }

  private async check (authorization: string | undefined): Promise<AuthResult> {
    if (authorization === undefined) return this.fail('missing')
    const header = authorization.trim()
    if (header === '') return this.fail('missing')
    // credentials = auth-scheme [ 1*SP token68 ]; tolerate tabs and runs of spaces.
    const match = /^([A-Za-z][A-Za-z0-9!#$%&'*+\-.^_`|~]*)[ \t]+(\S+)$/.exec(header)
    if (match === null) return this.fail('malformed')
    const scheme = match[1]!.toLowerCase()
    const credential = match[2]!
    if (credential.length > MAX_CREDENTIAL_CHARS) return this.fail('malformed')
    if (scheme === 'basic' && this.users !== undefined) return await this.checkBasic(credential)
    if (scheme === 'bearer' && (this.bearerDigests !== undefined || this.jwt !== undefined)) return await this.checkBearer(credential)
    return this.fail('malformed')
  }

  private async checkBasic (credential: string): Promise<AuthResult> {
    const users = this.users!
    if (!BASE64.test(credential)) return this.fail('malformed')
    let decoded: string
    try {
      decoded = utf8.decode(Buffer.from(credential, 'base64'))
    } catch {
      return this.fail('malformed')
    }
    // RFC 7617: user-id cannot contain a colon; the password may.
    const colon = decoded.indexOf(':')
    if (colon < 0) return this.fail('malformed')
    const user = decoded.slice(0, colon)
    const password = decoded.slice(colon + 1)
    const stored = users.get(user)

    const key = createHmac('sha256', this.cacheKey).update(decoded, 'utf8').digest('base64')
    if (stored !== undefined) {
      const hit = this.basicCache.get(key)
      if (hit !== undefined) {
        if (hit.storedHash === stored && hit.expiresAt > this.now()) return { ok: true, identity: user, method: 'basic' }
        this.basicCache.delete(key)
      }
    }

    // Unknown users spend one scrypt too (against a hash nothing matches).
    let pending = this.inflight.get(key)
    if (pending === undefined) {
      pending = verifyPassword(password, stored ?? DUMMY_HASH).finally(() => this.inflight.delete(key))
      this.inflight.set(key, pending)
    }
    const ok = await pending
    if (!ok || stored === undefined) return this.fail('bad_credentials')
    // Only successes are cached: a wrong password never blocks the right one.
    this.remember(key, stored)
    return { ok: true, identity: user, method: 'basic' }
  }

  private remember (key: string, storedHash: string): void {
    this.basicCache.delete(key)
    while (this.basicCache.size >= this.cacheSize && this.basicCache.size > 0) {
      const oldest = this.basicCache.keys().next().value as string
      this.basicCache.delete(oldest)
    }
    if (this.cacheSize > 0) this.basicCache.set(key, { expiresAt: this.now() + this.cacheTtlMs, storedHash })
  }

  private async checkBearer (credential: string): Promise<AuthResult> {
    if (!TOKEN68.test(credential)) return this.fail('malformed')
    if (this.bearerDigests !== undefined) {
      const digest = createHash('sha256').update(credential, 'utf8').digest()
      // Compare against every stored digest, without stopping early.
      let index = -1
      for (let i = 0; i < this.bearerDigests.length; i++) {
        if (timingSafeEqual(digest, this.bearerDigests[i]!) && index < 0) index = i
      }
      if (index >= 0) {
        // The origin learns which token was used, never the token: a prefix of its hash.
        return { ok: true, identity: 'bearer:' + digest.toString('hex').slice(0, 16), method: 'bearer' }
      }
      if (this.jwt === undefined) return this.fail('invalid_token')
    }
    const identity = await this.jwt!.verify(credential)
    if (identity === undefined) return this.fail('invalid_token')
    return { ok: true, identity, method: 'jwt' }
  }
}

// ---------------------------------------------------------------------------------------------
// JWT

class JwtVerifier {
  private readonly getKey: JWTVerifyGetKey
  private readonly options: JWTVerifyOptions
  private readonly identityClaim: string

  constructor (config: JwtAuthConfig, private readonly logger: Logger, checkMs: number, now: () => number) {
    if ((config.jwksFile === undefined) === (config.jwksUrl === undefined)) {
      throw new TypeError('jwt auth needs exactly one of jwksFile and jwksUrl')
    }
    const algorithms = (config.algorithms ?? DEFAULT_ALGORITHMS).filter((alg) => alg.toLowerCase() !== 'none')
    if (algorithms.length === 0) throw new TypeError('jwt auth: no usable algorithm (none is never accepted)')
    this.options = { algorithms }
    if (config.issuer !== undefined) this.options.issuer = config.issuer
    if (config.audience !== undefined) this.options.audience = typeof config.audience === 'string' ? config.audience : [...config.audience]
    this.identityClaim = config.identityClaim ?? 'sub'
    if (config.jwksFile !== undefined) {
      const file = new JwksFile(config.jwksFile, checkMs, now, logger)
      this.getKey = async (header, token) => await (await file.keySet())(header, token)
    } else {
      this.getKey = createRemoteJWKSet(new URL(config.jwksUrl!))
    }
  }

  /** The identity of a valid token, or undefined. */
  async verify (token: string): Promise<string | undefined> {
    let payload: JWTPayload
    try {
      payload = await this.verifyAnyKey(token)
    } catch (err) {
      if (this.logger.isLevelEnabled('debug')) this.logger.debug({ code: (err as { code?: unknown }).code, error: (err as Error).message }, 'jwt rejected')
      return undefined
    }
    const identity = payload[this.identityClaim]
    return typeof identity === 'string' && SAFE_IDENTITY.test(identity) ? identity : undefined
  }

  private async verifyAnyKey (token: string): Promise<JWTPayload> {
    try {
      return (await jwtVerify(token, this.getKey, this.options)).payload
    } catch (err) {
      // A token without `kid` against a set holding several keys of its type (e.g. mid-rotation):
      // jose hands back the candidates; the token is valid if one of them verifies it.
      if (!(err instanceof joseErrors.JWKSMultipleMatchingKeys)) throw err
      for await (const key of err) {
        try {
          return (await jwtVerify(token, key, this.options)).payload
        } catch (inner) {
          if (!(inner instanceof joseErrors.JWSSignatureVerificationFailed)) throw inner
        }
      }
      throw new joseErrors.JWSSignatureVerificationFailed()
    }
  }
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>

/**
 * A JWK set read from a file and re-read when the file changes (inode, size or mtime), checked at
 * most once per `checkMs`. A file that cannot be read or parsed keeps the last good set; until a
 * first good one exists, every JWT fails.
 */
class JwksFile {
  private current: LocalKeySet | undefined
  private version: string | undefined
  private checkedAt = Number.NEGATIVE_INFINITY
  private pending: Promise<void> | undefined
  /** The last load error logged, so a broken file is reported once, not per request. */
  private lastError: string | undefined

  constructor (
    private readonly path: string,
    private readonly checkMs: number,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  async keySet (): Promise<LocalKeySet> {
    if (this.pending === undefined && this.now() - this.checkedAt >= this.checkMs) {
      this.checkedAt = this.now()
      this.pending = this.refresh().finally(() => { this.pending = undefined })
    }
    // Wait for a check in progress so a rotation seen by it applies to this request too.
    if (this.pending !== undefined) await this.pending
    if (this.current === undefined) throw new joseErrors.JWKSInvalid(`no JWK set loaded from ${this.path}`)
    return this.current
  }

  private async refresh (): Promise<void> {
    try {
      const st = await stat(this.path)
      const version = `${st.ino}:${st.size}:${st.mtimeMs}`
      if (version === this.version) return
      // Stat before read: what is read is at least as new as `version`; a write in between only
      // causes one more (harmless) reload at the next check.
      const set = createLocalJWKSet(JSON.parse(await readFile(this.path, 'utf8')))
      const first = this.current === undefined
      this.current = set
      this.version = version
      this.lastError = undefined
      this.logger.info({ file: this.path, keys: set.jwks().keys.length }, first ? 'jwt: JWK set loaded' : 'jwt: JWK set reloaded')
    } catch (err) {
      const message = (err as Error).message
      if (message !== this.lastError) {
        this.lastError = message
        this.logger.error({ file: this.path, err }, this.current === undefined ? 'jwt: cannot load JWK set; JWTs are refused' : 'jwt: cannot reload JWK set; keeping the previous one')
      }
    }
  }
}
