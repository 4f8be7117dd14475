/**
 * Client identities made directly with a CA, without an enrollment connection: for fakes, and for
 * certificates no edge would issue on request (expired, from another CA, with chosen zones).
 */
import { issueClientCertificate, type CaPair } from '../../src/edge/pki.js'
import { exportKeyPem, generateKeyPair } from '../../src/transport/x509.js'
import { identityFromPem, type AgentIdentity } from '../../src/agent/enrollment.js'
import type { ZoneGrant } from '../../src/protocol/identity.js'

export interface IssueOptions {
  account?: string
  zones?: ZoneGrant[]
  lifetimeMs?: number
  /** Issue time (default now): in the past for an expired certificate. */
  now?: number
}

export async function issueIdentity (ca: CaPair, options: IssueOptions = {}): Promise<AgentIdentity> {
  const keys = await generateKeyPair()
  const cert = await issueClientCertificate(ca, {
    account: options.account ?? 'test',
    zones: options.zones ?? [{ zone: 'localhost', wildcard: false }],
    publicKey: keys.publicKey,
    lifetimeMs: options.lifetimeMs ?? 3_600_000,
    ...(options.now === undefined ? {} : { now: options.now }),
  })
  return identityFromPem(cert.certPem, await exportKeyPem(keys.privateKey), ca.certPem)
}
