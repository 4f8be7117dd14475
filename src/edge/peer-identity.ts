/**
 * Who is on the other end of a tunnel-port connection (SPEC.md §4.1): the identity in the client
 * certificate, or the stable code that says why there is none.
 */
import type { TLSSocket } from 'node:tls'
import type { ErrorCode } from '../protocol/errors.js'
import { identityOf, type CertIdentity } from '../transport/x509.js'
import type { CaPair } from './pki.js'
import type { IdentityStore } from './identity-store.js'

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2'

export type PeerCheck =
  | { ok: true, identity: CertIdentity }
  | { ok: false, code: ErrorCode, message: string }

/** Checks the client certificate of `socket` against the CA, the clock and the revocations. */
export function checkPeer (socket: TLSSocket, ca: CaPair, store: IdentityStore, now = Date.now()): PeerCheck {
  const cert = socket.getPeerX509Certificate()
  if (cert === undefined) {
    return { ok: false, code: 'BURROW_ERR_CERT_REQUIRED', message: 'no client certificate: enroll with `burrow login --edge <edge> --token <token>`' }
  }
  const verifyError = socket.authorized ? undefined : String(socket.authorizationError ?? 'unverified')
  // OpenSSL reports its last error, so an expired certificate from another CA shows up as
  // CERT_HAS_EXPIRED: the issuer and the agent-certificate checks (2) come before expiry (3).
  const timeError = verifyError === 'CERT_HAS_EXPIRED' || verifyError === 'CERT_NOT_YET_VALID'
  if ((verifyError !== undefined && !timeError) || !cert.checkIssued(ca.cert) || !cert.verify(ca.cert.publicKey)) {
    return { ok: false, code: 'BURROW_ERR_CERT_INVALID', message: `the client certificate was not issued by this edge's CA${verifyError === undefined || timeError ? '' : ` (${verifyError})`}` }
  }
  const identity = identityOf(cert)
  if (identity === undefined || !(cert.keyUsage ?? []).includes(CLIENT_AUTH_OID)) {
    return { ok: false, code: 'BURROW_ERR_CERT_INVALID', message: 'the certificate is not an agent certificate (no burrow account or no clientAuth usage)' }
  }
  if (timeError || now < identity.notBeforeMs || now >= identity.notAfterMs) {
    return { ok: false, code: 'BURROW_ERR_CERT_EXPIRED', message: `the client certificate expired at ${new Date(identity.notAfterMs).toISOString()}: run burrow login again` }
  }
  if (store.isRevoked(identity.serial)) {
    return { ok: false, code: 'BURROW_ERR_CERT_REVOKED', message: `certificate ${identity.serial} of account ${identity.account} has been revoked` }
  }
  return { ok: true, identity }
}
