/**
 * Visitor authentication of the shield (issue #4, scratch/design-shield.md step 5): scrypt password
 * hashes, Basic, static bearer tokens stored as SHA-256, and JWTs checked against a JWK set in a real
 * file (rotated on disk) or served by a real HTTP server on 127.0.0.1. Keys are real (jose
 * generateKeyPair); the JWK-file clock is injected, so rotation needs no sleeping.
 */
import t from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { scryptSync } from 'node:crypto'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type JWTPayload } from 'jose'
import {
  createAuthenticator, hashBearerToken, hashPassword, isBearerTokenHash, isPasswordHash, verifyPassword,
  type AuthConfig, type AuthenticatorOptions, type AuthResult,
} from '../../src/edge/shield/auth.js'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** A temporary directory removed at teardown (not test/helpers/servers.ts: this unit needs no edge). */
async function tempDir (t: Tap, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

const REALM = 'app.localhost'
const BASIC = `Basic realm="${REALM}"`
const BEARER = `Bearer realm="${REALM}"`
const INVALID = 'error="invalid_token"'
const ISSUER = 'https://issuer.test'
const AUDIENCE = 'burrow-app'

const basic = (userPass: string): string => 'Basic ' + Buffer.from(userPass, 'utf8').toString('base64')

// Real keys, made once for the file (RSA generation is the slow part).
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>
const rsaA = await generateKeyPair('RS256')
const rsaB = await generateKeyPair('RS256')
const rsaOther = await generateKeyPair('RS256')
const ec = await generateKeyPair('ES256')

async function publicJwk (pair: KeyPair, kid: string | undefined, alg: string): Promise<JWK> {
  const jwk = await exportJWK(pair.publicKey)
  return { ...jwk, alg, use: 'sig', ...(kid === undefined ? {} : { kid }) }
}

interface TokenOptions {
  alg?: string
  kid?: string | null
  claims?: JWTPayload
  sub?: string | null
  iss?: string
  aud?: string | string[]
  exp?: number | string
  nbf?: number
}

/** A JWT signed by `pair`; defaults: RS256, kid "a", sub alice, the test issuer and audience, 5 min expiry. */
async function token (pair: KeyPair, o: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT(o.claims ?? {})
    .setProtectedHeader({ alg: o.alg ?? 'RS256', ...(o.kid === null ? {} : { kid: o.kid ?? 'a' }) })
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(o.exp ?? '5m')
  if (o.sub !== null) jwt.setSubject(o.sub ?? 'alice')
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf)
  return await jwt.sign(pair.privateKey)
}

/** Replaces the JWK set file atomically (write + rename), as a key rotation job would. */
async function writeJwks (file: string, keys: JWK[] | string): Promise<void> {
  const tmp = file + '.tmp'
  await writeFile(tmp, typeof keys === 'string' ? keys : JSON.stringify({ keys }))
  await rename(tmp, file)
}

async function jwksFileWith (t: Tap, keys: JWK[]): Promise<string> {
  const file = join(await tempDir(t, 'burrow-jwks-'), 'jwks.json')
  await writeJwks(file, keys)
  return file
}

function assertFail (t: Tap, result: AuthResult, challenge: string, reason: string, what: string): void {
  t.equal(result.ok, false, `${what}: refused`)
  if (!result.ok) {
    t.equal(result.challenge, challenge, `${what}: challenge`)
    t.equal(result.reason, reason, `${what}: reason`)
  }
}

function assertOk (t: Tap, result: AuthResult, identity: string, method: string, what: string): void {
  t.same(result, { ok: true, identity, method }, what)
}

// ----------------------------------------------------------------------------------------------
// Hashes

t.test('#4 hashPassword: scrypt$16384$8$1$<16-byte salt>$<32-byte key>, verifies, salted', async (t) => {
  const hash = await hashPassword('correct horse')
  const m = /^scrypt\$16384\$8\$1\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash)
  t.ok(m, `format of ${hash}`)
  t.equal(Buffer.from(m![1]!, 'base64url').length, 16, 'salt is 16 bytes')
  t.equal(Buffer.from(m![2]!, 'base64url').length, 32, 'key is 32 bytes')
  t.ok(isPasswordHash(hash))
  t.equal(await verifyPassword('correct horse', hash), true, 'the password verifies')
  t.equal(await verifyPassword('correct horse ', hash), false, 'another password does not')
  t.equal(await verifyPassword('', hash), false, 'the empty password does not')
  const again = await hashPassword('correct horse')
  t.not(again, hash, 'a new salt each time')
  t.equal(await verifyPassword('correct horse', again), true)
  const unicode = await hashPassword('pässwörd 🔑')
  t.equal(await verifyPassword('pässwörd 🔑', unicode), true, 'UTF-8 passwords')
})

t.test('#4 verifyPassword: a hash with other scrypt parameters made elsewhere verifies', async (t) => {
  const salt = Buffer.from('0123456789abcdef0123')
  const key = scryptSync('hunter2', salt, 24, { N: 1024, r: 4, p: 2 })
  const hash = `scrypt$1024$4$2$${salt.toString('base64url')}$${key.toString('base64url')}`
  t.ok(isPasswordHash(hash))
  t.equal(await verifyPassword('hunter2', hash), true)
  t.equal(await verifyPassword('hunter3', hash), false)
})

t.test('#4 verifyPassword: unknown or out-of-bounds formats are false, never a throw', async (t) => {
  const good = await hashPassword('pw')
  const [, , , , salt, key] = good.split('$') as [string, string, string, string, string, string]
  const bad = [
    '', 'pw', 'sha256:' + 'a'.repeat(64), '$2b$10$abcdefghijklmnopqrstuv', `bcrypt$16384$8$1$${salt}$${key}`,
    `scrypt$16384$8$1$${salt}`, `scrypt$16384$8$1$${salt}$${key}$extra`,
    `scrypt$16383$8$1$${salt}$${key}`, // N not a power of two
    `scrypt$1$8$1$${salt}$${key}`, // N too small
    `scrypt$${2 ** 30}$8$1$${salt}$${key}`, // N would need gigabytes
    `scrypt$16384$0$1$${salt}$${key}`, `scrypt$16384$999$1$${salt}$${key}`, `scrypt$16384$8$99$${salt}$${key}`,
    `scrypt$016384$8$1$${salt}$${key}`, `scrypt$16384.0$8$1$${salt}$${key}`, `scrypt$-16384$8$1$${salt}$${key}`,
    `scrypt$16384$8$1$${salt}=$${key}`, `scrypt$16384$8$1$${salt}$${key}==`, `scrypt$16384$8$1$sa+t/abcdefghijk$${key}`,
    `scrypt$16384$8$1$AAAA$${key}`, // 3-byte salt
    `scrypt$16384$8$1$${salt}$AAAA`, // 3-byte key
    `SCRYPT$16384$8$1$${salt}$${key}`,
  ]
  for (const hash of bad) {
    t.equal(isPasswordHash(hash), false, `isPasswordHash(${JSON.stringify(hash)})`)
    t.equal(await verifyPassword('pw', hash), false, `verifyPassword against ${JSON.stringify(hash)}`)
  }
  t.equal(await verifyPassword('pw', undefined as unknown as string), false, 'not even a string')
})

t.test('#4 hashBearerToken: sha256:<hex of the UTF-8 bytes>', async (t) => {
  t.equal(hashBearerToken('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  t.ok(isBearerTokenHash(hashBearerToken('anything')))
  t.ok(isBearerTokenHash('SHA256:' + 'AB'.repeat(32)), 'case-insensitive hex')
  for (const s of ['', 'abc', 'sha256:', 'sha256:' + 'a'.repeat(63), 'sha256:' + 'g'.repeat(64), 'sha1:' + 'a'.repeat(40)]) {
    t.equal(isBearerTokenHash(s), false, JSON.stringify(s))
  }
})

// ----------------------------------------------------------------------------------------------
// Basic

const alicePw = await hashPassword('s3cret:with:colons')
const bobPw = await hashPassword('bob-pw')

t.test('#4 basic: the right user and password pass; the identity is the user name', async (t) => {
  const auth = createAuthenticator({ basic: { alice: alicePw, bob: bobPw } }, REALM)
  assertOk(t, await auth.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'alice (password with colons)')
  assertOk(t, await auth.authenticate(basic('bob:bob-pw')), 'bob', 'basic', 'bob')
  assertOk(t, await auth.authenticate('  bAsIc \t  ' + basic('bob:bob-pw').slice(6) + '  '), 'bob', 'basic', 'scheme in any case, extra blanks')
})

t.test('#4 basic: wrong password, unknown user, user name in another case are refused with the challenge', async (t) => {
  const auth = createAuthenticator({ basic: { alice: alicePw } }, REALM)
  assertFail(t, await auth.authenticate(basic('alice:wrong')), BASIC, 'bad_credentials', 'wrong password')
  assertFail(t, await auth.authenticate(basic('alice:')), BASIC, 'bad_credentials', 'empty password')
  assertFail(t, await auth.authenticate(basic('mallory:s3cret:with:colons')), BASIC, 'bad_credentials', 'unknown user')
  assertFail(t, await auth.authenticate(basic('Alice:s3cret:with:colons')), BASIC, 'bad_credentials', 'user names compare exactly')
  assertFail(t, await auth.authenticate(basic('__proto__:x')), BASIC, 'bad_credentials', 'an Object prototype key is no user')
  assertFail(t, await auth.authenticate(basic('constructor:x')), BASIC, 'bad_credentials', 'nor is constructor')
})

t.test('#4 basic: missing and malformed Authorization headers are refused with the challenge', async (t) => {
  const auth = createAuthenticator({ basic: { alice: alicePw } }, REALM)
  assertFail(t, await auth.authenticate(undefined), BASIC, 'missing', 'no header')
  assertFail(t, await auth.authenticate('   '), BASIC, 'missing', 'blank header')
  const malformed = [
    'Basic', 'Basic ', 'Basic !!!!', 'Basic YWxpY2U', 'Basic Y', // bad base64 (wrong length / charset)
    'Basic ' + Buffer.from('alice').toString('base64'), // no colon
    'Basic ' + Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64'), // not UTF-8
    basic('alice:s3cret:with:colons') + ' extra', // two credentials
    basic('alice:s3cret:with:colons').replace(' ', ''), // no separator
    'Bearer abc', // a scheme this host does not use
    'Digest username="alice"', 'Negotiate', ':', 'Basic ' + 'A'.repeat(20_000),
  ]
  for (const header of malformed) {
    assertFail(t, await auth.authenticate(header), BASIC, 'malformed', JSON.stringify(header.slice(0, 60)))
  }
})

t.test('#4 basic: a failure never locks the user out, and a cached success is only for that password', async (t) => {
  const auth = createAuthenticator({ basic: { alice: alicePw } }, REALM)
  for (let i = 0; i < 3; i++) assertFail(t, await auth.authenticate(basic('alice:guess' + i)), BASIC, 'bad_credentials', `wrong guess ${i}`)
  assertOk(t, await auth.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'the right password after wrong ones')
  assertOk(t, await auth.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'again (from the cache)')
  assertFail(t, await auth.authenticate(basic('alice:wrong')), BASIC, 'bad_credentials', 'a wrong password after a cached success')
  const concurrent = await Promise.all(Array.from({ length: 8 }, async (_, i) => await auth.authenticate(basic(i % 2 === 0 ? 'alice:s3cret:with:colons' : 'alice:nope'))))
  concurrent.forEach((r, i) => t.equal(r.ok, i % 2 === 0, `concurrent request ${i}`))
})

t.test('#4 basic: the success cache expires and stays bounded', async (t) => {
  let clock = 1_000_000
  const auth = createAuthenticator({ basic: { alice: alicePw, bob: bobPw } }, REALM, { now: () => clock, basicCacheSize: 1, basicCacheTtlMs: 100 })
  assertOk(t, await auth.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'alice')
  assertOk(t, await auth.authenticate(basic('bob:bob-pw')), 'bob', 'basic', 'bob (evicts alice)')
  assertOk(t, await auth.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'alice again, verified afresh')
  clock += 1_000
  assertOk(t, await auth.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'after expiry, verified afresh')
  const noCache = createAuthenticator({ basic: { alice: alicePw } }, REALM, { basicCacheSize: 0 })
  assertOk(t, await noCache.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'cache size 0')
  assertOk(t, await noCache.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'cache size 0, again')
})

t.test('#4 basic: a user whose stored hash is not a hash cannot log in; nothing throws', async (t) => {
  const auth = createAuthenticator({ basic: { alice: 'plaintext-password', bob: bobPw } }, REALM)
  assertFail(t, await auth.authenticate(basic('alice:plaintext-password')), BASIC, 'bad_credentials', 'the plaintext is not accepted')
  assertOk(t, await auth.authenticate(basic('bob:bob-pw')), 'bob', 'basic', 'other users are unaffected')
})

// ----------------------------------------------------------------------------------------------
// Static bearer tokens

t.test('#4 bearer: a configured token passes; others are invalid_token', async (t) => {
  const auth = createAuthenticator({ bearer: [hashBearerToken('tok-1'), hashBearerToken('tok-2'), 'not-a-hash'] }, REALM)
  const r1 = await auth.authenticate('Bearer tok-1')
  assertOk(t, r1, 'bearer:' + hashBearerToken('tok-1').slice(7, 23), 'bearer', 'tok-1 (identity: a prefix of its hash)')
  assertOk(t, await auth.authenticate('bearer   tok-2 '), 'bearer:' + hashBearerToken('tok-2').slice(7, 23), 'bearer', 'tok-2, scheme in lower case')
  assertFail(t, await auth.authenticate('Bearer tok-3'), `${BEARER}, ${INVALID}`, 'invalid_token', 'unknown token')
  assertFail(t, await auth.authenticate('Bearer not-a-hash'), `${BEARER}, ${INVALID}`, 'invalid_token', 'a bad stored entry is ignored, not compared as text')
  assertFail(t, await auth.authenticate('Bearer ' + hashBearerToken('tok-1')), BEARER, 'malformed', 'the stored hash itself is not the token (nor token68)')
  assertFail(t, await auth.authenticate('Bearer ' + hashBearerToken('tok-1').slice(7)), `${BEARER}, ${INVALID}`, 'invalid_token', 'nor is its hex')
  assertFail(t, await auth.authenticate('Bearer'), BEARER, 'malformed', 'no token')
  assertFail(t, await auth.authenticate('Bearer a b'), BEARER, 'malformed', 'two tokens')
  assertFail(t, await auth.authenticate('Bearer tök'), BEARER, 'malformed', 'not token68')
  assertFail(t, await auth.authenticate(basic('tok-1:x')), BEARER, 'malformed', 'Basic on a bearer-only host')
  assertFail(t, await auth.authenticate(undefined), BEARER, 'missing', 'no header')
  const upper = createAuthenticator({ bearer: [hashBearerToken('tok-1').toUpperCase()] }, REALM)
  t.equal((await upper.authenticate('Bearer tok-1')).ok, true, 'an upper-case stored hash matches')
})

// ----------------------------------------------------------------------------------------------
// JWT

async function jwtAuth (t: Tap, keys: JWK[], jwt: AuthConfig['jwt'] = {}, options: AuthenticatorOptions = {}): Promise<{ auth: ReturnType<typeof createAuthenticator>, file: string }> {
  const file = await jwksFileWith(t, keys)
  return { auth: createAuthenticator({ jwt: { jwksFile: file, issuer: ISSUER, audience: AUDIENCE, ...jwt } }, REALM, options), file }
}

t.test('#4 jwt: a valid token passes; the identity is sub', async (t) => {
  const { auth } = await jwtAuth(t, [await publicJwk(rsaA, 'a', 'RS256'), await publicJwk(ec, 'e', 'ES256')])
  assertOk(t, await auth.authenticate('Bearer ' + await token(rsaA)), 'alice', 'jwt', 'RS256')
  assertOk(t, await auth.authenticate('Bearer ' + await token(ec, { alg: 'ES256', kid: 'e', sub: 'svc-1' })), 'svc-1', 'jwt', 'ES256')
  assertOk(t, await auth.authenticate('Bearer ' + await token(rsaA, { aud: ['other', AUDIENCE] })), 'alice', 'jwt', 'one of several audiences')
})

t.test('#4 jwt: expired, not yet valid, wrong audience, wrong issuer are invalid_token', async (t) => {
  const { auth } = await jwtAuth(t, [await publicJwk(rsaA, 'a', 'RS256')])
  const now = Math.floor(Date.now() / 1000)
  const cases: Array<[string, TokenOptions]> = [
    ['expired', { exp: now - 60 }],
    ['not yet valid', { nbf: now + 600 }],
    ['wrong audience', { aud: 'someone-else' }],
    ['wrong issuer', { iss: 'https://evil.test' }],
    ['no sub', { sub: null }],
    ['sub with a line break', { sub: 'alice\r\nx-admin: 1' }],
  ]
  for (const [what, o] of cases) {
    assertFail(t, await auth.authenticate('Bearer ' + await token(rsaA, o)), `${BEARER}, ${INVALID}`, 'invalid_token', what)
  }
  const good = await token(rsaA)
  const [h, p, s] = good.split('.') as [string, string, string]
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url')
  assertFail(t, await auth.authenticate(`Bearer ${h}.${forged}.${s}`), `${BEARER}, ${INVALID}`, 'invalid_token', 'payload changed after signing')
  assertFail(t, await auth.authenticate('Bearer not.a.jwt'), `${BEARER}, ${INVALID}`, 'invalid_token', 'garbage')
})

t.test('#4 jwt: HS256 signed with the RSA public key, alg none, an algorithm not allowed are refused', async (t) => {
  const { auth } = await jwtAuth(t, [await publicJwk(rsaA, 'a', 'RS256')])
  // The classic confusion attack: the public key (public knowledge) used as an HMAC secret.
  const pem = new TextEncoder().encode(await exportSPKI(rsaA.publicKey))
  const hs = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'a' }).setSubject('admin').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(pem)
  assertFail(t, await auth.authenticate('Bearer ' + hs), `${BEARER}, ${INVALID}`, 'invalid_token', 'HS256 against an RSA key set')
  const none = new UnsecuredJWT({}).setSubject('admin').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').encode()
  t.match(none, /\.$/, 'an alg none token has an empty signature')
  assertFail(t, await auth.authenticate('Bearer ' + none), `${BEARER}, ${INVALID}`, 'invalid_token', 'alg none')
  assertFail(t, await auth.authenticate('Bearer ' + none + 'AAAA'), `${BEARER}, ${INVALID}`, 'invalid_token', 'alg none with a signature')

  const rsOnly = await jwtAuth(t, [await publicJwk(rsaA, 'a', 'RS256'), await publicJwk(ec, 'e', 'ES256')], { algorithms: ['RS256', 'none'] })
  assertFail(t, await rsOnly.auth.authenticate('Bearer ' + await token(ec, { alg: 'ES256', kid: 'e' })), `${BEARER}, ${INVALID}`, 'invalid_token', 'ES256 when only RS256 is allowed')
  assertOk(t, await rsOnly.auth.authenticate('Bearer ' + await token(rsaA)), 'alice', 'jwt', 'RS256 still passes; "none" in the list was dropped')
  const noneOnly = await jwksFileWith(t, [])
  t.throws(() => createAuthenticator({ jwt: { jwksFile: noneOnly, algorithms: ['none', 'NONE'] } }, REALM), /no usable algorithm/)
})

t.test('#4 jwt: an unknown kid or a key not in the set is refused; no kid finds the one key that verifies', async (t) => {
  const { auth } = await jwtAuth(t, [await publicJwk(rsaA, 'a', 'RS256'), await publicJwk(rsaB, 'b', 'RS256')])
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaOther, { kid: 'zzz' })), `${BEARER}, ${INVALID}`, 'invalid_token', 'unknown kid')
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaOther, { kid: 'a' })), `${BEARER}, ${INVALID}`, 'invalid_token', 'kid of a listed key, signed by another key')
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaOther, { kid: null })), `${BEARER}, ${INVALID}`, 'invalid_token', 'no kid, signed by no listed key')
  assertOk(t, await auth.authenticate('Bearer ' + await token(rsaB, { kid: null })), 'alice', 'jwt', 'no kid, two RSA keys in the set: the second verifies')
})

t.test('#4 jwt: identityClaim chooses the claim; it must be a string', async (t) => {
  const { auth } = await jwtAuth(t, [await publicJwk(rsaA, 'a', 'RS256')], { identityClaim: 'email' })
  assertOk(t, await auth.authenticate('Bearer ' + await token(rsaA, { claims: { email: 'alice@example.test' } })), 'alice@example.test', 'jwt', 'email claim')
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaA)), `${BEARER}, ${INVALID}`, 'invalid_token', 'claim missing (sub is not used)')
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaA, { claims: { email: 42 } })), `${BEARER}, ${INVALID}`, 'invalid_token', 'claim is a number')
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaA, { claims: { email: '' } })), `${BEARER}, ${INVALID}`, 'invalid_token', 'claim is empty')
})

t.test('#4 jwt: a rotated JWK set file is picked up at the next check (at most once per interval)', async (t) => {
  let clock = 5_000_000
  const { auth, file } = await jwtAuth(t, [await publicJwk(rsaA, 'a', 'RS256')], {}, { now: () => clock })
  const tokenA = 'Bearer ' + await token(rsaA)
  const tokenB = 'Bearer ' + await token(rsaB, { kid: 'b', sub: 'bob' })
  assertOk(t, await auth.authenticate(tokenA), 'alice', 'jwt', 'key A before rotation')
  assertFail(t, await auth.authenticate(tokenB), `${BEARER}, ${INVALID}`, 'invalid_token', 'key B before rotation')

  await writeJwks(file, [await publicJwk(rsaB, 'b', 'RS256')])
  clock += 500
  assertOk(t, await auth.authenticate(tokenA), 'alice', 'jwt', 'within the interval the file is not looked at again')
  clock += 600
  assertOk(t, await auth.authenticate(tokenB), 'bob', 'jwt', 'key B after rotation')
  assertFail(t, await auth.authenticate(tokenA), `${BEARER}, ${INVALID}`, 'invalid_token', 'key A after rotation')

  await writeJwks(file, '{"keys": [ truncated')
  clock += 1_100
  assertOk(t, await auth.authenticate(tokenB), 'bob', 'jwt', 'a broken file keeps the last good set')
  await writeJwks(file, [await publicJwk(rsaA, 'a', 'RS256'), await publicJwk(rsaB, 'b', 'RS256')])
  clock += 1_100
  assertOk(t, await auth.authenticate(tokenA), 'alice', 'jwt', 'both keys after the file is fixed: A')
  assertOk(t, await auth.authenticate(tokenB), 'bob', 'jwt', 'both keys after the file is fixed: B')
})

t.test('#4 jwt: no JWK set file yet refuses every token until one appears', async (t) => {
  let clock = 7_000_000
  const file = join(await tempDir(t, 'burrow-jwks-'), 'later.json')
  const auth = createAuthenticator({ jwt: { jwksFile: file } }, REALM, { now: () => clock })
  const tokenA = 'Bearer ' + await token(rsaA)
  const results = await Promise.all([auth.authenticate(tokenA), auth.authenticate(tokenA)])
  for (const r of results) assertFail(t, r, `${BEARER}, ${INVALID}`, 'invalid_token', 'no file')
  await writeJwks(file, [await publicJwk(rsaA, 'a', 'RS256')])
  clock += 1_000
  assertOk(t, await auth.authenticate(tokenA), 'alice', 'jwt', 'once the file exists (no issuer/audience configured: not checked)')
})

/** Serves `body` (a JWK set) at /jwks.json on 127.0.0.1; counts requests. */
async function startJwksServer (t: Tap, status: number, body: () => string): Promise<{ url: string, hits: () => number }> {
  let hits = 0
  const server = http.createServer((req, res) => {
    hits++
    res.writeHead(req.url === '/jwks.json' ? status : 404, { 'content-type': 'application/json' })
    res.end(body())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, hits: () => hits }
}

t.test('#4 jwt: a JWK set served over HTTP (jwksUrl)', async (t) => {
  const keys = JSON.stringify({ keys: [await publicJwk(rsaA, 'a', 'RS256')] })
  const server = await startJwksServer(t, 200, () => keys)
  const auth = createAuthenticator({ jwt: { jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE } }, REALM)
  assertOk(t, await auth.authenticate('Bearer ' + await token(rsaA)), 'alice', 'jwt', 'valid token')
  assertOk(t, await auth.authenticate('Bearer ' + await token(rsaA, { sub: 'carol' })), 'carol', 'jwt', 'second token')
  t.equal(server.hits(), 1, 'the set is fetched once and cached')
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaOther, { kid: 'x' })), `${BEARER}, ${INVALID}`, 'invalid_token', 'unknown kid')
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaA, { aud: 'nope' })), `${BEARER}, ${INVALID}`, 'invalid_token', 'wrong audience')
})

t.test('#4 jwt: a JWK set URL that answers 500 refuses tokens, it does not throw', async (t) => {
  const server = await startJwksServer(t, 500, () => '{}')
  const auth = createAuthenticator({ jwt: { jwksUrl: server.url } }, REALM)
  assertFail(t, await auth.authenticate('Bearer ' + await token(rsaA)), `${BEARER}, ${INVALID}`, 'invalid_token', 'server error')
  t.ok(server.hits() >= 1, 'the set was requested')
})

// ----------------------------------------------------------------------------------------------
// Several methods, challenges, construction

t.test('#4 several methods: any may pass; a Bearer credential is a static token first, then a JWT', async (t) => {
  const file = await jwksFileWith(t, [await publicJwk(rsaA, 'a', 'RS256')])
  const auth = createAuthenticator({ basic: { alice: alicePw }, bearer: [hashBearerToken('static-1')], jwt: { jwksFile: file } }, REALM)
  const both = `${BASIC}, ${BEARER}`
  assertOk(t, await auth.authenticate(basic('alice:s3cret:with:colons')), 'alice', 'basic', 'Basic')
  assertOk(t, await auth.authenticate('Bearer static-1'), 'bearer:' + hashBearerToken('static-1').slice(7, 23), 'bearer', 'static token')
  assertOk(t, await auth.authenticate('Bearer ' + await token(rsaA, { sub: 'jwt-user' })), 'jwt-user', 'jwt', 'JWT')
  assertFail(t, await auth.authenticate(undefined), both, 'missing', 'no header lists both schemes')
  assertFail(t, await auth.authenticate(basic('alice:nope')), both, 'bad_credentials', 'wrong password')
  assertFail(t, await auth.authenticate('Bearer static-2'), `${both}, ${INVALID}`, 'invalid_token', 'neither a static token nor a JWT')
  assertFail(t, await auth.authenticate('Digest x'), both, 'malformed', 'another scheme')
})

t.test('#4 challenge: one header value per configured scheme; the realm is a quoted-string', async (t) => {
  const file = await jwksFileWith(t, [])
  const pw = { u: alicePw }
  const cases: Array<[AuthConfig, string, string]> = [
    [{ basic: pw }, REALM, BASIC],
    [{ bearer: [] }, REALM, BEARER],
    [{ jwt: { jwksFile: file } }, REALM, BEARER],
    [{ basic: pw, jwt: { jwksFile: file } }, REALM, `${BASIC}, ${BEARER}`],
    [{ basic: pw }, 'a"b\\c', 'Basic realm="a\\"b\\\\c"'],
    [{ bearer: [] }, 'x\r\ny', 'Bearer realm="xy"'],
  ]
  for (const [config, realm, expected] of cases) {
    const r = await createAuthenticator(config, realm).authenticate(undefined)
    t.equal(r.ok ? '' : r.challenge, expected, `${Object.keys(config).join('+')} realm ${JSON.stringify(realm)}`)
  }
})

t.test('#4 createAuthenticator refuses a policy with no method or a JWT section without one key source', async (t) => {
  t.throws(() => createAuthenticator({}, REALM), { name: 'TypeError', message: /no method/ })
  t.throws(() => createAuthenticator({ jwt: {} }, REALM), { name: 'TypeError', message: /exactly one of jwksFile and jwksUrl/ })
  t.throws(() => createAuthenticator({ jwt: { jwksFile: '/x', jwksUrl: 'http://127.0.0.1/' } }, REALM), { name: 'TypeError', message: /exactly one/ })
})
