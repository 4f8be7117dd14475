/**
 * The edge's identity records in <state-dir>/identity.json (SPEC.md §4.3, §4.6, §4.8), on real temporary
 * directories: accounts and their zones, enrollment tokens (stored hashed, single use), certificate records
 * and revocation. Two IdentityStore instances on one directory stand for two processes (a running edge and a
 * `burrow edge accounts|certs` command): they see each other's writes and their updates never lose one another's.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rmdir, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { IdentityStore, type CertificateRecord } from '../../src/edge/identity-store.js'
import { isBurrowError } from '../../src/protocol/errors.js'
import { parseEnrollmentToken, type ZoneGrant } from '../../src/protocol/identity.js'
import { tempDir } from '../helpers/servers.js'

const FP = 'f'.repeat(43)
const zone = (name: string, wildcard = false): ZoneGrant => ({ zone: name, wildcard })

async function storeIn (t: Tap): Promise<{ dir: string, store: IdentityStore }> {
  const dir = await tempDir(t, 'burrow-identity-')
  return { dir, store: await IdentityStore.open(dir) }
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface FileData {
  version: number
  accounts: Record<string, { zones: ZoneGrant[], createdAt: number }>
  tokens: Record<string, { account: string, secretSha256: string, createdAt: number, expiresAt: number, usedAt?: number }>
  certificates: Record<string, CertificateRecord>
}

async function fileOf (dir: string): Promise<FileData> {
  return JSON.parse(await readFile(join(dir, 'identity.json'), 'utf8')) as FileData
}

/** A certificate record as an edge would store it. */
function certRecord (account: string, extra: Partial<CertificateRecord> = {}): CertificateRecord {
  const now = Date.now()
  return { account, zones: [zone(`${account}.localhost`)], notBefore: now - 60_000, notAfter: now + 3_600_000, issuedAt: now, ...extra }
}

/** An `issue` callback for redeemToken that records what it was called with. */
function issuer (serial = 'abc123'): { calls: Array<{ account: string, grants: ZoneGrant[] }>, issue: (account: string, grants: ZoneGrant[]) => Promise<{ serial: string, record: CertificateRecord }> } {
  const calls: Array<{ account: string, grants: ZoneGrant[] }> = []
  return {
    calls,
    issue: async (account, grants) => {
      calls.push({ account, grants })
      return { serial, record: certRecord(account, { zones: grants }) }
    },
  }
}

/** The ENROLLMENT_* code a redeem fails with (or 'ok'). */
async function redeemCode (store: IdentityStore, token: string, serial = 'abc123'): Promise<string> {
  try {
    await store.redeemToken(token, issuer(serial).issue)
    return 'ok'
  } catch (err) {
    return isBurrowError(err) ? err.code : `not a BurrowError: ${String(err)}`
  }
}

t.test('§4.3 addAccount normalises zones and merges a zone given twice; the file keeps them', async (t) => {
  const { dir, store } = await storeIn(t)
  const record = await store.addAccount('acme', [zone('ACME.Localhost.'), zone('acme.localhost', true), zone('bücher.localhost')])
  t.same(record.zones, [zone('acme.localhost', true), zone('xn--bcher-kva.localhost')])
  const reopened = await IdentityStore.open(dir)
  t.same(reopened.accounts().map((a) => ({ name: a.name, zones: a.zones })), [{ name: 'acme', zones: record.zones }], 'another process reads the same account')
  t.equal(((await stat(join(dir, 'identity.json'))).mode & 0o777).toString(8), '600', 'identity.json is private')
  t.same((await readdir(dir)).sort(), ['identity.json'], 'no temporary file or lock is left behind')
})

t.test('§4.3 addAccount refuses duplicates, invalid names, no zones and invalid zones', async (t) => {
  const { store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  await t.rejects(store.addAccount('acme', [zone('other.localhost')]), { name: 'TypeError', message: /already exists/ }, 'a second account of the same name')
  for (const name of ['Acme', '-acme', 'acme-', 'ac_me', '', 'a'.repeat(64)]) {
    await t.rejects(store.addAccount(name, [zone('x.localhost')]), { name: 'TypeError', message: /invalid account name/ }, `name ${JSON.stringify(name)}`)
  }
  await t.rejects(store.addAccount('nozones', []), { message: /at least one zone/ })
  for (const bad of ['*.wild.localhost', 'bad_zone.localhost', '', 'a..localhost']) {
    await t.rejects(store.addAccount('badzone', [zone(bad)]), { name: 'TypeError', message: /invalid zone/ }, `zone ${JSON.stringify(bad)}`)
  }
  t.same(store.accounts().map((a) => a.name), ['acme'], 'none of the refused accounts was created')
  t.same(store.account('acme')?.zones, [zone('acme.localhost')], 'the existing account is unchanged')
})

t.test('§4.3 zones of different accounts may not overlap, in either direction; the suffix trap is no overlap', async (t) => {
  const { store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  const refused: Array<[string, string]> = [
    ['acme.localhost', 'the same zone'],
    ['ACME.localhost.', 'the same zone spelled differently'],
    ['api.acme.localhost', 'a zone inside the other account\'s zone'],
    ['localhost', 'a zone above the other account\'s zone'],
  ]
  for (const [z, why] of refused) {
    await t.rejects(store.addAccount('other', [zone('fine.example'), zone(z)]), { message: /overlaps zone acme\.localhost of account acme/ }, why)
  }
  t.equal(store.account('other'), undefined, 'no partial account was created')
  await store.addAccount('xacme', [zone('xacme.localhost')])
  t.same(store.account('xacme')?.zones, [zone('xacme.localhost')], 'xacme.localhost does not overlap acme.localhost')
  await t.rejects(store.ensureAccount('local', [zone('api.acme.localhost')]), { message: /overlaps/ }, 'ensureAccount checks overlaps too')
  await t.rejects(store.ensureAccount('acme', [zone('xacme.localhost')]), { message: /overlaps zone xacme\.localhost of account xacme/ }, 'extending an account into another\'s zone')
})

t.test('ensureAccount creates an account, then merges new zones into it', async (t) => {
  const { dir, store } = await storeIn(t)
  const created = await store.ensureAccount('local', [zone('a.localhost')])
  t.same(created.zones, [zone('a.localhost')])
  const merged = await store.ensureAccount('local', [zone('A.localhost'), zone('b.localhost')])
  t.same(merged.zones, [zone('a.localhost'), zone('b.localhost')], 'a known zone is not added twice')
  t.equal(merged.createdAt, created.createdAt, 'creation time is kept')
  const widened = await store.ensureAccount('local', [zone('a.localhost', true)])
  t.same(widened.zones, [zone('a.localhost', true), zone('b.localhost')], 'a wildcard request turns the plain grant into a wildcard grant')
  const kept = await store.ensureAccount('local', [zone('a.localhost')])
  t.same(kept.zones, widened.zones, 'a plain request does not narrow a wildcard grant')
  t.same((await fileOf(dir)).accounts.local?.zones, widened.zones, 'the file holds the merged zones')
  await t.rejects(store.ensureAccount('Not Valid', [zone('c.localhost')]), { name: 'TypeError', message: /invalid account name/ }, 'an invalid name is refused as by addAccount')
  await t.rejects(store.ensureAccount('local', []), { message: /at least one zone/ })
})

t.test('§4.6 createToken stores only the SHA-256 of the secret, in a 0600 file', async (t) => {
  const { dir, store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  const before = Date.now()
  const { token, expiresAt } = await store.createToken('acme', 3_600_000, FP)
  const parsed = parseEnrollmentToken(token)
  if (parsed === undefined) throw new Error(`not a token: ${token}`)
  t.equal(parsed.caFingerprint, FP, 'the token pins the fingerprint it was given')
  t.ok(expiresAt >= before + 3_600_000 && expiresAt <= Date.now() + 3_600_000, 'expires after the ttl')
  const text = await readFile(join(dir, 'identity.json'), 'utf8')
  t.notOk(text.includes(parsed.secret), 'the secret is not in the file')
  t.notOk(text.includes(token), 'the token is not in the file')
  const record = (JSON.parse(text) as FileData).tokens[parsed.id]
  t.same(record, {
    account: 'acme',
    secretSha256: createHash('sha256').update(parsed.secret).digest('hex'),
    createdAt: record?.createdAt,
    expiresAt,
  }, 'the record is keyed by id and holds the hex SHA-256 of the secret')
  t.equal(((await stat(join(dir, 'identity.json'))).mode & 0o777).toString(8), '600')
  const second = await store.createToken('acme', 3_600_000, FP)
  t.not(parseEnrollmentToken(second.token)?.id, parsed.id, 'each token has its own id')
  t.not(parseEnrollmentToken(second.token)?.secret, parsed.secret, 'and its own secret')
  await t.rejects(store.createToken('nobody', 1_000, FP), { name: 'TypeError', message: /no account named nobody/ })
})

t.test('§4.6 redeemToken: issues once, then ENROLLMENT_USED; the issue callback gets the account and its zones', async (t) => {
  const { dir, store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost', true)])
  const { token } = await store.createToken('acme', 3_600_000, FP)
  const { calls, issue } = issuer('abc123')
  const issued = await store.redeemToken(token, issue)
  t.equal(issued.serial, 'abc123', 'the callback\'s result is returned')
  t.same(calls, [{ account: 'acme', grants: [zone('acme.localhost', true)] }])
  const data = await fileOf(dir)
  t.equal(data.certificates.abc123?.account, 'acme', 'the certificate is recorded')
  t.type(data.tokens[parseEnrollmentToken(token)!.id]?.usedAt, 'number', 'the token is marked used')
  t.equal(await redeemCode(store, token, 'def456'), 'BURROW_ERR_ENROLLMENT_USED', 'a second redeem')
  t.equal((await fileOf(dir)).certificates.def456, undefined, 'no second certificate')
})

t.test('§4.6 redeemToken: two racing redeems of one token issue one certificate', async (t) => {
  const { dir, store } = await storeIn(t)
  const other = await IdentityStore.open(dir)
  await store.addAccount('acme', [zone('acme.localhost')])
  const { token } = await store.createToken('acme', 3_600_000, FP)
  const codes = await Promise.all([redeemCode(store, token, 'aa01'), redeemCode(other, token, 'bb02')])
  t.same(codes.sort(), ['BURROW_ERR_ENROLLMENT_USED', 'ok'])
  t.equal(Object.keys((await fileOf(dir)).certificates).length, 1, 'exactly one certificate was recorded')
})

t.test('§4.6 redeemToken: ENROLLMENT_EXPIRED, but only for a matching secret', async (t) => {
  const { store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  const { token } = await store.createToken('acme', 1, FP)
  await new Promise((resolve) => setTimeout(resolve, 10))
  const p = parseEnrollmentToken(token)!
  const wrongSecret = `burrow1.${p.id}.${'A'.repeat(43)}.${p.caFingerprint}`
  t.equal(await redeemCode(store, wrongSecret), 'BURROW_ERR_ENROLLMENT_INVALID', 'a wrong secret learns nothing about expiry')
  t.equal(await redeemCode(store, token), 'BURROW_ERR_ENROLLMENT_EXPIRED')
  t.equal(await redeemCode(store, token), 'BURROW_ERR_ENROLLMENT_EXPIRED', 'still expired (an expired token is not consumed into USED)')
})

t.test('§4.6 redeemToken: ENROLLMENT_INVALID for a malformed token, an unknown id or a wrong secret', async (t) => {
  const { store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  const { token } = await store.createToken('acme', 3_600_000, FP)
  const p = parseEnrollmentToken(token)!
  const flip = (s: string): string => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
  const cases: Array<[string, string]> = [
    ['not-a-token', 'malformed'],
    ['', 'empty'],
    [token.slice(0, -1), 'a truncated token'],
    [`burrow1.${flip(p.id)}.${p.secret}.${p.caFingerprint}`, 'an unknown id'],
    [`burrow1.${p.id}.${flip(p.secret)}.${p.caFingerprint}`, 'a wrong secret'],
    [`burrow1.${p.id}.${p.caFingerprint}.${p.caFingerprint}`, 'the fingerprint as the secret'],
  ]
  for (const [value, why] of cases) t.equal(await redeemCode(store, value), 'BURROW_ERR_ENROLLMENT_INVALID', why)
  t.equal(await redeemCode(store, `  ${token}\n`), 'ok', 'none of those consumed the token; surrounding whitespace is ignored')
})

t.test('§4.6 redeemToken: ENROLLMENT_INVALID once the account is gone (removed by another process)', async (t) => {
  const { dir, store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  const { token } = await store.createToken('acme', 3_600_000, FP)
  const data = await fileOf(dir)
  delete data.accounts.acme
  await writeFile(join(dir, 'identity.json'), JSON.stringify(data), { mode: 0o600 })
  const { calls, issue } = issuer()
  await t.rejects(store.redeemToken(token, issue), { code: 'BURROW_ERR_ENROLLMENT_INVALID', message: /account acme no longer exists/ })
  t.same(calls, [], 'nothing was issued')
})

t.test('§4.6 a request the issue step fails does not consume the token', async (t) => {
  const { dir, store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  const { token } = await store.createToken('acme', 3_600_000, FP)
  await t.rejects(store.redeemToken(token, async () => { throw new Error('signing failed') }), { message: 'signing failed' })
  const data = await fileOf(dir)
  t.equal(data.tokens[parseEnrollmentToken(token)!.id]?.usedAt, undefined, 'the token is still unused')
  t.same(data.certificates, {}, 'no certificate was recorded')
  t.equal(await redeemCode(store, token), 'ok', 'the token still works')
})

t.test('§4.8 two stores on one directory see each other\'s writes after refresh()/refreshSync()', async (t) => {
  const dir = await tempDir(t, 'burrow-identity-')
  const edge = await IdentityStore.open(dir)
  const cli = await IdentityStore.open(dir)
  await cli.addAccount('acme', [zone('acme.localhost')])
  t.same(edge.accounts(), [], 'not seen before a refresh')
  t.equal(await edge.refresh(), true, 'refresh reports a change')
  t.same(edge.accounts().map((a) => a.name), ['acme'])
  t.equal(await edge.refresh(), false, 'and no change when there is none')

  await edge.recordCertificate('abc123', certRecord('acme'))
  await cli.refresh()
  t.equal(cli.isRevoked('abc123'), false)
  t.same(await cli.revoke('abc123'), ['abc123'])
  t.equal(edge.isRevoked('abc123'), false, 'the edge has not re-read the file yet')
  edge.refreshSync()
  t.equal(edge.isRevoked('abc123'), true, 'refreshSync sees the revocation')

  // A write made by the edge after the CLI's keeps the CLI's change: every update re-reads under the lock.
  await edge.addAccount('beta', [zone('beta.localhost')])
  t.same((await fileOf(dir)).certificates.abc123?.revokedAt !== undefined, true, 'the revocation survived the edge\'s later write')
})

t.test('concurrent updates from two stores lose nothing (the lock works)', async (t) => {
  const dir = await tempDir(t, 'burrow-identity-')
  const a = await IdentityStore.open(dir)
  const b = await IdentityStore.open(dir)
  await a.addAccount('acme', [zone('acme.localhost')])
  await b.refresh()
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await (i % 2 === 0 ? a : b).createToken('acme', 3_600_000, FP)))
  const ids = results.map((r) => parseEnrollmentToken(r.token)!.id)
  t.equal(new Set(ids).size, 20, '20 distinct tokens')
  const stored = Object.keys((await fileOf(dir)).tokens)
  t.same(stored.sort(), [...ids].sort(), 'all 20 are in the file')
  await Promise.all([
    ...Array.from({ length: 5 }, async (_, i) => await a.addAccount(`a${i}`, [zone(`a${i}.example`)])),
    ...Array.from({ length: 5 }, async (_, i) => await b.addAccount(`b${i}`, [zone(`b${i}.example`)])),
  ])
  await a.refresh()
  t.equal(a.accounts().length, 11, 'accounts added concurrently by both stores are all there')
  t.same((await readdir(dir)).sort(), ['identity.json'], 'no lock or temporary file is left behind')
})

t.test('a lock directory older than 30 s is left over from a crashed process and is broken', async (t) => {
  const { dir, store } = await storeIn(t)
  const lock = join(dir, 'identity.lock')
  await mkdir(lock)
  const old = new Date(Date.now() - 60_000)
  await utimes(lock, old, old)
  await store.addAccount('acme', [zone('acme.localhost')])
  t.same(store.accounts().map((a) => a.name), ['acme'], 'the update went through')
  t.same((await readdir(dir)).sort(), ['identity.json'], 'and the lock was released')
})

t.test('a fresh lock makes an update wait until it is released', async (t) => {
  const { dir, store } = await storeIn(t)
  const lock = join(dir, 'identity.lock')
  await mkdir(lock)
  let settled = false
  const pending = store.addAccount('acme', [zone('acme.localhost')]).finally(() => { settled = true })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(settled, false, 'the update waits while another process holds the lock')
  t.equal(await stat(join(dir, 'identity.json')).catch(() => undefined), undefined, 'and has written nothing')
  await rmdir(lock)
  await pending
  t.same((await fileOf(dir)).accounts.acme?.zones, [zone('acme.localhost')], 'it completes once the lock is released')
})

t.test('§4.8 revoking a serial revokes its renewals transitively, not its ancestors', async (t) => {
  const { store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  await store.recordCertificate('a1', certRecord('acme'))
  await store.recordCertificate('a2', certRecord('acme', { renewedFrom: 'a1' }))
  await store.recordCertificate('a3', certRecord('acme', { renewedFrom: 'a2' }))
  await store.recordCertificate('a4', certRecord('acme', { renewedFrom: 'a3' }))
  await store.recordCertificate('b1', certRecord('acme'))
  t.same((await store.revoke('a2')).sort(), ['a2', 'a3', 'a4'])
  t.same(['a1', 'a2', 'a3', 'a4', 'b1'].map((s) => store.isRevoked(s)), [false, true, true, true, false])
  t.same(await store.revoke('a1'), ['a1'], 'revoking the ancestor later revokes only what is not revoked yet')
  t.same(await store.revoke('a4'), [], 'revoking a revoked serial changes nothing')
  t.same(await store.revoke('00B1'), ['b1'], 'a serial is matched in any case and with leading zeros')
})

t.test('§4.8 a serial written with colons is found', async (t) => {
  const { store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  await store.recordCertificate('1a2b3c', certRecord('acme'))
  t.same(await store.revoke('1A:2B:3C'), ['1a2b3c'])
})

t.test('§4.8 revoking an account revokes all its certificates and deletes its unused tokens', async (t) => {
  const { dir, store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  await store.addAccount('beta', [zone('beta.localhost')])
  const used = await store.createToken('acme', 3_600_000, FP)
  await store.redeemToken(used.token, issuer('c1').issue)
  const unused = await store.createToken('acme', 3_600_000, FP)
  const betaToken = await store.createToken('beta', 3_600_000, FP)
  await store.recordCertificate('c2', certRecord('acme', { renewedFrom: 'c1' }))
  await store.recordCertificate('d1', certRecord('beta'))
  t.same((await store.revoke('acme')).sort(), ['c1', 'c2'])
  t.equal(store.isRevoked('d1'), false, 'another account\'s certificate is untouched')
  const tokens = (await fileOf(dir)).tokens
  t.equal(tokens[parseEnrollmentToken(unused.token)!.id], undefined, 'the unused token is deleted')
  t.type(tokens[parseEnrollmentToken(used.token)!.id]?.usedAt, 'number', 'the used token stays as a record')
  t.ok(tokens[parseEnrollmentToken(betaToken.token)!.id], 'another account\'s token is untouched')
  t.equal(await redeemCode(store, unused.token), 'BURROW_ERR_ENROLLMENT_INVALID', 'the deleted token no longer enrolls')
  t.ok(store.account('acme'), 'the account itself remains')
})

t.test('§4.8 revoking something that is neither a serial nor an account throws', async (t) => {
  const { store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  await t.rejects(store.revoke('nobody'), { name: 'TypeError', message: /neither a certificate serial nor an account/ })
  await t.rejects(store.revoke('deadbeef'), { name: 'TypeError' })
})

t.test('certificates(): valid, expired and revoked, oldest first', async (t) => {
  const { store } = await storeIn(t)
  await store.addAccount('acme', [zone('acme.localhost')])
  const now = Date.now()
  await store.recordCertificate('e1', certRecord('acme', { issuedAt: now - 3_000, notBefore: now - 7_200_000, notAfter: now - 1 }))
  await store.recordCertificate('v1', certRecord('acme', { issuedAt: now - 2_000 }))
  await store.recordCertificate('r1', certRecord('acme', { issuedAt: now - 1_000 }))
  await store.revoke('r1')
  t.same(store.certificates(now).map((c) => [c.serial, c.status]), [['e1', 'expired'], ['v1', 'valid'], ['r1', 'revoked']])
  t.same(store.certificates(now + 7_200_000).map((c) => c.status), ['expired', 'expired', 'revoked'], 'a valid certificate is expired once now passes notAfter')
  const listing = store.certificates(now).find((c) => c.serial === 'v1')
  t.equal(listing?.account, 'acme', 'a listing carries the record')
  t.same(listing?.zones, [zone('acme.localhost')])
})

t.test('a store on a directory without identity.json is empty, and a corrupt file is reported', async (t) => {
  const { dir, store } = await storeIn(t)
  t.same(store.accounts(), [])
  t.same(store.certificates(), [])
  await writeFile(join(dir, 'identity.json'), '{not json')
  await t.rejects(IdentityStore.open(dir), { message: /is not valid JSON/ })
  await writeFile(join(dir, 'identity.json'), JSON.stringify({ version: 2 }))
  await t.rejects(IdentityStore.open(dir), { message: /unsupported version 2/ })
})
