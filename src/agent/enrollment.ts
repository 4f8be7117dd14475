/**
 * The agent side of enrollment and renewal (SPEC.md §4.5-§4.7): a key pair made here (the private
 * key never leaves this process), a CSR sent over an enrollment connection, the issued certificate back.
 */
import net, { isIP } from 'node:net'
import tls, { type TLSSocket } from 'node:tls'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { ControlChannel } from '../transport/control-channel.js'
import { certFingerprint, createKeyAndCsr, identityOf, pemCertificates } from '../transport/x509.js'
import { BurrowError, isErrorCode, type ErrorCode } from '../protocol/errors.js'
import { ALPN_ENROLL_V1 } from '../protocol/constants.js'
import { parseEnrollmentToken, type ZoneGrant } from '../protocol/identity.js'
import type { burrow } from '../protocol/generated/tunnel.js'

/** An agent's credentials: its certificate, private key and the edge CA that issued it. */
export interface AgentIdentity {
  certPem: string
  keyPem: string
  caPem: string
  account: string
  zones: ZoneGrant[]
  serial: string
  notBeforeMs: number
  notAfterMs: number
}

/** The edge refused an enrollment or renewal (EnrollRejected), or the exchange failed. */
export class EnrollmentError extends BurrowError {
  constructor (code: ErrorCode, message: string) {
    super(code, message)
    this.name = 'EnrollmentError'
  }
}

export interface ClientDescription {
  version?: string
  agentId?: string
}

export interface EnrollOptions {
  /** The edge's tunnel address, "host:port". */
  host: string
  port: number
  /** One-time enrollment token (SPEC.md §4.6). */
  token: string
  /** The edge CA to verify against; without it the fingerprint in the token is pinned. */
  ca?: string | Buffer
  client?: ClientDescription
  timeoutMs?: number
}

/** Enrolls: returns a fresh identity for the token's account. */
export async function enroll (options: EnrollOptions): Promise<AgentIdentity> {
  const parsed = parseEnrollmentToken(options.token)
  if (parsed === undefined) throw new EnrollmentError('BURROW_ERR_ENROLLMENT_INVALID', 'this is not a Burrow enrollment token (burrow1.<id>.<secret>.<fingerprint>)')
  return await exchange(options.host, options.port, options.token, {
    ...(options.ca === undefined ? { pin: parsed.caFingerprint } : { ca: options.ca }),
  }, options.client, options.timeoutMs)
}

export interface RenewOptions {
  host: string
  port: number
  identity: AgentIdentity
  client?: ClientDescription
  timeoutMs?: number
}

/** Renews: a new key and certificate for the same account, authenticated by the current certificate. */
export async function renew (options: RenewOptions): Promise<AgentIdentity> {
  const id = options.identity
  return await exchange(options.host, options.port, '', { ca: id.caPem, cert: id.certPem, key: id.keyPem }, options.client, options.timeoutMs)
}

/** Builds an identity from stored PEM files; throws when the certificate carries no Burrow identity. */
export function identityFromPem (certPem: string, keyPem: string, caPem: string): AgentIdentity {
  const cert = new X509Certificate(certPem)
  const id = identityOf(cert)
  if (id === undefined) throw new TypeError('the certificate is not a Burrow agent certificate')
  return { certPem, keyPem, caPem, ...id }
}

/** When to renew (SPEC.md §4.7): once two thirds of the lifetime have passed. */
export function renewalTime (identity: Pick<AgentIdentity, 'notBeforeMs' | 'notAfterMs'>): number {
  return identity.notAfterMs - Math.floor((identity.notAfterMs - identity.notBeforeMs) / 3)
}

interface Trust { ca?: string | Buffer, pin?: string, cert?: string, key?: string }

async function exchange (host: string, port: number, token: string, trust: Trust, client: ClientDescription = {}, timeoutMs = 15_000): Promise<AgentIdentity> {
  const { keyPem, csrDer } = await createKeyAndCsr(client.agentId ?? 'burrow-agent')
  return await new Promise<AgentIdentity>((resolve, reject) => {
    let settled = false
    const tcp = net.connect({ host, port, noDelay: true })
    const socket = tls.connect({
      socket: tcp,
      host,
      ALPNProtocols: [ALPN_ENROLL_V1],
      minVersion: 'TLSv1.3',
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(trust.pin === undefined ? { ca: trust.ca } : { rejectUnauthorized: false }),
      ...(trust.cert === undefined ? {} : { cert: trust.cert, key: trust.key }),
    })
    const finish = (err: Error | undefined, value?: AgentIdentity): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err !== undefined) reject(err)
      else resolve(value!)
    }
    const timer = setTimeout(() => finish(new EnrollmentError('BURROW_ERR_INTERNAL', `no answer from the edge within ${timeoutMs} ms`)), timeoutMs)
    tcp.on('error', (err) => finish(err))
    socket.on('error', (err) => finish(err))
    socket.on('close', () => finish(new EnrollmentError('BURROW_ERR_PROTOCOL', 'the edge closed the enrollment connection without an answer')))
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== ALPN_ENROLL_V1) {
        finish(new EnrollmentError('BURROW_ERR_PROTOCOL', `the edge does not support enrollment (ALPN ${String(socket.alpnProtocol)})`))
        return
      }
      let caPem: string
      if (trust.pin !== undefined) {
        // Check the pinned CA before the token leaves this process (SPEC.md §4.5).
        const pinned = pinnedCa(socket, host, trust.pin)
        if (typeof pinned !== 'string') { finish(pinned); return }
        caPem = pinned
      } else {
        caPem = typeof trust.ca === 'string' ? trust.ca : trust.ca?.toString('utf8') ?? ''
      }
      const channel = new ControlChannel(socket)
      channel.on('protocolError', (err) => finish(err))
      channel.on('frame', (frame) => {
        if (frame.msg === 'enrollRejected') {
          const r = frame.enrollRejected ?? { code: '', message: '' }
          finish(new EnrollmentError(isErrorCode(r.code) ? r.code : 'BURROW_ERR_INTERNAL', r.message ?? r.code ?? 'enrollment rejected'))
        } else if (frame.msg === 'enrollResponse' && frame.enrollResponse != null) {
          try {
            finish(undefined, identityOfResponse(frame.enrollResponse, keyPem, caPem))
          } catch (err) {
            finish(err as Error)
          }
        } else {
          finish(new EnrollmentError('BURROW_ERR_PROTOCOL', `unexpected ${frame.msg ?? 'unknown'} frame on the enrollment connection`))
        }
      })
      channel.send({ enrollRequest: { token, csr: csrDer, client: { agentId: client.agentId ?? '', version: client.version ?? '', arch: `${process.platform}_${process.arch}`, features: [] } } })
    })
  })
}

const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1'

/** With a pinned fingerprint: the edge's chain must contain that CA, and the serving certificate must be issued by it for `host`. */
function pinnedCa (socket: TLSSocket, host: string, pin: string): string | EnrollmentError {
  const chain: X509Certificate[] = []
  let link = socket.getPeerCertificate(true)
  const seen = new Set<string>()
  while (link?.raw !== undefined && !seen.has(link.fingerprint256)) {
    seen.add(link.fingerprint256)
    chain.push(new X509Certificate(link.raw))
    link = link.issuerCertificate
  }
  const leaf = chain[0]
  const ca = chain.find((c) => certFingerprint(c) === pin)
  const now = Date.now()
  const nameOk = leaf !== undefined && (isIP(host) !== 0 ? leaf.checkIP(host) !== undefined : leaf.checkHost(host) !== undefined)
  // The purpose check that CA verification makes: an agent certificate from the same CA (CN = its
  // account, which checkHost falls back to without DNS names) must not pass for the edge.
  const serverAuth = leaf !== undefined && (leaf.keyUsage === undefined || leaf.keyUsage.includes(SERVER_AUTH_OID))
  if (leaf === undefined || ca === undefined || !serverAuth || !leaf.checkIssued(ca) || !leaf.verify(ca.publicKey) ||
      now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo) || !nameOk) {
    return new EnrollmentError('BURROW_ERR_CERT_INVALID', `the edge at ${host} did not present the CA the token pins (or its certificate does not name ${host}); pass --edge-ca to verify with a CA file`)
  }
  return ca.toString()
}

function identityOfResponse (r: burrow.v1.EnrollResponse.$Properties, keyPem: string, caPem: string): AgentIdentity {
  const certPem = pemCertificates(r.certificate ?? '')[0]
  if (certPem === undefined) throw new EnrollmentError('BURROW_ERR_PROTOCOL', 'the EnrollResponse carries no certificate')
  const ca = caPem !== '' ? caPem : r.ca ?? ''
  const cert = new X509Certificate(certPem)
  if (!cert.checkIssued(new X509Certificate(ca)) || !cert.verify(new X509Certificate(ca).publicKey)) {
    throw new EnrollmentError('BURROW_ERR_CERT_INVALID', 'the issued certificate is not signed by the edge CA')
  }
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) {
    throw new EnrollmentError('BURROW_ERR_CERT_INVALID', 'the issued certificate is not for the key this agent generated')
  }
  return identityFromPem(certPem, keyPem, ca)
}
