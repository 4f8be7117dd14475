/**
 * What the origin receives about where a request came from (SPEC.md §5.3.2, §5.3.3, §11.2), the
 * connection rate limit for HTTP/2 visitors (§11.1) and the Host port range (§5.1). A real edge, a
 * real agent and a recording origin; assertions on what the visitor got AND on what the origin saw.
 *
 * - §5.3.2: underscore spellings of fields the edge sets or removes (x_forwarded_for, burrow_*, a
 *   hop-by-hop field, a field Connection lists, the configured identity field) never reach the
 *   origin, over HTTP/1.1 and over h2c; an ordinary underscore field does.
 * - `Forwarded` is not among the fields §5.3.1 removes nor among those §5.3.3 sets: it is passed
 *   through unchanged, and (§11.2) it never changes the client address the edge vouches for.
 * - §11.2 / §5.3.3: from a trusted proxy the origin receives the proxy's chain followed by the peer;
 *   from any other peer, the peer alone (two client IPs: raw sockets bound to 127.0.0.1 / 127.0.0.2).
 */
import t, { type Test } from 'tap'
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import net from 'node:net'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { startAgent, startEdge, startOrigin, type Received, type StartedEdge } from '../helpers/servers.js'
import { hashBearerToken } from '../../src/edge/shield/auth.js'
import { rawVisit, shielded, type Answer } from './shield-wire.js'

function rejected (t: Test, res: Answer, status: number, code: string, what: string): void {
  t.equal(res.status, status, `${what}: status ${status}`)
  t.equal(res.headers['burrow-error'], code, `${what}: ${code}`)
  t.equal(res.headers['cache-control'], 'no-store', `${what}: cache-control no-store`)
}

/** Lower-cased field names of a raw header list. */
function names (raw: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) out.push(raw[i]!.toLowerCase())
  return out
}

/** Every value of `name` (lower-case) in a raw header list, in order. */
function values (raw: string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!)
  return out
}

/** The one request the origin received for `url`. */
function receivedAt (t: Test, received: Received[], url: string): Received {
  const hits = received.filter((r) => r.url === url)
  t.equal(hits.length, 1, `the origin received ${url} once`)
  return hits[0] ?? { method: '', url, headers: {}, rawHeaders: [], body: Buffer.alloc(0) }
}

interface H2Response {
  status: number | undefined
  headers: IncomingHttpHeaders
  raw: string[]
  body: string
}

/** An h2c (prior knowledge) session to the edge's plain listener, from `localAddress` when given. */
async function h2cSession (t: Test, edge: StartedEdge, localAddress?: string): Promise<ClientHttp2Session> {
  const port = edge.edge.publicAddress.port
  const session = http2.connect(`http://127.0.0.1:${port}`, localAddress === undefined
    ? {}
    : { createConnection: () => net.connect({ host: '127.0.0.1', port, localAddress }) })
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  await once(session, 'connect')
  return session
}

/** One request on `session`; resolves when the stream closes, whatever the outcome (bounded by a timeout). */
async function h2Request (session: ClientHttp2Session, headers: OutgoingHttpHeaders, timeoutMs = 5_000): Promise<H2Response> {
  const stream = session.request({ ':authority': 'app.localhost', ...headers }, { endStream: true })
  const out: H2Response = { status: undefined, headers: {}, raw: [], body: '' }
  const chunks: Buffer[] = []
  stream.on('response', (h: IncomingHttpHeaders, _flags: number, raw: string[]) => {
    out.status = Number(h[':status'])
    out.headers = h
    out.raw = raw
  })
  stream.on('data', (c: Buffer) => chunks.push(c))
  stream.on('error', () => {})
  const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), timeoutMs)
  await new Promise((resolve) => stream.once('close', resolve))
  clearTimeout(timer)
  out.body = Buffer.concat(chunks).toString()
  return out
}

/** Resolves true when the session closes within `ms`, false otherwise. */
async function closesWithin (session: ClientHttp2Session, ms: number): Promise<boolean> {
  if (session.closed || session.destroyed) return true
  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    once(session, 'close').then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) }),
  ])
  clearTimeout(timer)
  return closed
}

/** A plain edge (no policy file), a recording origin and an agent for app.localhost. */
async function plainEdge (t: Test): Promise<{ origin: Awaited<ReturnType<typeof startOrigin>>, edge: StartedEdge }> {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  return { origin, edge }
}

/** Underscore spellings of fields the edge sets or removes (SPEC.md §5.3.2), as a visitor may send them. */
const SPOOFED: Array<[string, string]> = [
  ['x_forwarded_for', '6.6.6.6'],
  ['X_Forwarded_Host', 'evil'],
  ['X_FORWARDED_PROTO', 'https'],
  ['x_forwarded_port', '1'],
  ['burrow_auth_identity', 'mallory'],
  ['Burrow_Request_Id', '00000000000000000000000000000000'],
  ['Keep_Alive', 'x'],
  ['proxy_authorization', 'Basic bWFsbG9yeTpwdw=='],
  ['x_hop', 'listed by Connection'],
]

/** What every §5.3.2 request must look like at the origin. */
function assertSanitised (t: Test, got: Received, what: string): void {
  const underscored = names(got.rawHeaders).filter((n) => n.includes('_'))
  t.same(underscored, ['x_custom_thing'], `${what}: the only underscore field the origin received is x_custom_thing`)
  t.same(values(got.rawHeaders, 'x_custom_thing'), ['1'], `${what}: an ordinary underscore field reaches the origin unchanged`)
  t.same(values(got.rawHeaders, 'x-forwarded-for'), ['127.0.0.1'], `${what}: x-forwarded-for is the socket peer alone`)
  t.same(values(got.rawHeaders, 'x-forwarded-host'), ['app.localhost'], `${what}: x-forwarded-host is the visitor's Host`)
  t.same(values(got.rawHeaders, 'x-forwarded-proto'), ['http'], `${what}: x-forwarded-proto is the scheme the visitor used`)
  t.same(values(got.rawHeaders, 'burrow-auth-identity'), [], `${what}: no identity field at all`)
  t.equal(values(got.rawHeaders, 'burrow-request-id').length, 1, `${what}: one request id, the edge's`)
  t.not(values(got.rawHeaders, 'burrow-request-id')[0], '00000000000000000000000000000000', `${what}: not the visitor's`)
  t.same(values(got.rawHeaders, 'keep-alive'), [], `${what}: no keep-alive`)
  // §5.3.1 does not remove Forwarded and §5.3.3 does not set it: it passes through as sent, and
  // (§11.2) never changes the address the edge vouches for (x-forwarded-for above).
  t.same(values(got.rawHeaders, 'forwarded'), ['for=6.6.6.6'], `${what}: Forwarded passes through unchanged`)
  t.notOk(got.rawHeaders.some((v, i) => i % 2 === 1 && /6\.6\.6\.6/.test(v) && got.rawHeaders[i - 1]!.toLowerCase() !== 'forwarded'),
    `${what}: 6.6.6.6 appears in no field but Forwarded`)
  t.notOk(got.rawHeaders.some((v, i) => i % 2 === 1 && /evil|mallory|listed by Connection/.test(v)), `${what}: none of the spoofed values reached the origin`)
}

t.test('§5.3.2 underscore spellings of edge-owned fields never reach the origin over HTTP/1.1; x_custom_thing does; Forwarded passes unchanged', async (t) => {
  const { origin, edge } = await plainEdge(t)
  const res = await rawVisit(t, edge.base, '/h1', {
    headers: [
      ['Connection', 'x-hop'],
      ...SPOOFED,
      ['Forwarded', 'for=6.6.6.6'],
      ['x_custom_thing', '1'],
    ],
  })
  t.equal(res.status, 200, 'the request is served (dropping a field does not fail the request)')
  t.equal(origin.received.length, 1)
  assertSanitised(t, receivedAt(t, origin.received, '/h1'), 'HTTP/1.1')
})

t.test('§5.3.2 the same over h2c: underscore spellings dropped, x_custom_thing and Forwarded kept', async (t) => {
  const { origin, edge } = await plainEdge(t)
  const session = await h2cSession(t, edge)
  const fields: OutgoingHttpHeaders = { ':path': '/h2', forwarded: 'for=6.6.6.6', x_custom_thing: '1' }
  // HTTP/2 field names are lower-case (RFC 9113 §8.2.1), and Connection does not exist there.
  for (const [name, value] of SPOOFED) if (name !== 'x_hop') fields[name.toLowerCase()] = value
  const res = await h2Request(session, fields)
  t.equal(res.status, 200, 'the request is served')
  t.equal(origin.received.length, 1)
  assertSanitised(t, receivedAt(t, origin.received, '/h2'), 'h2c')
})

t.test('§5.3.2 / §11.4 the underscore spelling of a configured identityHeader never reaches the origin either', async (t) => {
  const token = 'tok_' + randomBytes(16).toString('hex')
  const { origin, edge } = await shielded(t, `
hosts:
  app.localhost:
    auth: { bearer: ["${hashBearerToken(token)}"] }
    identityHeader: x-auth-user
`)
  const res = await rawVisit(t, edge.base, '/id', {
    headers: [['Authorization', `Bearer ${token}`], ['X_Auth_User', 'admin'], ['x-auth-user', 'root'], ['x_custom_thing', '1']],
  })
  t.equal(res.status, 200, 'the right token passes')
  const got = receivedAt(t, origin.received, '/id')
  const expected = 'bearer:' + createHash('sha256').update(token).digest('hex').slice(0, 16)
  t.same(values(got.rawHeaders, 'x-auth-user'), [expected], "the origin gets the edge's identity only")
  t.same(names(got.rawHeaders).filter((n) => n.includes('_')), ['x_custom_thing'], 'x_auth_user is dropped, x_custom_thing kept')
  t.notOk(got.rawHeaders.some((v, i) => i % 2 === 1 && /^(admin|root)$/.test(v)), 'neither client-supplied identity reached the origin')
})

t.test('§11.2 / §5.3.3 trustedProxies: a trusted peer\'s X-Forwarded-For chain is kept and the peer appended; an untrusted peer\'s is replaced; with and without a host policy', async (t) => {
  const { origin, edge } = await shielded(t, `
trustedProxies: ["127.0.0.1/32"]
hosts:
  app.localhost:
    rateLimit: { requestsPerSecond: 100, burst: 100, per: ip }
`, { hostnames: ['app.localhost', 'plain.localhost'] })
  const XFF: [string, string] = ['X-Forwarded-For', '203.0.113.7']
  const cases: Array<{ host: string, target: string, from: string, headers: Array<[string, string]>, expected: string }> = []
  for (const host of ['app.localhost', 'plain.localhost']) {
    const tag = host.split('.')[0]!
    cases.push(
      { host, target: `/${tag}/trusted`, from: '127.0.0.1', headers: [XFF], expected: '203.0.113.7, 127.0.0.1' },
      { host, target: `/${tag}/untrusted`, from: '127.0.0.2', headers: [XFF], expected: '127.0.0.2' },
      { host, target: `/${tag}/trusted-no-xff`, from: '127.0.0.1', headers: [], expected: '127.0.0.1' },
      { host, target: `/${tag}/trusted-two-lines`, from: '127.0.0.1', headers: [XFF, ['X-Forwarded-For', '198.51.100.1']], expected: '203.0.113.7, 198.51.100.1, 127.0.0.1' },
      { host, target: `/${tag}/trusted-underscore`, from: '127.0.0.1', headers: [XFF, ['x_forwarded_for', '6.6.6.6']], expected: '203.0.113.7, 127.0.0.1' },
      { host, target: `/${tag}/untrusted-forwarded`, from: '127.0.0.2', headers: [['Forwarded', 'for=203.0.113.7']], expected: '127.0.0.2' },
    )
  }
  const results = await Promise.all(cases.map(async (c) => await rawVisit(t, edge.base, c.target, { host: c.host, from: c.from, headers: c.headers })))
  cases.forEach((c, i) => {
    t.equal(results[i]!.status, 200, `${c.host}${c.target} is served`)
    const got = receivedAt(t, origin.received, c.target)
    t.same(values(got.rawHeaders, 'x-forwarded-for'), [c.expected], `${c.host}${c.target} from ${c.from}: the origin gets x-forwarded-for: ${c.expected}`)
    t.same(names(got.rawHeaders).filter((n) => n.includes('_')), [], `${c.host}${c.target}: no underscore spelling`)
  })

  // The same over h2c, where req.socket is a per-request proxy of the connection's socket.
  for (const [from, expected] of [['127.0.0.1', '203.0.113.7, 127.0.0.1'], ['127.0.0.2', '127.0.0.2']] as const) {
    const session = await h2cSession(t, edge, from)
    for (const host of ['app.localhost', 'plain.localhost']) {
      const target = `/h2/${host.split('.')[0]!}/${from}`
      const res = await h2Request(session, { ':authority': host, ':path': target, 'x-forwarded-for': '203.0.113.7' })
      t.equal(res.status, 200, `h2c ${host}${target} is served`)
      t.same(values(receivedAt(t, origin.received, target).rawHeaders, 'x-forwarded-for'), [expected], `h2c from ${from} to ${host}: x-forwarded-for: ${expected}`)
    }
    session.close()
  }
  t.same(edge.edge.shieldStats(), {}, 'nothing was rejected')
})

t.test('§11.1 connectionRateLimit applies to h2c visitors: connections over the limit get 429 + Retry-After on their first stream and are closed; the admitted one keeps getting 200', async (t) => {
  const { origin, edge } = await shielded(t, `
connectionRateLimit: { connectionsPerSecond: 1, burst: 1 }
`)
  const first = await h2cSession(t, edge)
  const ok = await h2Request(first, { ':path': '/first/1' })
  t.equal(ok.status, 200, 'the first connection is within the burst')

  // Opened right after, well within the second one token takes to come back.
  const [second, third] = await Promise.all([h2cSession(t, edge), h2cSession(t, edge)])
  // The third sends two streams at once: both are open when the edge answers the first, and both are answered.
  const over = await Promise.all([
    h2Request(second!, { ':path': '/second/1' }),
    h2Request(third!, { ':path': '/third/1' }),
    h2Request(third!, { ':path': '/third/2' }),
  ])
  over.forEach((res, i) => {
    const what = ['second connection', 'third connection', 'third connection, concurrent stream'][i]!
    rejected(t, { status: res.status ?? 0, headers: res.headers }, 429, 'BURROW_ERR_RATE_LIMITED', what)
    t.equal(res.headers['retry-after'], '1', `${what}: Retry-After 1 (one token per second)`)
    t.notOk(names(res.raw).includes('connection'), `${what}: no connection field in an HTTP/2 response`)
    t.match(res.headers['burrow-request-id'], /^[0-9a-f]{32}$/, `${what}: a request id`)
  })

  const again = await h2Request(first, { ':path': '/first/2' })
  t.equal(again.status, 200, 'the admitted connection is still served')
  t.equal(JSON.parse(again.body).url, '/first/2')

  // README: "the request on an over-limit connection is answered, then the connection closes".
  t.ok(await closesWithin(second!, 3_000), 'the second connection is closed after its answer')
  t.ok(await closesWithin(third!, 3_000), 'the third connection is closed after its answer')
  t.notOk(first.closed || first.destroyed, 'the admitted connection stays open')
  t.equal((await h2Request(first, { ':path': '/first/3' })).status, 200, 'and keeps being served')

  t.same(origin.received.map((r) => r.url), ['/first/1', '/first/2', '/first/3'], 'nothing from the over-limit connections reached the origin')
  t.same(edge.edge.shieldStats(), { BURROW_ERR_RATE_LIMITED: 3 })
})

t.test('§5.1 Host with a port beyond 65535 is 400 BURROW_ERR_BAD_REQUEST and never routed; port 65535 routes normally', async (t) => {
  const { origin, edge } = await plainEdge(t)
  const bad = await Promise.all([
    rawVisit(t, edge.base, '/bad/99999', { host: 'app.localhost:99999' }),
    rawVisit(t, edge.base, '/bad/65536', { host: 'app.localhost:65536' }),
    rawVisit(t, edge.base, 'http://app.localhost:99999/bad/absolute', { host: 'app.localhost' }),
  ])
  rejected(t, bad[0]!, 400, 'BURROW_ERR_BAD_REQUEST', 'Host app.localhost:99999')
  rejected(t, bad[1]!, 400, 'BURROW_ERR_BAD_REQUEST', 'Host app.localhost:65536')
  rejected(t, bad[2]!, 400, 'BURROW_ERR_BAD_REQUEST', 'absolute-form target with port 99999')

  const good = await rawVisit(t, edge.base, '/good/65535', { host: 'app.localhost:65535' })
  t.equal(good.status, 200, 'Host app.localhost:65535 is served')
  const got = receivedAt(t, origin.received, '/good/65535')
  t.equal(got.headers.host, 'app.localhost:65535', 'the origin gets the Host as the visitor sent it')
  t.equal(got.headers['x-forwarded-host'], 'app.localhost:65535')

  const session = await h2cSession(t, edge)
  const h2bad = await h2Request(session, { ':authority': 'app.localhost:99999', ':path': '/bad/h2' })
  rejected(t, { status: h2bad.status ?? 0, headers: h2bad.headers }, 400, 'BURROW_ERR_BAD_REQUEST', 'h2c :authority app.localhost:99999')
  const h2good = await h2Request(session, { ':authority': 'app.localhost:65535', ':path': '/good/h2' })
  t.equal(h2good.status, 200, 'h2c :authority app.localhost:65535 is served')

  t.same(origin.received.map((r) => r.url), ['/good/65535', '/good/h2'], 'the origin saw only the requests with a valid port')
})
