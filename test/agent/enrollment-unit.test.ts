/**
 * The agent's view of its certificate (SPEC.md §4.2, §4.7), without an edge: building an identity from
 * stored PEM files (what `burrow login` saved) and when to renew it.
 */
import t from 'tap'
import { ensureEdgePki, issueClientCertificate } from '../../src/edge/pki.js'
import { exportKeyPem, generateKeyPair, pemCertificates } from '../../src/transport/x509.js'
import { identityFromPem, renewalTime } from '../../src/agent/enrollment.js'
import { tempDir } from '../helpers/servers.js'

const DAY_MS = 86_400_000

t.test('§4.7 renewalTime: once two thirds of the lifetime have elapsed', async (t) => {
  const cases: Array<[number, number, number]> = [
    [0, 3_000, 2_000],
    [1_000, 4_000, 3_000],
    [0, 10, 7],
    [0, 0, 0],
    [1_700_000_000_000, 1_700_000_000_000 + 7 * DAY_MS, 1_700_000_000_000 + 7 * DAY_MS - Math.floor(7 * DAY_MS / 3)],
  ]
  for (const [notBeforeMs, notAfterMs, expected] of cases) {
    t.equal(renewalTime({ notBeforeMs, notAfterMs }), expected, `${notBeforeMs}..${notAfterMs}`)
  }
})

t.test('§4.2 identityFromPem: the identity a stored certificate carries, with the PEM files', async (t) => {
  const pki = await ensureEdgePki(await tempDir(t))
  const keys = await generateKeyPair()
  const keyPem = await exportKeyPem(keys.privateKey)
  const zones = [{ zone: 'acme.localhost', wildcard: false }, { zone: 'acme.example', wildcard: true }]
  const now = Date.now()
  const issued = await issueClientCertificate(pki.ca, { account: 'acme', zones, publicKey: keys.publicKey, lifetimeMs: 7 * DAY_MS, now })
  const identity = identityFromPem(issued.certPem, keyPem, pki.caCertPem)
  t.same(identity, {
    certPem: issued.certPem,
    keyPem,
    caPem: pki.caCertPem,
    account: 'acme',
    zones,
    serial: issued.serial,
    notBeforeMs: issued.notBeforeMs,
    notAfterMs: issued.notAfterMs,
  })
  const renewAt = renewalTime(identity)
  const lifetime = identity.notAfterMs - identity.notBeforeMs
  t.equal(renewAt, identity.notAfterMs - Math.floor(lifetime / 3))
  t.ok(renewAt > now + 4 * DAY_MS && renewAt < now + 5 * DAY_MS, 'a 7-day certificate renews after about 4.7 days')
})

t.test('§4.2 identityFromPem refuses a certificate that is not a Burrow agent certificate', async (t) => {
  const pki = await ensureEdgePki(await tempDir(t))
  const serving = pemCertificates(pki.certPem)[0]!
  t.throws(() => identityFromPem(serving, pki.keyPem, pki.caCertPem), { name: 'TypeError', message: /not a Burrow agent certificate/ }, 'the edge serving certificate')
  t.throws(() => identityFromPem(pki.caCertPem, pki.ca.keyPem, pki.caCertPem), { message: /not a Burrow agent certificate/ }, 'the CA certificate')
  t.throws(() => identityFromPem('not a certificate', pki.keyPem, pki.caCertPem), 'text that is not PEM')
})
