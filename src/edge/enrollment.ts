/**
 * The edge side of an enrollment connection (SPEC.md §4.5-§4.7): one EnrollRequest in, one
 * EnrollResponse or EnrollRejected out, then the socket ends. Owns nothing past that socket.
 */
import type { TLSSocket } from 'node:tls'
import type { Logger } from 'pino'
import { ControlChannel } from '../transport/control-channel.js'
import { verifyCsr } from '../transport/x509.js'
import { BurrowError, isBurrowError } from '../protocol/errors.js'
import { ENROLLMENT_DEADLINE_MS } from '../protocol/constants.js'
import type { burrow } from '../protocol/generated/tunnel.js'
import type { ZoneGrant } from '../protocol/identity.js'
import { issueClientCertificate, type CaPair } from './pki.js'
import type { CertificateRecord, IdentityStore } from './identity-store.js'
import { checkPeer } from './peer-identity.js'

export interface EnrollmentDeps {
  ca: CaPair
  store: IdentityStore
  lifetimeMs: number
  /** How long the client has to send its EnrollRequest. Default 10 s (SPEC.md §4.5). */
  deadlineMs?: number
  logger: Logger
}

/**
 * Serves one enrollment connection. `close()` (the edge shutting down) ends it unless its request is
 * already being answered.
 */
export function serveEnrollment (socket: TLSSocket, deps: EnrollmentDeps): { close: () => void } {
  const logger = deps.logger.child({ component: 'enrollment', peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}` })
  const channel = new ControlChannel(socket)
  let answered = false
  const deadline = setTimeout(() => {
    logger.debug('no EnrollRequest before the deadline')
    socket.destroy()
  }, deps.deadlineMs ?? ENROLLMENT_DEADLINE_MS)
  deadline.unref()
  socket.on('error', (err) => logger.debug({ err: err.message }, 'enrollment socket error'))
  socket.once('close', () => clearTimeout(deadline))

  const answer = (frame: burrow.v1.IFrame): void => {
    if (socket.destroyed) return
    channel.send(frame)
    socket.end()
    // A client that never closes its side must not hold the socket.
    setTimeout(() => socket.destroy(), 1_000).unref()
  }
  const reject = (err: BurrowError): void => {
    logger.info({ code: err.code, reason: err.message }, 'enrollment rejected')
    answer({ enrollRejected: { code: err.code, message: err.message } })
  }

  channel.on('protocolError', (err) => {
    if (answered) return
    answered = true
    clearTimeout(deadline)
    reject(err)
  })
  channel.on('frame', (frame) => {
    if (answered) return
    answered = true
    clearTimeout(deadline)
    if (frame.msg !== 'enrollRequest' || frame.enrollRequest == null) {
      reject(new BurrowError('BURROW_ERR_PROTOCOL', `expected EnrollRequest, got ${frame.msg ?? 'an unknown message'}`))
      return
    }
    handle(socket, frame.enrollRequest, deps).then((response) => {
      logger.info({ account: response.account, serial: response.serial, renewal: (frame.enrollRequest?.token ?? '') === '' }, 'issued a client certificate')
      answer({ enrollResponse: response })
    }, (err: unknown) => {
      if (isBurrowError(err)) reject(err)
      else {
        logger.error({ err }, 'enrollment failed')
        reject(new BurrowError('BURROW_ERR_INTERNAL', 'the edge could not issue a certificate'))
      }
    })
  })
  channel.on('end', () => {
    if (!answered) socket.destroy()
  })
  return { close: () => { if (!answered) socket.destroy() } }
}

async function handle (socket: TLSSocket, req: burrow.v1.EnrollRequest.$Properties, deps: EnrollmentDeps): Promise<burrow.v1.IEnrollResponse> {
  const csr = await verifyCsr(req.csr ?? new Uint8Array(0))
  if (!csr.ok) throw new BurrowError('BURROW_ERR_CSR_INVALID', `invalid certificate signing request: ${csr.reason}`)
  const agent = { version: String(req.client?.version ?? '').slice(0, 64), arch: String(req.client?.arch ?? '').slice(0, 64) }
  const issue = async (account: string, zones: ZoneGrant[], renewedFrom?: string): Promise<{ serial: string, record: CertificateRecord, certPem: string }> => {
    const cert = await issueClientCertificate(deps.ca, { account, zones, publicKey: csr.publicKey, lifetimeMs: deps.lifetimeMs })
    const record: CertificateRecord = {
      account, zones, notBefore: cert.notBeforeMs, notAfter: cert.notAfterMs, issuedAt: Date.now(), agent,
      ...(renewedFrom === undefined ? {} : { renewedFrom }),
    }
    return { serial: cert.serial, record, certPem: cert.certPem }
  }
  let issued: { serial: string, record: CertificateRecord, certPem: string }
  if (typeof req.token === 'string' && req.token !== '') {
    issued = await deps.store.redeemToken(req.token, async (account, zones) => await issue(account, zones))
  } else {
    // Renewal: the current client certificate is the credential (SPEC.md §4.7).
    await deps.store.refresh()
    const peer = checkPeer(socket, deps.ca, deps.store)
    if (!peer.ok) throw new BurrowError(peer.code, peer.message)
    const account = deps.store.account(peer.identity.account)
    if (account === undefined) throw new BurrowError('BURROW_ERR_AUTH_FAILED', `the account ${peer.identity.account} no longer exists`)
    issued = await issue(peer.identity.account, account.zones, peer.identity.serial)
    await deps.store.recordCertificate(issued.serial, issued.record)
  }
  return {
    certificate: issued.certPem,
    ca: deps.ca.certPem,
    account: issued.record.account,
    zones: issued.record.zones,
    serial: issued.serial,
    notAfterMs: issued.record.notAfter,
  }
}
