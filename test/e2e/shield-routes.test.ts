/**
 * Edge shield access rules end to end (SPEC.md §11.1–§11.3): the method and path allow-list on the
 * normalised path (traversal tricks sent on raw sockets, so no client library normalises them first),
 * ipAllow / ipDeny with two loopback client IPs, trusted proxies and X-Forwarded-For, wildcard host
 * entries and `defaults` merged key by key. A real edge with a policy file, a real agent and a
 * recording origin: what the origin received is asserted along with what the visitor got.
 */
import t, { type Test } from 'tap'
import { visit } from '../helpers/servers.js'
import { Conn, rawVisit, shielded, type Answer } from './shield-wire.js'

function rejected (t: Test, res: Answer, status: number, code: string, what = ''): void {
  t.equal(res.status, status, `${what} status ${status}`)
  t.equal(res.headers['burrow-error'], code, `${what} ${code}`)
  t.equal(res.headers['cache-control'], 'no-store')
}

const ALLOW = `
hosts:
  app.localhost:
    allow: { methods: [GET, POST], paths: ["/public/*", "/health"] }
`

t.test('§11.1 allow.methods: an unlisted method is 405 with Allow; listed ones (and HEAD with GET) reach the origin', async (t) => {
  const { origin, edge } = await shielded(t, ALLOW)
  const [del, put, get, head, post] = await Promise.all([
    visit(edge.base, '/public/x', { method: 'DELETE' }),
    visit(edge.base, '/public/x', { method: 'PUT', body: 'data' }),
    visit(edge.base, '/public/x'),
    visit(edge.base, '/public/x', { method: 'HEAD' }),
    visit(edge.base, '/public/x', { method: 'POST', body: 'data' }),
  ])
  for (const res of [del, put]) {
    rejected(t, res, 405, 'BURROW_ERR_METHOD_NOT_ALLOWED')
    t.equal(res.headers.allow, 'GET, HEAD, POST', 'Allow lists what the policy allows')
  }
  t.equal(get.status, 200)
  t.equal(head.status, 200)
  t.equal(post.status, 200)
  t.same(origin.received.map((r) => r.method).sort(), ['GET', 'HEAD', 'POST'], 'only the allowed methods reached the origin')
  t.same(edge.edge.shieldStats(), { BURROW_ERR_METHOD_NOT_ALLOWED: 2 })
})

t.test('§11.3 allow.paths: traversal tricks on a raw socket are 403 or 400 and never reach the origin; an allowed path is served meanwhile', async (t) => {
  const { origin, edge } = await shielded(t, ALLOW)
  const cases: Array<[string, 400 | 403]> = [
    ['/admin', 403],
    ['/public', 403], // the prefix itself is not below it
    ['/publicity', 403],
    ['/health/x', 403],
    ['/public/../admin', 403],
    ['/public/./../admin', 403],
    ['/public/%2e%2e/admin', 403],
    ['/public/%2E%2E/admin', 403],
    ['/public/.%2e/admin', 403],
    ['//admin', 403],
    ['/public/..//admin', 403],
    ['/public;/../admin', 403],
    ['/public/..%2fadmin', 400],
    ['/public/..%2Fadmin', 400],
    ['/public/%2e%2e%2fadmin', 400],
    ['/public/..%5cadmin', 400],
    ['/public/..;/admin', 400],
    ['/public/.;/../admin', 400],
    ['/public/..\\admin', 400],
    ['/public\\..\\admin', 400],
    ['/public/%00/x', 400],
    ['/public/%zz', 400],
    ['/public/x#frag', 400],
    ['http://app.localhost/public/../admin', 403], // absolute-form is reduced to its path first
  ]
  const [ok, ...results] = await Promise.all([rawVisit(t, edge.base, '/public/ok'), ...cases.map(async ([target]) => await rawVisit(t, edge.base, target))])
  cases.forEach(([target, status], i) => {
    const res = results[i]!
    rejected(t, res, status, status === 400 ? 'BURROW_ERR_BAD_REQUEST' : 'BURROW_ERR_ROUTE_DENIED', JSON.stringify(target))
  })
  t.equal(ok!.status, 200, 'an allowed path is served meanwhile')
  t.same(origin.received.map((r) => r.url), ['/public/ok'], 'the origin saw none of the tricks')
})

t.test('§11.3 an allowed path that is not normal reaches the origin normalised, with the query untouched', async (t) => {
  const { origin, edge } = await shielded(t, ALLOW)
  const cases: Array<[string, string]> = [
    ['/public/./a//b?x=1&y=%2e%2e/..//z', '/public/a/b?x=1&y=%2e%2e/..//z'],
    ['/public/%7Euser', '/public/~user'],
    ['/public/%7euser?q=%7E', '/public/~user?q=%7E'],
    ['/public/caf%c3%a9', '/public/caf%C3%A9'],
    ['/public/a/../b', '/public/b'],
    ['/x/../public/c', '/public/c'],
    ['//public///d/', '/public/d/'],
    ['/public/%252e%252e/e', '/public/%252e%252e/e'], // %25 stays %25: decoded once, never twice
    ['/he%61lth', '/health'],
  ]
  const conn = await Conn.open(t, edge.base)
  for (const [sent, expected] of cases) {
    const res = await conn.request('GET', sent)
    t.equal(res.status, 200, `${sent} is allowed`)
    t.equal((JSON.parse(res.text) as { url: string }).url, expected, `${sent} reaches the origin as ${expected}`)
  }
  t.same(origin.received.map((r) => r.url), cases.map(([, expected]) => expected), 'the origin received exactly the normalised targets')
  t.same(edge.edge.shieldStats(), {})
})

t.test('§11.2 ipAllow / ipDeny: 127.0.0.2 denied while 127.0.0.1 is allowed; X-Forwarded-For and Forwarded from a peer never grant access', async (t) => {
  const { origin, edge } = await shielded(t, `
hosts:
  app.localhost:
    ipAllow: ["127.0.0.0/8"]
    ipDeny: ["127.0.0.2"]
  only.localhost:
    ipAllow: ["10.1.2.3/32"]
`, { hostnames: ['app.localhost', 'only.localhost'] })
  const [allowed, denied, spoofed, forwarded] = await Promise.all([
    rawVisit(t, edge.base, '/from-1', { from: '127.0.0.1' }),
    rawVisit(t, edge.base, '/from-2', { from: '127.0.0.2' }),
    rawVisit(t, edge.base, '/from-2-xff', { from: '127.0.0.2', headers: [['X-Forwarded-For', '127.0.0.1']] }),
    rawVisit(t, edge.base, '/from-2-fwd', { from: '127.0.0.2', headers: [['Forwarded', 'for=127.0.0.1']] }),
  ])
  t.equal(allowed.status, 200, '127.0.0.1 is in ipAllow and not in ipDeny')
  rejected(t, denied, 403, 'BURROW_ERR_IP_DENIED', '127.0.0.2')
  rejected(t, spoofed, 403, 'BURROW_ERR_IP_DENIED', '127.0.0.2 claiming 127.0.0.1 in X-Forwarded-For')
  rejected(t, forwarded, 403, 'BURROW_ERR_IP_DENIED', '127.0.0.2 claiming 127.0.0.1 in Forwarded')

  const only = await Promise.all([
    rawVisit(t, edge.base, '/plain', { host: 'only.localhost' }),
    rawVisit(t, edge.base, '/xff', { host: 'only.localhost', headers: [['X-Forwarded-For', '10.1.2.3']] }),
    rawVisit(t, edge.base, '/fwd', { host: 'only.localhost', headers: [['Forwarded', 'for=10.1.2.3']] }),
  ])
  for (const res of only) rejected(t, res, 403, 'BURROW_ERR_IP_DENIED', 'only.localhost without trusted proxies')
  t.same(origin.received.map((r) => r.url), ['/from-1'], 'only the allowed client reached the origin')
  t.same(edge.edge.shieldStats(), { BURROW_ERR_IP_DENIED: 6 })
})

t.test('§11.2 trustedProxies: X-Forwarded-For is read only from a trusted peer, from the right; a spoofed entry never grants access', async (t) => {
  const { origin, edge } = await shielded(t, `
trustedProxies: ["127.0.0.1"]
hosts:
  app.localhost:
    ipDeny: ["127.0.0.2", "203.0.113.0/24"]
  only.localhost:
    ipAllow: ["10.1.2.3"]
`, { hostnames: ['app.localhost', 'only.localhost'] })
  const only = async (target: string, from: string, headers: Array<[string, string]> = []): ReturnType<typeof rawVisit> =>
    await rawVisit(t, edge.base, target, { host: 'only.localhost', from, headers })
  const app = async (target: string, from: string, headers: Array<[string, string]> = []): ReturnType<typeof rawVisit> =>
    await rawVisit(t, edge.base, target, { from, headers })

  t.equal((await only('/via-proxy', '127.0.0.1', [['X-Forwarded-For', '10.1.2.3']])).status, 200, 'the trusted proxy vouches for 10.1.2.3')
  t.equal((await only('/via-two-proxies', '127.0.0.1', [['X-Forwarded-For', '10.1.2.3, 127.0.0.1']])).status, 200, 'trusted hops on the right are skipped')
  rejected(t, await only('/spoof-left', '127.0.0.1', [['X-Forwarded-For', '10.1.2.3, 198.51.100.7']]), 403, 'BURROW_ERR_IP_DENIED',
    'a client writing 10.1.2.3 left of the address the proxy appended')
  rejected(t, await only('/spoof-lines', '127.0.0.1', [['X-Forwarded-For', '10.1.2.3'], ['X-Forwarded-For', '198.51.100.7']]), 403, 'BURROW_ERR_IP_DENIED',
    'the same across two header lines')
  rejected(t, await only('/untrusted', '127.0.0.2', [['X-Forwarded-For', '10.1.2.3']]), 403, 'BURROW_ERR_IP_DENIED', 'an untrusted peer claiming 10.1.2.3')
  rejected(t, await only('/no-xff', '127.0.0.1'), 403, 'BURROW_ERR_IP_DENIED', 'the proxy itself')

  rejected(t, await app('/denied-client', '127.0.0.1', [['X-Forwarded-For', '203.0.113.5']]), 403, 'BURROW_ERR_IP_DENIED', 'a denied client behind the trusted proxy')
  t.equal((await app('/client', '127.0.0.1', [['X-Forwarded-For', '198.51.100.7']])).status, 200, 'an allowed client behind the trusted proxy')
  rejected(t, await app('/denied-peer', '127.0.0.2', [['X-Forwarded-For', '198.51.100.7']]), 403, 'BURROW_ERR_IP_DENIED', 'a denied peer naming another address')

  t.same(origin.received.map((r) => r.url), ['/via-proxy', '/via-two-proxies', '/client'], 'exactly the admitted requests reached the origin')
  t.same(edge.edge.shieldStats(), { BURROW_ERR_IP_DENIED: 6 })
})

t.test('§11.1 wildcard host entries match one label deep; defaults apply elsewhere; a host entry overrides defaults key by key', async (t) => {
  const { origin, edge } = await shielded(t, `
defaults:
  allow: { paths: ["/d/*"] }
  ipDeny: ["127.0.0.2"]
hosts:
  "*.example.localhost":
    allow: { paths: ["/w/*"] }
  app.localhost:
    allow: { paths: ["/h/*"] }
  open.localhost:
    allow: null
    ipDeny: null
`, { hostnames: ['a.example.localhost', 'b.a.example.localhost', 'example.localhost', 'app.localhost', 'other.localhost', 'open.localhost'] })
  const cases: Array<[host: string, path: string, from: string, status: number]> = [
    ['a.example.localhost', '/w/1', '127.0.0.1', 200], // the wildcard entry
    ['A.Example.Localhost.', '/w/2', '127.0.0.1', 200], // same routing key
    ['a.example.localhost', '/d/1', '127.0.0.1', 403], // its allow replaces the default's
    ['a.example.localhost', '/w/3', '127.0.0.2', 403], // the default's ipDeny is kept (key by key)
    ['b.a.example.localhost', '/d/2', '127.0.0.1', 200], // two labels deep: defaults
    ['b.a.example.localhost', '/w/4', '127.0.0.1', 403],
    ['example.localhost', '/d/3', '127.0.0.1', 200], // the parent itself: defaults
    ['example.localhost', '/w/5', '127.0.0.1', 403],
    ['app.localhost', '/h/1', '127.0.0.1', 200], // exact entry
    ['app.localhost', '/d/4', '127.0.0.1', 403],
    ['app.localhost', '/h/2', '127.0.0.2', 403],
    ['other.localhost', '/d/5', '127.0.0.1', 200], // no entry: defaults
    ['other.localhost', '/h/3', '127.0.0.1', 403],
    ['open.localhost', '/anything', '127.0.0.1', 200], // null clears both defaults
    ['open.localhost', '/anything-else', '127.0.0.2', 200],
  ]
  const results = await Promise.all(cases.map(async ([host, path, from]) => await rawVisit(t, edge.base, path, { host, from })))
  cases.forEach(([host, path, from, status], i) => {
    const res = results[i]!
    if (status === 200) t.equal(res.status, 200, `${host}${path} from ${from} is served`)
    else rejected(t, res, 403, from === '127.0.0.2' ? 'BURROW_ERR_IP_DENIED' : 'BURROW_ERR_ROUTE_DENIED', `${host}${path} from ${from}`)
  })
  const served = cases.filter(([, , , status]) => status === 200).map(([host, path]) => `${host.toLowerCase().replace(/\.$/, '')}${path}`).sort()
  t.same(origin.received.map((r) => `${String(r.headers['x-forwarded-host']).toLowerCase().replace(/\.$/, '')}${r.url}`).sort(), served,
    'the origin received exactly the admitted requests')
})
