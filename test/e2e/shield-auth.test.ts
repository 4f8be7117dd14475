/**
 * Edge shield authentication end to end (SPEC.md §11.4): HTTP Basic against a hashPassword hash, a
 * static bearer token against its hashBearerToken digest, and JWTs against a JWK set file (jose).
 * Without or with bad credentials: 401 + WWW-Authenticate, and the origin sees nothing. With good ones:
 * the origin receives the identity field (default burrow-auth-identity, or the configured
 * identityHeader) with the user / sub, never the Authorization header, and never the client's own copy
 * of the identity field. Bad and good requests run concurrently.
 */
import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import { visit, type Received, type VisitorResponse } from '../helpers/servers.js'
import { hashBearerToken, hashPassword } from '../../src/edge/shield/auth.js'
import { shielded } from './shield-wire.js'

function unauthorized (t: Test, res: VisitorResponse, scheme: 'Basic' | 'Bearer', what: string): void {
  t.equal(res.status, 401, `${what}: 401`)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_UNAUTHORIZED', `${what}: BURROW_ERR_UNAUTHORIZED`)
  t.match(String(res.headers['www-authenticate']), new RegExp(`(^|, )${scheme} realm="[^"]+"`), `${what}: WWW-Authenticate names ${scheme}`)
}

/** Nothing of the visitor's credentials in what the origin received. */
function noCredentials (t: Test, received: Received, secrets: string[]): void {
  t.equal(received.headers.authorization, undefined, 'the origin never sees Authorization')
  const raw = received.rawHeaders.join('\n')
  for (const secret of secrets) t.notOk(raw.includes(secret), 'no credential anywhere in the forwarded header fields')
}

function basic (user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
}

t.test('§11.4 auth.basic: 401 + WWW-Authenticate without or with bad credentials; the right password passes and the origin gets burrow-auth-identity: alice', async (t) => {
  const hash = await hashPassword('s3cret pass')
  const { origin, edge } = await shielded(t, `
hosts:
  app.localhost:
    auth: { basic: { alice: "${hash}" } }
`)
  const [none, wrong, unknown, malformed, otherScheme, good] = await Promise.all([
    visit(edge.base, '/none'),
    visit(edge.base, '/wrong', { headers: { authorization: basic('alice', 'guess') } }),
    visit(edge.base, '/unknown', { headers: { authorization: basic('mallory', 's3cret pass') } }),
    visit(edge.base, '/malformed', { headers: { authorization: 'Basic %%%' } }),
    visit(edge.base, '/other-scheme', { headers: { authorization: 'Bearer s3cret' } }),
    visit(edge.base, '/good', { headers: { authorization: basic('alice', 's3cret pass'), 'burrow-auth-identity': 'mallory' } }),
  ])
  unauthorized(t, none, 'Basic', 'no credentials')
  unauthorized(t, wrong, 'Basic', 'wrong password')
  unauthorized(t, unknown, 'Basic', 'unknown user')
  unauthorized(t, malformed, 'Basic', 'malformed credentials')
  unauthorized(t, otherScheme, 'Basic', 'a scheme the host does not use')
  t.equal(good.status, 200, 'the right password passes')

  t.equal(origin.received.length, 1, 'only the authenticated request reached the origin')
  const seen = origin.received[0]!
  t.equal(seen.url, '/good')
  t.equal(seen.headers['burrow-auth-identity'], 'alice', "the origin gets the edge's identity, not the client's copy")
  t.equal(seen.rawHeaders.filter((h) => h.toLowerCase() === 'burrow-auth-identity').length, 1, 'exactly one identity field')
  noCredentials(t, seen, ['s3cret pass', Buffer.from('alice:s3cret pass').toString('base64')])
  t.same(edge.edge.shieldStats(), { BURROW_ERR_UNAUTHORIZED: 5 })
})

t.test('§11.4 auth.bearer: a static token against its hash; the origin gets the configured identityHeader with bearer:<hash prefix>, never the token', async (t) => {
  const token = 'tok_' + randomBytes(16).toString('hex')
  const { origin, edge } = await shielded(t, `
hosts:
  app.localhost:
    auth: { bearer: ["${hashBearerToken(token)}"] }
    identityHeader: x-user
`)
  const [none, wrong, claimOnly, good] = await Promise.all([
    visit(edge.base, '/none'),
    visit(edge.base, '/wrong', { headers: { authorization: 'Bearer not-the-token' } }),
    visit(edge.base, '/claim-only', { headers: { 'x-user': 'admin' } }),
    visit(edge.base, '/good', { headers: { authorization: `Bearer ${token}`, 'x-user': ['admin', 'root'] } }),
  ])
  unauthorized(t, none, 'Bearer', 'no token')
  unauthorized(t, wrong, 'Bearer', 'wrong token')
  t.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/, 'a presented but rejected token is invalid_token (RFC 6750)')
  unauthorized(t, claimOnly, 'Bearer', 'an identity field alone')
  t.equal(good.status, 200, 'the right token passes')

  t.equal(origin.received.length, 1, 'only the authenticated request reached the origin')
  const seen = origin.received[0]!
  const expected = 'bearer:' + createHash('sha256').update(token).digest('hex').slice(0, 16)
  t.equal(seen.headers['x-user'], expected, 'the origin gets bearer:<first 16 hex of the token hash> in x-user')
  t.same(seen.rawHeaders.filter((_h, i, all) => i % 2 === 1 && all[i - 1]!.toLowerCase() === 'x-user'), [expected], "both client copies of x-user are gone; only the edge's value")
  noCredentials(t, seen, [token])
  t.same(edge.edge.shieldStats(), { BURROW_ERR_UNAUTHORIZED: 3 })
})

t.test('§11.4 auth.jwt with a JWK set file: signature, exp, nbf, aud and alg checked; the origin gets the sub in identityHeader', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const stranger = await generateKeyPair('ES256')
  const jwk = { ...await exportJWK(publicKey), kid: 'k1', alg: 'ES256', use: 'sig' }
  const issuer = 'https://issuer.test/'
  const { origin, edge } = await shielded(t, async (dir) => {
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }))
    return `
hosts:
  app.localhost:
    auth:
      jwt: { jwksFile: jwks.json, issuer: "${issuer}", audience: burrow }
    identityHeader: x-user
`
  })
  const now = Math.floor(Date.now() / 1000)
  const sign = async (claims: { sub?: string, aud?: string, exp?: number, nbf?: number }, key = privateKey): Promise<string> => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(issuer).setIssuedAt(now)
      .setSubject(claims.sub ?? 'user-42').setAudience(claims.aud ?? 'burrow').setExpirationTime(claims.exp ?? now + 300)
    if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf)
    return await jwt.sign(key)
  }
  const good = await sign({})
  const tokens: Record<string, string> = {
    'another key': await sign({}, stranger.privateKey),
    expired: await sign({ exp: now - 120 }),
    'not yet valid': await sign({ nbf: now + 3600 }),
    'wrong audience': await sign({ aud: 'someone-else' }),
    'alg none': new UnsecuredJWT({ sub: 'user-42', aud: 'burrow' }).setIssuer(issuer).setExpirationTime(now + 300).encode(),
    'not a JWT': 'abc.def.ghi',
  }
  const names = Object.keys(tokens)
  const [none, ok, ...bad] = await Promise.all([
    visit(edge.base, '/none'),
    visit(edge.base, '/good', { headers: { authorization: `Bearer ${good}`, 'x-user': 'admin' } }),
    ...names.map(async (name) => await visit(edge.base, '/bad', { headers: { authorization: `Bearer ${tokens[name]!}` } })),
  ])
  unauthorized(t, none!, 'Bearer', 'no token')
  bad.forEach((res, i) => {
    unauthorized(t, res, 'Bearer', names[i]!)
    t.match(String(res.headers['www-authenticate']), /error="invalid_token"/, `${names[i]!}: invalid_token`)
  })
  t.equal(ok!.status, 200, 'a valid token passes')

  t.equal(origin.received.length, 1, 'only the valid token reached the origin')
  const seen = origin.received[0]!
  t.equal(seen.url, '/good')
  t.equal(seen.headers['x-user'], 'user-42', "the origin gets the token's sub, not the client's x-user")
  noCredentials(t, seen, [good])
  t.same(edge.edge.shieldStats(), { BURROW_ERR_UNAUTHORIZED: 1 + names.length })
})
