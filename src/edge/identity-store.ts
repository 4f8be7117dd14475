/**
 * The edge's identity records (SPEC.md §4): accounts and their zone grants, enrollment tokens (hashed),
 * issued certificates and revocations, in `<state-dir>/identity.json` (0600).
 *
 * Several processes share the file: a running edge, and `burrow edge accounts|certs` commands run
 * beside it. Every change is a read-modify-write under an exclusive lock directory, written to a
 * temporary file and renamed into place, so readers see the old or the new file, never a torn one.
 * The running edge re-reads the file when its mtime/size/inode change (`refresh()`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile, rename, rmdir, stat, writeFile } from 'node:fs/promises'
import { readFileSync, statSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import { BurrowError } from '../protocol/errors.js'
import {
  formatEnrollmentToken, isAccountName, normaliseSerial, normaliseZone, parseEnrollmentToken, zonesOverlap, type ZoneGrant,
} from '../protocol/identity.js'

export interface AccountRecord {
  zones: ZoneGrant[]
  createdAt: number
}

export interface TokenRecord {
  account: string
  /** SHA-256 of the token's secret part, hex. The token itself is never stored. */
  secretSha256: string
  createdAt: number
  expiresAt: number
  usedAt?: number
}

export interface CertificateRecord {
  account: string
  zones: ZoneGrant[]
  notBefore: number
  notAfter: number
  issuedAt: number
  /** Serial this certificate renewed, if it came from a renewal. */
  renewedFrom?: string
  revokedAt?: number
  /** What the enrolling agent said about itself. */
  agent?: { version: string, arch: string }
}

interface StoreData {
  version: 1
  accounts: Record<string, AccountRecord>
  tokens: Record<string, TokenRecord>
  certificates: Record<string, CertificateRecord>
}

export interface CertificateListing extends CertificateRecord {
  serial: string
  status: 'valid' | 'expired' | 'revoked'
}

const FILE = 'identity.json'
const LOCK = 'identity.lock'
/** A lock older than this is left over from a crashed process. */
const STALE_LOCK_MS = 30_000
const LOCK_WAIT_MS = 10_000
/** Used and expired tokens are pruned this long after they stop mattering. */
const TOKEN_RETENTION_MS = 7 * 86_400_000
/** Certificate records are kept this long past their expiry (an expired certificate is refused anyway). */
const CERT_RETENTION_MS = 30 * 86_400_000

function empty (): StoreData {
  return { version: 1, accounts: {}, tokens: {}, certificates: {} }
}

function sha256Hex (value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

export class IdentityStore {
  readonly path: string
  private readonly lockPath: string
  private data: StoreData = empty()
  private fileKey = ''

  private constructor (stateDir: string) {
    this.path = join(stateDir, FILE)
    this.lockPath = join(stateDir, LOCK)
  }

  /** Opens (does not create) the store of `stateDir`, which must exist. */
  static async open (stateDir: string): Promise<IdentityStore> {
    const store = new IdentityStore(stateDir)
    await store.refresh()
    return store
  }

  /** Re-reads the file if it changed since the last read. Returns true when it did. */
  async refresh (): Promise<boolean> {
    let st: Stats
    try {
      st = await stat(this.path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      const changed = this.fileKey !== 'missing'
      this.data = empty()
      this.fileKey = 'missing'
      return changed
    }
    const key = keyOf(st)
    if (key === this.fileKey) return false
    this.data = parse(await readFile(this.path, 'utf8'), this.path)
    this.fileKey = key
    return true
  }

  /** Synchronous refresh for decisions that must see the latest revocations (one stat when unchanged). */
  refreshSync (): void {
    let st: Stats
    try {
      st = statSync(this.path)
    } catch {
      return
    }
    const key = keyOf(st)
    if (key === this.fileKey) return
    this.data = parse(readFileSync(this.path, 'utf8'), this.path)
    this.fileKey = key
  }

  account (name: string): AccountRecord | undefined {
    return Object.hasOwn(this.data.accounts, name) ? this.data.accounts[name] : undefined
  }

  accounts (): Array<{ name: string } & AccountRecord> {
    return Object.entries(this.data.accounts).map(([name, a]) => ({ name, ...a })).sort((a, b) => a.name.localeCompare(b.name))
  }

  isRevoked (serial: string): boolean {
    return this.data.certificates[serial]?.revokedAt !== undefined
  }

  certificates (now = Date.now()): CertificateListing[] {
    return Object.entries(this.data.certificates)
      .map(([serial, c]) => ({ serial, ...c, status: c.revokedAt !== undefined ? 'revoked' as const : c.notAfter <= now ? 'expired' as const : 'valid' as const }))
      .sort((a, b) => a.issuedAt - b.issuedAt)
  }

  /**
   * Creates an account with its zone grants. Zones are normalised; a zone that overlaps another
   * account's zone (equal, or one inside the other) is refused, so every hostname has one owner.
   */
  async addAccount (name: string, zones: readonly ZoneGrant[]): Promise<AccountRecord> {
    if (!isAccountName(name)) throw new TypeError(`invalid account name ${JSON.stringify(name)}: use 1-63 of a-z, 0-9 and -, not starting or ending with -`)
    const grants = normaliseGrants(zones)
    return await this.update((data) => {
      if (Object.hasOwn(data.accounts, name)) throw new TypeError(`account ${name} already exists (a new enrollment token: burrow edge accounts token ${name})`)
      checkOverlap(data, name, grants)
      const record = { zones: grants, createdAt: Date.now() }
      data.accounts[name] = record
      return record
    })
  }

  /** Creates the account or adds zones to it (the embedded quick-start edge). */
  async ensureAccount (name: string, zones: readonly ZoneGrant[]): Promise<AccountRecord> {
    if (!isAccountName(name)) throw new TypeError(`invalid account name ${JSON.stringify(name)}: use 1-63 of a-z, 0-9 and -, not starting or ending with -`)
    const grants = normaliseGrants(zones)
    return await this.update((data) => {
      const existing = Object.hasOwn(data.accounts, name) ? data.accounts[name] : undefined
      const merged = (existing?.zones ?? []).map((z) => ({ ...z }))
      for (const g of grants) {
        // One grant per zone: a wildcard request widens a plain grant rather than adding a second one.
        const same = merged.find((m) => m.zone === g.zone)
        if (same === undefined) merged.push(g)
        else same.wildcard ||= g.wildcard
      }
      checkOverlap(data, name, merged)
      const record = { zones: merged, createdAt: existing?.createdAt ?? Date.now() }
      data.accounts[name] = record
      return record
    })
  }

  /** Creates a single-use enrollment token for `account`; returns the token (shown once, stored hashed). */
  async createToken (account: string, ttlMs: number, caFingerprint: string): Promise<{ token: string, expiresAt: number }> {
    const id = randomBytes(9).toString('base64url')
    const secret = randomBytes(32).toString('base64url')
    const now = Date.now()
    const expiresAt = now + ttlMs
    await this.update((data) => {
      if (!Object.hasOwn(data.accounts, account)) throw new TypeError(`no account named ${account} (create it with burrow edge accounts add)`)
      data.tokens[id] = { account, secretSha256: sha256Hex(secret), createdAt: now, expiresAt }
    })
    return { token: formatEnrollmentToken({ id, secret, caFingerprint }), expiresAt }
  }

  /**
   * Redeems an enrollment token: checks it (constant-time), calls `issue` with its account, records the
   * certificate `issue` returns and marks the token used, all under the lock, so a token is redeemed
   * at most once even by racing clients. Throws a BurrowError with an ENROLLMENT_* code when refused.
   */
  async redeemToken<I extends { serial: string, record: CertificateRecord }> (token: string, issue: (account: string, grants: ZoneGrant[]) => Promise<I>): Promise<I> {
    const parsed = parseEnrollmentToken(token)
    if (parsed === undefined) throw new BurrowError('BURROW_ERR_ENROLLMENT_INVALID', 'the enrollment token is malformed')
    return await this.update(async (data) => {
      const record = Object.hasOwn(data.tokens, parsed.id) ? data.tokens[parsed.id] : undefined
      const given = createHash('sha256').update(parsed.secret).digest()
      const expected = Buffer.from(record?.secretSha256 ?? '00'.repeat(32), 'hex')
      const match = timingSafeEqual(given, expected)
      if (record === undefined || !match) throw new BurrowError('BURROW_ERR_ENROLLMENT_INVALID', 'the enrollment token is not known to this edge')
      if (record.usedAt !== undefined) throw new BurrowError('BURROW_ERR_ENROLLMENT_USED', `the enrollment token was already used at ${new Date(record.usedAt).toISOString()}`)
      if (record.expiresAt <= Date.now()) throw new BurrowError('BURROW_ERR_ENROLLMENT_EXPIRED', `the enrollment token expired at ${new Date(record.expiresAt).toISOString()}`)
      const account = Object.hasOwn(data.accounts, record.account) ? data.accounts[record.account] : undefined
      if (account === undefined) throw new BurrowError('BURROW_ERR_ENROLLMENT_INVALID', `the account ${record.account} no longer exists`)
      const issued = await issue(record.account, account.zones)
      record.usedAt = Date.now()
      data.certificates[issued.serial] = issued.record
      return issued
    })
  }

  /** Records a certificate issued outside a token redemption (a renewal). */
  async recordCertificate (serial: string, record: CertificateRecord): Promise<void> {
    await this.update((data) => {
      // A revocation that landed while the renewal was being signed covers it too (SPEC.md §4.8):
      // checked here, under the lock, on the fresh file.
      const from = record.renewedFrom === undefined ? undefined : data.certificates[record.renewedFrom]
      if (from?.revokedAt !== undefined) throw new BurrowError('BURROW_ERR_CERT_REVOKED', `certificate ${record.renewedFrom!} has been revoked`)
      data.certificates[serial] = record
    })
  }

  /**
   * Revokes a certificate by serial (and every certificate renewed from it), or every certificate of
   * an account (and deletes its unused tokens). Returns the serials newly revoked.
   */
  async revoke (target: string): Promise<string[]> {
    const wanted = normaliseSerial(target)
    return await this.update((data) => {
      const now = Date.now()
      const revoked: string[] = []
      const mark = (serial: string): void => {
        const c = data.certificates[serial]
        if (c === undefined || c.revokedAt !== undefined) return
        c.revokedAt = now
        revoked.push(serial)
      }
      if (Object.hasOwn(data.certificates, wanted)) {
        // The serial and its renewals, transitively.
        const family = new Set([wanted])
        let grew = true
        while (grew) {
          grew = false
          for (const [serial, c] of Object.entries(data.certificates)) {
            if (c.renewedFrom !== undefined && family.has(c.renewedFrom) && !family.has(serial)) { family.add(serial); grew = true }
          }
        }
        for (const serial of family) mark(serial)
      } else if (Object.hasOwn(data.accounts, target)) {
        for (const [serial, c] of Object.entries(data.certificates)) if (c.account === target) mark(serial)
        for (const [id, tok] of Object.entries(data.tokens)) if (tok.account === target && tok.usedAt === undefined) delete data.tokens[id]
      } else {
        throw new TypeError(`${JSON.stringify(target)} is neither a certificate serial nor an account (see burrow edge certs list)`)
      }
      return revoked
    })
  }

  /** Runs `change` on a fresh copy of the file under the lock and writes the result. */
  private async update<R> (change: (data: StoreData) => R | Promise<R>): Promise<R> {
    await this.lock()
    try {
      this.fileKey = ''
      await this.refresh()
      const data = structuredClone(this.data)
      const result = await change(data)
      prune(data)
      const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
      await writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 })
      await rename(tmp, this.path)
      this.data = data
      this.fileKey = keyOf(await stat(this.path))
      return result
    } finally {
      await rmdir(this.lockPath).catch(() => {})
    }
  }

  private async lock (): Promise<void> {
    const deadline = Date.now() + LOCK_WAIT_MS
    for (;;) {
      try {
        await mkdir(this.lockPath, { mode: 0o700 })
        return
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const held = await stat(this.lockPath).catch(() => undefined)
      if (held !== undefined && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
        await rmdir(this.lockPath).catch(() => {})
        continue
      }
      if (Date.now() > deadline) throw new Error(`${this.lockPath} is held by another process; remove it if no burrow process is running`)
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20))
    }
  }
}

function keyOf (st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`
}

function parse (text: string, path: string): StoreData {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`)
  }
  const data = value as Partial<StoreData>
  if (data?.version !== 1) throw new Error(`${path}: unsupported version ${String(data?.version)}`)
  return { version: 1, accounts: data.accounts ?? {}, tokens: data.tokens ?? {}, certificates: data.certificates ?? {} }
}

function normaliseGrants (zones: readonly ZoneGrant[]): ZoneGrant[] {
  if (zones.length === 0) throw new TypeError('an account needs at least one zone (--zone)')
  const out: ZoneGrant[] = []
  for (const g of zones) {
    const zone = normaliseZone(g.zone)
    if (zone === undefined) throw new TypeError(`invalid zone ${JSON.stringify(g.zone)}: a DNS name such as acme.example.com`)
    const same = out.find((o) => o.zone === zone)
    if (same !== undefined) same.wildcard ||= g.wildcard
    else out.push({ zone, wildcard: g.wildcard })
  }
  return out
}

function checkOverlap (data: StoreData, name: string, grants: readonly ZoneGrant[]): void {
  for (const [other, record] of Object.entries(data.accounts)) {
    if (other === name) continue
    for (const mine of grants) {
      const clash = record.zones.find((z) => zonesOverlap(z.zone, mine.zone))
      if (clash !== undefined) throw new TypeError(`zone ${mine.zone} overlaps zone ${clash.zone} of account ${other}`)
    }
  }
}

function prune (data: StoreData): void {
  const now = Date.now()
  for (const [id, tok] of Object.entries(data.tokens)) {
    if ((tok.usedAt ?? tok.expiresAt) < now - TOKEN_RETENTION_MS) delete data.tokens[id]
  }
  for (const [serial, cert] of Object.entries(data.certificates)) {
    if (cert.notAfter < now - CERT_RETENTION_MS) delete data.certificates[serial]
  }
}
