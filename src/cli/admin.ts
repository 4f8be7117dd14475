/**
 * `burrow edge accounts …` and `burrow edge certs …`: operator commands that work on an edge's state
 * directory whether or not the edge runs; a running edge picks the change up within a second.
 * `burrow edge tunnels` asks the running edge itself, over its admin socket.
 */
import { ensureCa } from '../edge/pki.js'
import { fetchTunnels } from '../edge/admin-socket.js'
import { formatLabels } from '../protocol/labels.js'
import { IdentityStore, type CertificateListing } from '../edge/identity-store.js'
import { certFingerprint } from '../transport/x509.js'
import type { ZoneGrant } from '../protocol/identity.js'

export interface Output {
  out: (line: string) => void
}

async function openStore (stateDir: string): Promise<{ store: IdentityStore, fingerprint: string }> {
  const ca = await ensureCa(stateDir)
  return { store: await IdentityStore.open(stateDir), fingerprint: certFingerprint(ca.cert) }
}

function describeZones (zones: readonly ZoneGrant[]): string {
  return zones.map((z) => (z.wildcard ? `${z.zone} (+wildcards)` : z.zone)).join(', ')
}

/** Creates an account and prints a one-time enrollment token as the last line. */
export async function accountsAdd (stateDir: string, name: string, zones: ZoneGrant[], ttlMs: number, o: Output): Promise<void> {
  const { store, fingerprint } = await openStore(stateDir)
  const account = await store.addAccount(name, zones)
  const { token, expiresAt } = await store.createToken(name, ttlMs, fingerprint)
  o.out(`Created account ${name} with zones: ${describeZones(account.zones)}`)
  printToken(token, expiresAt, o)
}

/** A new enrollment token for an existing account, as the last line. */
export async function accountsToken (stateDir: string, name: string, ttlMs: number, o: Output): Promise<void> {
  const { store, fingerprint } = await openStore(stateDir)
  const { token, expiresAt } = await store.createToken(name, ttlMs, fingerprint)
  printToken(token, expiresAt, o)
}

function printToken (token: string, expiresAt: number, o: Output): void {
  o.out(`Enrollment token (single use, expires ${new Date(expiresAt).toISOString()}); on the agent's machine run:`)
  o.out('  burrow login --edge <edge-host>:7844 --token <token>')
  o.out(token)
}

export async function accountsList (stateDir: string, json: boolean, o: Output): Promise<void> {
  const { store } = await openStore(stateDir)
  const accounts = store.accounts()
  const certs = store.certificates()
  if (json) {
    o.out(JSON.stringify(accounts.map((a) => ({ ...a, createdAt: new Date(a.createdAt).toISOString(), validCertificates: certs.filter((c) => c.account === a.name && c.status === 'valid').length }))))
    return
  }
  table(['ACCOUNT', 'ZONES', 'VALID CERTS', 'CREATED'], accounts.map((a) => [
    a.name, describeZones(a.zones), String(certs.filter((c) => c.account === a.name && c.status === 'valid').length), new Date(a.createdAt).toISOString(),
  ]), o)
}

export async function certsList (stateDir: string, json: boolean, o: Output): Promise<void> {
  const { store } = await openStore(stateDir)
  const certs = store.certificates()
  if (json) {
    o.out(JSON.stringify(certs.map(jsonOf)))
    return
  }
  table(['SERIAL', 'ACCOUNT', 'STATUS', 'NOT AFTER', 'RENEWED FROM'], certs.map((c) => [
    c.serial, c.account, c.status, new Date(c.notAfter).toISOString(), c.renewedFrom ?? '-',
  ]), o)
}

function jsonOf (c: CertificateListing): Record<string, unknown> {
  return {
    serial: c.serial,
    account: c.account,
    status: c.status,
    zones: c.zones,
    notBefore: new Date(c.notBefore).toISOString(),
    notAfter: new Date(c.notAfter).toISOString(),
    issuedAt: new Date(c.issuedAt).toISOString(),
    ...(c.renewedFrom === undefined ? {} : { renewedFrom: c.renewedFrom }),
    ...(c.revokedAt === undefined ? {} : { revokedAt: new Date(c.revokedAt).toISOString() }),
  }
}

export async function certsRevoke (stateDir: string, target: string, o: Output): Promise<void> {
  const { store } = await openStore(stateDir)
  const revoked = await store.revoke(target)
  if (revoked.length === 0) o.out(`Nothing to revoke: ${target} has no valid certificate left.`)
  else o.out(`Revoked ${revoked.length} certificate${revoked.length === 1 ? '' : 's'}: ${revoked.join(', ')}. A running edge disconnects their tunnels within seconds.`)
}

/**
 * The hostnames, agents and connections of the edge running on `stateDir`: a table, or the admin
 * socket's JSON. Rejects with EdgeNotRunningError when no edge runs there.
 */
export async function tunnelsList (stateDir: string, json: boolean, o: Output): Promise<void> {
  const snapshot = await fetchTunnels(stateDir)
  if (json) {
    o.out(JSON.stringify(snapshot))
    return
  }
  const rows = snapshot.hostnames.flatMap((h) => h.connections.map((c) => [
    h.hostname, c.agentId === '' ? '-' : c.agentId, String(c.connIndex), c.id, c.state, String(c.inflight),
    Object.keys(c.labels).length === 0 ? '-' : formatLabels(c.labels), c.account ?? '-', c.remoteAddress, c.since,
  ]))
  if (rows.length === 0) {
    o.out(`no tunnels connected (edge ${snapshot.edgeId})`)
    return
  }
  table(['HOSTNAME', 'AGENT', 'CONN', 'ID', 'STATE', 'INFLIGHT', 'LABELS', 'ACCOUNT', 'FROM', 'SINCE'], rows, o)
}

function table (header: string[], rows: string[][], o: Output): void {
  if (rows.length === 0) {
    o.out('(none)')
    return
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  for (const row of [header, ...rows]) o.out(row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]!)).join('  '))
}
