/**
 * Edge shield rate limits end to end (SPEC.md §11.1, README "Edge policies"): `rateLimit` per client IP
 * and per hostname, and `connectionRateLimit` on new visitor connections. A real edge with a policy
 * file, a real agent and a recording origin: the assertions are on what the visitor gets AND on what
 * the origin received. Two client IPs come from binding raw sockets to 127.0.0.1 and 127.0.0.2.
 * Rates are 0.5/s so that no token comes back while a test runs its burst, however slow the machine.
 */
import t, { type Test } from 'tap'
import { visit } from '../helpers/servers.js'
import { Conn, rawVisit, shielded, sleep, type Answer } from './shield-wire.js'

function rejected (t: Test, res: Answer, status: number, code: string): void {
  t.equal(res.status, status, `status ${status}`)
  t.equal(res.headers['burrow-error'], code, code)
  t.equal(res.headers['cache-control'], 'no-store')
}

/** Retry-After: whole seconds, at least 1, and never more than one token's refill time. */
function retryAfter (t: Test, res: Answer, maxS: number): number {
  const value = res.headers['retry-after']
  const n = Number(value)
  t.ok(typeof value === 'string' && /^[0-9]+$/.test(value) && n >= 1 && n <= maxS, `Retry-After ${String(value)} is whole seconds in [1, ${maxS}]`)
  return n
}

t.test('§11.1 rateLimit per ip: the burst passes, then 429 + Retry-After and nothing more reaches the origin; another IP is served; after Retry-After it passes again', async (t) => {
  const { origin, edge } = await shielded(t, `
hosts:
  app.localhost:
    allow: { paths: ["/*"] }
    rateLimit: { requestsPerSecond: 0.5, burst: 5, per: ip }
`)
  for (let i = 0; i < 5; i++) t.equal((await visit(edge.base, `/burst/${i}`)).status, 200, `burst request ${i} passes`)

  const over = await Promise.all([0, 1, 2].map(async (i) => await visit(edge.base, `/over/${i}`)))
  for (const res of over) {
    rejected(t, res, 429, 'BURROW_ERR_RATE_LIMITED')
    retryAfter(t, res, 2)
  }
  // The request rate is checked before the path (§11.1): a limited client gets 429 even for a target that would be 400.
  rejected(t, await rawVisit(t, edge.base, '/a/..%2fb'), 429, 'BURROW_ERR_RATE_LIMITED')

  // A well-behaved client on another address has its own bucket, and meets the path check.
  const other = await rawVisit(t, edge.base, '/other', { from: '127.0.0.2' })
  t.equal(other.status, 200, '127.0.0.2 is served while 127.0.0.1 is limited')
  rejected(t, await rawVisit(t, edge.base, '/a/..%2fb', { from: '127.0.0.2' }), 400, 'BURROW_ERR_BAD_REQUEST')

  t.same(origin.received.map((r) => r.url), ['/burst/0', '/burst/1', '/burst/2', '/burst/3', '/burst/4', '/other'],
    'the origin saw the burst and the other client, nothing beyond the burst')

  await sleep(retryAfter(t, over.at(-1)!, 2) * 1000 + 100)
  const again = await visit(edge.base, '/again')
  t.equal(again.status, 200, 'after Retry-After seconds the client passes again')
  t.equal(origin.received.at(-1)?.url, '/again')
  t.same(edge.edge.shieldStats(), { BURROW_ERR_RATE_LIMITED: 4, BURROW_ERR_BAD_REQUEST: 1 }, 'every rejection is counted')
})

t.test('§11.1 rateLimit per host: two client IPs share one bucket; another hostname keeps its own', async (t) => {
  const { origin, edge } = await shielded(t, `
hosts:
  app.localhost:
    rateLimit: { requestsPerSecond: 0.5, burst: 4, per: host }
  other.localhost:
    rateLimit: { requestsPerSecond: 0.5, burst: 4, per: host }
`, { hostnames: ['app.localhost', 'other.localhost'] })
  const one = await Conn.open(t, edge.base, '127.0.0.1')
  const two = await Conn.open(t, edge.base, '127.0.0.2')
  t.equal((await one.request('GET', '/1')).status, 200)
  t.equal((await two.request('GET', '/2')).status, 200)
  t.equal((await one.request('GET', '/3')).status, 200)
  t.equal((await two.request('GET', '/4')).status, 200)

  const a = await one.request('GET', '/5')
  rejected(t, a, 429, 'BURROW_ERR_RATE_LIMITED')
  retryAfter(t, a, 2)
  const b = await two.request('GET', '/6')
  rejected(t, b, 429, 'BURROW_ERR_RATE_LIMITED')
  retryAfter(t, b, 2)

  const elsewhere = await one.request('GET', '/other', 'other.localhost')
  t.equal(elsewhere.status, 200, 'the same client is served on another hostname')
  t.same(origin.received.map((r) => `${String(r.headers.host)}${r.url}`),
    ['app.localhost/1', 'app.localhost/2', 'app.localhost/3', 'app.localhost/4', 'other.localhost/other'],
    'the origin saw exactly the shared burst and the other hostname')
  t.same(edge.edge.shieldStats(), { BURROW_ERR_RATE_LIMITED: 2 })
})

t.test('§11.1 connectionRateLimit: new connections beyond the burst get 429 + connection: close; an established keep-alive connection keeps working', async (t) => {
  const { origin, edge } = await shielded(t, `
connectionRateLimit: { connectionsPerSecond: 0.5, burst: 3 }
`)
  const kept = await Conn.open(t, edge.base)
  t.equal((await kept.request('GET', '/kept/1')).status, 200, 'connection 1 is served')
  for (const n of [2, 3]) {
    const c = await Conn.open(t, edge.base)
    t.equal((await c.request('GET', `/conn/${n}`)).status, 200, `connection ${n} is within the burst`)
    c.socket.destroy()
  }

  const over = await Conn.open(t, edge.base)
  const res = await over.request('GET', '/conn/4')
  rejected(t, res, 429, 'BURROW_ERR_RATE_LIMITED')
  const wait = retryAfter(t, res, 2)
  t.equal(res.headers.connection, 'close', 'the over-limit connection is told it closes')
  await over.waitClosed()
  t.pass('and the edge closes it')
  t.same(origin.received.map((r) => r.url), ['/kept/1', '/conn/2', '/conn/3'], 'its request never reached the origin')

  const again = await kept.request('GET', '/kept/2')
  t.equal(again.status, 200, 'the established keep-alive connection is still served')
  t.notOk(kept.closed, 'and stays open')
  const neighbour = await rawVisit(t, edge.base, '/neighbour', { from: '127.0.0.2' })
  t.equal(neighbour.status, 200, 'a new connection from another client IP is served')

  await sleep(wait * 1000 + 100)
  const later = await rawVisit(t, edge.base, '/later')
  t.equal(later.status, 200, 'after Retry-After a new connection is accepted again')
  t.same(origin.received.map((r) => r.url), ['/kept/1', '/conn/2', '/conn/3', '/kept/2', '/neighbour', '/later'])
  t.same(edge.edge.shieldStats(), { BURROW_ERR_RATE_LIMITED: 1 })
})
