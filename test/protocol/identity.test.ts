// Identity rules shared by edge and agent (SPEC.md §4): account names, zones and the hostnames they
// grant, the SAN URIs a client certificate carries, the enrollment token format and durations.
import t from 'tap'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import {
  ACCOUNT_URI_PREFIX, ZONE_URI_PREFIX, formatEnrollmentToken, hostnameGranted, identityUris, inZone, isAccountName,
  normaliseZone, parseDuration, parseEnrollmentToken, parseIdentityUris, sanUris, zonesOverlap, type ZoneGrant,
} from '../../src/protocol/identity.js'

t.test('§4.2 account names: 1-63 of a-z, 0-9 and -, not starting or ending with -', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['a', true],
    ['acme', true],
    ['acme-corp', true],
    ['a1-b2-c3', true],
    ['0', true],
    ['9lives', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['-acme', false],
    ['acme-', false],
    ['-', false],
    ['Acme', false],
    ['ACME', false],
    ['acme_corp', false],
    ['acme.corp', false],
    ['acme corp', false],
    ['acmé', false],
    ['acme\n', false],
    [' acme', false],
  ]
  for (const [name, valid] of cases) t.equal(isAccountName(name), valid, `${JSON.stringify(name)} ${valid ? 'is' : 'is not'} an account name`)
})

t.test('§4.4 normaliseZone: lower-case, no trailing dot, IDN to punycode; never a wildcard', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['acme.localhost', 'acme.localhost'],
    ['ACME.LocalHost', 'acme.localhost'],
    ['acme.localhost.', 'acme.localhost'],
    ['  Acme.Localhost.  ', 'acme.localhost'],
    ['localhost', 'localhost'],
    ['bücher.localhost', 'xn--bcher-kva.localhost'],
    ['BÜCHER.Localhost.', 'xn--bcher-kva.localhost'],
    ['xn--bcher-kva.localhost', 'xn--bcher-kva.localhost'],
    ['*.acme.localhost', undefined],
    ['*.localhost', undefined],
    ['*', undefined],
    ['a.*.localhost', undefined],
    ['', undefined],
    ['.', undefined],
    ['acme..localhost', undefined],
    ['acme_corp.localhost', undefined],
    ['-acme.localhost', undefined],
    [`${'a'.repeat(64)}.localhost`, undefined],
  ]
  for (const [input, expected] of cases) t.equal(normaliseZone(input), expected, JSON.stringify(input))
})

t.test('§4.3 zone rule: inZone is equality or a whole-label suffix (the suffix trap)', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['acme.localhost', 'acme.localhost', true],
    ['api.acme.localhost', 'acme.localhost', true],
    ['api.eu.acme.localhost', 'acme.localhost', true],
    ['acme.localhost', 'localhost', true],
    ['xacme.localhost', 'acme.localhost', false],
    ['notacme.localhost', 'acme.localhost', false],
    ['api.xacme.localhost', 'acme.localhost', false],
    ['cme.localhost', 'acme.localhost', false],
    ['localhost', 'acme.localhost', false],
    ['acme.localhost.evil', 'acme.localhost', false],
    ['acme-localhost', 'localhost', false],
    ['other.localhost', 'acme.localhost', false],
  ]
  for (const [name, zone, expected] of cases) t.equal(inZone(name, zone), expected, `${name} ${expected ? 'is' : 'is not'} in ${zone}`)
})

t.test('§4.3 zonesOverlap: equal, or one inside the other, in either order', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['acme.localhost', 'acme.localhost', true],
    ['acme.localhost', 'api.acme.localhost', true],
    ['localhost', 'acme.localhost', true],
    ['acme.localhost', 'xacme.localhost', false],
    ['a.localhost', 'b.localhost', false],
    ['acme.example', 'acme.localhost', false],
  ]
  for (const [a, b, expected] of cases) {
    t.equal(zonesOverlap(a, b), expected, `${a} / ${b}`)
    t.equal(zonesOverlap(b, a), expected, `${b} / ${a} (symmetric)`)
  }
})

t.test('§4.3 hostnameGranted: plain names need a containing zone; wildcard names a containing wildcard grant', async (t) => {
  const plain: ZoneGrant[] = [{ zone: 'acme.localhost', wildcard: false }]
  const wild: ZoneGrant[] = [{ zone: 'acme.localhost', wildcard: true }]
  const mixed: ZoneGrant[] = [{ zone: 'a.localhost', wildcard: false }, { zone: 'b.localhost', wildcard: true }]
  const cases: Array<[string, ZoneGrant[], boolean, string]> = [
    ['acme.localhost', plain, true, 'the zone itself'],
    ['api.acme.localhost', plain, true, 'a name below the zone'],
    ['x.y.acme.localhost', plain, true, 'a name several labels below'],
    ['xacme.localhost', plain, false, 'a name that only ends with the zone text'],
    ['localhost', plain, false, 'the parent of the zone'],
    ['other.localhost', plain, false, 'a sibling'],
    ['*.acme.localhost', plain, false, 'a wildcard without a wildcard grant'],
    ['*.api.acme.localhost', plain, false, 'a deeper wildcard without a wildcard grant'],
    ['acme.localhost', wild, true, 'a wildcard grant grants plain names too'],
    ['api.acme.localhost', wild, true, 'and names below'],
    ['*.acme.localhost', wild, true, 'a wildcard on the zone'],
    ['*.api.acme.localhost', wild, true, 'a wildcard below the zone'],
    ['*.localhost', wild, false, 'a wildcard above the zone'],
    ['*.xacme.localhost', wild, false, 'a wildcard on a name that only ends with the zone text'],
    ['a.localhost', mixed, true, 'first grant'],
    ['*.a.localhost', mixed, false, 'wildcard under the non-wildcard grant'],
    ['*.b.localhost', mixed, true, 'wildcard under the wildcard grant'],
    ['c.localhost', mixed, false, 'in neither zone'],
    ['acme.localhost', [], false, 'no grants grant nothing'],
    ['*.acme.localhost', [], false, 'no grants grant no wildcard'],
  ]
  for (const [hostname, grants, expected, why] of cases) t.equal(hostnameGranted(hostname, grants), expected, `${hostname}: ${why}`)
})

t.test('§4.2 identityUris: one account URI, then one zone URI per grant ("*." for wildcard grants)', async (t) => {
  t.same(identityUris('acme', [{ zone: 'acme.localhost', wildcard: false }, { zone: 'acme.example', wildcard: true }]), [
    'urn:burrow:account:acme',
    'urn:burrow:zone:acme.localhost',
    'urn:burrow:zone:*.acme.example',
  ])
  t.equal(ACCOUNT_URI_PREFIX, 'urn:burrow:account:')
  t.equal(ZONE_URI_PREFIX, 'urn:burrow:zone:')
})

t.test('§4.2 property: parseIdentityUris(identityUris(account, zones)) gives the account and zones back', async (t) => {
  const accountArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
  const labelArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/)
  const zoneArb = fc.array(labelArb, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'))
  const grantsArb = fc.uniqueArray(fc.record({ zone: zoneArb, wildcard: fc.boolean() }), { maxLength: 6, selector: (g) => g.zone })
  const out = fc.check(fc.property(accountArb, grantsArb, (account, zones) => {
    const parsed = parseIdentityUris(identityUris(account, zones))
    return parsed !== undefined && parsed.account === account && JSON.stringify(parsed.zones) === JSON.stringify(zones)
  }), { numRuns: 300, interruptAfterTimeLimit: 5_000 })
  t.equal(out.failed, false, out.failed ? (fc.defaultReportMessage(out) ?? 'failed') : `${out.numRuns} identities round-trip`)
})

t.test('§4.2 parseIdentityUris: exactly one valid account URI, or no identity', async (t) => {
  const zone = 'urn:burrow:zone:acme.localhost'
  t.equal(parseIdentityUris([]), undefined, 'no URIs')
  t.equal(parseIdentityUris([zone]), undefined, 'zones without an account')
  t.equal(parseIdentityUris(['urn:burrow:account:acme', 'urn:burrow:account:evil', zone]), undefined, 'two account URIs')
  t.equal(parseIdentityUris(['urn:burrow:account:acme', 'urn:burrow:account:acme']), undefined, 'the same account twice is still two')
  t.equal(parseIdentityUris(['urn:burrow:account:Acme', zone]), undefined, 'an invalid account name')
  t.equal(parseIdentityUris(['urn:burrow:account:', zone]), undefined, 'an empty account name')
  t.same(parseIdentityUris(['urn:burrow:account:acme']), { account: 'acme', zones: [] }, 'an account with no zones is an identity that grants nothing')
  t.same(parseIdentityUris(['https://example.com/', 'urn:burrow:account:acme', 'urn:other:thing', zone]),
    { account: 'acme', zones: [{ zone: 'acme.localhost', wildcard: false }] }, 'other URIs are ignored')
})

t.test('§4.2 parseIdentityUris: zone URIs that are not normalised zones are ignored', async (t) => {
  const parsed = parseIdentityUris([
    'urn:burrow:account:acme',
    'urn:burrow:zone:ACME.localhost',
    'urn:burrow:zone:acme.localhost.',
    'urn:burrow:zone:bad_zone.localhost',
    'urn:burrow:zone:',
    'urn:burrow:zone:*.',
    'urn:burrow:zone:*.*.acme.localhost',
    'urn:burrow:zone:a.*.localhost',
    'urn:burrow:zone:bücher.localhost',
    'urn:burrow:zone:good.localhost',
  ])
  t.same(parsed, { account: 'acme', zones: [{ zone: 'good.localhost', wildcard: false }] })
})

t.test('§4.2 parseIdentityUris: a zone listed plainly and as "*." is one wildcard grant, in either order', async (t) => {
  t.same(parseIdentityUris(['urn:burrow:account:acme', 'urn:burrow:zone:acme.localhost', 'urn:burrow:zone:*.acme.localhost']),
    { account: 'acme', zones: [{ zone: 'acme.localhost', wildcard: true }] })
  t.same(parseIdentityUris(['urn:burrow:zone:*.acme.localhost', 'urn:burrow:account:acme', 'urn:burrow:zone:acme.localhost']),
    { account: 'acme', zones: [{ zone: 'acme.localhost', wildcard: true }] })
  t.same(parseIdentityUris(['urn:burrow:account:acme', 'urn:burrow:zone:a.localhost', 'urn:burrow:zone:a.localhost']),
    { account: 'acme', zones: [{ zone: 'a.localhost', wildcard: false }] }, 'a repeated plain zone is one grant')
})

t.test('sanUris: the URI entries of Node\'s X509Certificate.subjectAltName string', async (t) => {
  t.same(sanUris(undefined), [], 'no SAN extension')
  t.same(sanUris(''), [])
  t.same(sanUris('DNS:localhost, IP Address:127.0.0.1'), [], 'no URI entries')
  t.same(sanUris('URI:urn:burrow:account:acme, URI:urn:burrow:zone:*.acme.localhost, DNS:acme.localhost, IP Address:0:0:0:0:0:0:0:1, URI:urn:burrow:zone:b.localhost'), [
    'urn:burrow:account:acme',
    'urn:burrow:zone:*.acme.localhost',
    'urn:burrow:zone:b.localhost',
  ])
  t.same(sanUris('email:a@b.example, URI:https://example.com/x'), ['https://example.com/x'])
})

function b64url (bytes: number): string {
  return randomBytes(bytes).toString('base64url')
}

t.test('§4.6 enrollment token: burrow1.<id>.<secret>.<cafp> round-trips', async (t) => {
  const token = { id: b64url(9), secret: b64url(32), caFingerprint: b64url(32) }
  t.equal(token.id.length, 12)
  t.equal(token.secret.length, 43)
  t.equal(token.caFingerprint.length, 43)
  const text = formatEnrollmentToken(token)
  t.equal(text, `burrow1.${token.id}.${token.secret}.${token.caFingerprint}`)
  t.same(parseEnrollmentToken(text), token)
  t.same(parseEnrollmentToken(`  ${text}\n`), token, 'surrounding whitespace (a pasted line) is ignored')
  // Every base64url character, including - and _, is accepted.
  const edgy = { id: '-_-_-_-_-_-_', secret: '_'.repeat(43), caFingerprint: '-'.repeat(43) }
  t.same(parseEnrollmentToken(formatEnrollmentToken(edgy)), edgy, '- and _ are base64url')
})

t.test('§4.6 property: every token of random parts round-trips', async (t) => {
  const part = (n: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64url'))
  const out = fc.check(fc.property(part(9), part(32), part(32), (id, secret, caFingerprint) => {
    const parsed = parseEnrollmentToken(formatEnrollmentToken({ id, secret, caFingerprint }))
    return parsed?.id === id && parsed.secret === secret && parsed.caFingerprint === caFingerprint
  }), { numRuns: 200, interruptAfterTimeLimit: 5_000 })
  t.equal(out.failed, false, out.failed ? (fc.defaultReportMessage(out) ?? 'failed') : `${out.numRuns} tokens round-trip`)
})

t.test('§4.6 malformed tokens: wrong prefix, part count, part length or alphabet', async (t) => {
  const id = b64url(9)
  const secret = b64url(32)
  const fp = b64url(32)
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['burrow1', 'prefix only'],
    [`burrow2.${id}.${secret}.${fp}`, 'another version prefix'],
    [`Burrow1.${id}.${secret}.${fp}`, 'prefix in another case'],
    [`${id}.${secret}.${fp}`, 'no prefix (three parts)'],
    [`burrow1.${id}.${secret}`, 'three parts'],
    [`burrow1.${id}.${secret}.${fp}.extra`, 'five parts'],
    [`burrow1.${id}.${secret}.${fp}.`, 'a trailing dot'],
    [`burrow1..${secret}.${fp}`, 'empty id'],
    [`burrow1.${id.slice(1)}.${secret}.${fp}`, 'id of 11 characters'],
    [`burrow1.${id}A.${secret}.${fp}`, 'id of 13 characters'],
    [`burrow1.${id}.${secret.slice(1)}.${fp}`, 'secret of 42 characters'],
    [`burrow1.${id}.${secret}A.${fp}`, 'secret of 44 characters'],
    [`burrow1.${id}.${secret}.${fp.slice(1)}`, 'fingerprint of 42 characters'],
    [`burrow1.${id}.${secret}.${fp}A`, 'fingerprint of 44 characters'],
    [`burrow1.${id.slice(1)}+.${secret}.${fp}`, '+ (base64, not base64url) in the id'],
    [`burrow1.${id}.${secret.slice(1)}/.${fp}`, '/ in the secret'],
    [`burrow1.${id}.${secret}.${fp.slice(1)}=`, 'padding in the fingerprint'],
    [`burrow1.${id}.${secret.slice(1)} .${fp}`, 'a space inside the secret'],
    [`burrow1.${id.slice(1)}é.${secret}.${fp}`, 'a non-ASCII character'],
  ]
  for (const [value, why] of cases) t.equal(parseEnrollmentToken(value), undefined, why)
})

t.test('parseDuration: ms, s, m, h, d with an optional fraction; anything else is undefined', async (t) => {
  const cases: Array<[string, number | undefined]> = [
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    [' 10s ', 10_000],
    ['1ms', 1],
    ['', undefined],
    ['10', undefined],
    ['h', undefined],
    ['10x', undefined],
    ['10S', undefined],
    ['10 s', undefined],
    ['-5s', undefined],
    ['+5s', undefined],
    ['0s', undefined],
    ['0.0001ms', undefined],
    ['1e3s', undefined],
    ['.5h', undefined],
    ['5.h', undefined],
    ['1h30m', undefined],
    ['99999999999999999999d', undefined],
  ]
  for (const [input, expected] of cases) t.equal(parseDuration(input), expected, JSON.stringify(input))
})
