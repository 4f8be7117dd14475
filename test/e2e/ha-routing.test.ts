/**
 * HA: label-weighted routing end to end (SPEC.md §5.11, scratch/design-ha.md "Routing rule"): a real edge
 * with a policy file, real agents holding several tunnel connections each, labelled release=stable and
 * release=canary, each in front of its own recording origin (so which origin answered proves which
 * agent served, independently of the labels). Weighted split, cookie and header stickiness, empty-pool
 * fallback, fewest outstanding streams within a pool, reload of the split, and label validation in the
 * agent (SPEC.md §3.4.1).
 */
import t, { type Test } from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Agent } from '../../src/agent/agent.js'
import { startAgent, startEdge, startOrigin, tempDir, visit, waitFor, type Origin, type StartedEdge, type VisitorResponse } from '../helpers/servers.js'

/** A recording origin that answers `<name> <burrow-label-release it received>` (or "-" without one). */
async function labelOrigin (t: Test, name: string): Promise<Origin> {
  return await startOrigin(t, (req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(`${name} ${fieldText(req.headers['burrow-label-release'])}`)
  })
}

function fieldText (value: string | string[] | undefined): string {
  return value === undefined ? '-' : Array.isArray(value) ? value.join(',') : value
}

/** Writes the policy file `text` in a temp dir and starts an edge with it. */
async function edgeWith (t: Test, text: string): Promise<{ edge: StartedEdge, config: string }> {
  const config = join(await tempDir(t, 'burrow-ha-'), 'edge.yaml')
  await writeFile(config, text)
  return { edge: await startEdge(t, { config }), config }
}

/** Registered connections of `host` whose labels include `release` (any when undefined). */
function registered (edge: StartedEdge, host: string, release?: string): number {
  const entry = edge.edge.registry.list().find((h) => h.hostname === host)
  if (entry === undefined) return 0
  return entry.connections.filter((c) => c.state === 'registered' && (release === undefined || c.labels.release === release)).length
}

/** Starts an agent for `hostnames` with `haConnections` and waits until the edge routes to every connection of it. */
async function haAgent (t: Test, edge: StartedEdge, origin: Origin, hostnames: string[], release: string | undefined, haConnections: number): Promise<Agent> {
  const before = registered(edge, hostnames[0]!, release)
  const agent = await startAgent(t, edge, origin, {
    hostnames,
    haConnections,
    ...(release === undefined ? {} : { labels: { release } }),
  })
  await waitFor(() => hostnames.every((h) => registered(edge, h, release) >= before + haConnections), 5_000)
  return agent
}

/** `count` visits with at most `concurrency` in flight; responses in request order. */
async function visitMany (edge: StartedEdge, count: number, concurrency: number, options: (i: number) => Parameters<typeof visit>[2] = () => ({})): Promise<VisitorResponse[]> {
  const out: VisitorResponse[] = new Array(count)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      out[i] = await visit(edge.base, `/r/${i}`, options(i))
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return out
}

/** Which origin answered ("stable", "canary", …): the first word of the body. */
function servedBy (res: VisitorResponse): string {
  return res.text.split(' ')[0]!
}

function setCookieOf (res: VisitorResponse): string[] {
  const value = res.headers['set-cookie']
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

const SPLIT_90_10 = [
  '    split:',
  '      - match: { release: stable }',
  '        weight: 90',
  '      - match: { release: canary }',
  '        weight: 10',
]

t.test('HA: a 90/10 split sends 10,000 requests 90/10 (±2 pp), the origin sees the serving label, request ids are unique', async (t) => {
  const { edge } = await edgeWith(t, ['hosts:', '  app.localhost:', ...SPLIT_90_10, ''].join('\n'))
  const stableOrigin = await labelOrigin(t, 'stable')
  const canaryOrigin = await labelOrigin(t, 'canary')
  await haAgent(t, edge, stableOrigin, ['app.localhost'], 'stable', 4)
  await haAgent(t, edge, canaryOrigin, ['app.localhost'], 'canary', 2)

  const N = 10_000
  const responses = await visitMany(edge, N, 32)
  const statuses = new Map<number, number>()
  for (const r of responses) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
  t.same([...statuses], [[200, N]], 'all 10,000 requests answered 200')

  const counts: Record<string, number> = { stable: 0, canary: 0 }
  let labelMismatch = 0
  for (const r of responses) {
    const [origin, label] = r.text.split(' ')
    counts[origin!] = (counts[origin!] ?? 0) + 1
    if (origin !== label) labelMismatch++
  }
  const stablePct = 100 * counts.stable! / N
  const canaryPct = 100 * counts.canary! / N
  t.ok(Math.abs(stablePct - 90) <= 2, `stable got ${stablePct.toFixed(2)} % (90 ± 2)`)
  t.ok(Math.abs(canaryPct - 10) <= 2, `canary got ${canaryPct.toFixed(2)} % (10 ± 2)`)
  t.equal(counts.stable! + counts.canary!, N, 'no request served by anything else')
  t.equal(labelMismatch, 0, 'each response came from the origin behind the pool its label names')

  // What the origins saw: every request once, with the label of the agent in front of it.
  t.equal(stableOrigin.received.length + canaryOrigin.received.length, N, 'the origins received each request exactly once')
  t.ok(stableOrigin.received.every((r) => r.headers['burrow-label-release'] === 'stable'), 'the stable origin saw burrow-label-release: stable on every request')
  t.ok(canaryOrigin.received.every((r) => r.headers['burrow-label-release'] === 'canary'), 'the canary origin saw burrow-label-release: canary on every request')

  // Request ids: unique per request, and the id the visitor got is the one the serving origin saw.
  const ids = new Set(responses.map((r) => r.headers['burrow-request-id'] as string))
  t.equal(ids.size, N, 'burrow-request-id is unique per request')
  const seenBy = new Map<string, string>()
  for (const r of stableOrigin.received) seenBy.set(r.headers['burrow-request-id'] as string, 'stable')
  for (const r of canaryOrigin.received) seenBy.set(r.headers['burrow-request-id'] as string, 'canary')
  t.equal(seenBy.size, N, 'the origins saw N distinct request ids')
  t.equal(responses.filter((r) => seenBy.get(r.headers['burrow-request-id'] as string) !== servedBy(r)).length, 0,
    'every visitor request id reached exactly the origin that answered it')
})

t.test('HA: cookie stickiness pins a client to its pool, reaches a weight-0 pool by cookie, re-assigns from an empty pool', async (t) => {
  const { edge } = await edgeWith(t, [
    'hosts:',
    '  app.localhost:',
    ...SPLIT_90_10,
    '      - match: { release: beta }', // no agent carries it: always empty
    '        weight: 0',
    '    sticky: { cookie: burrow-pool, ttl: 1h }',
    '  zero.localhost:',
    '    split:',
    '      - name: stable',
    '        match: { release: stable }',
    '        weight: 100',
    '      - name: canary',
    '        match: { release: canary }',
    '        weight: 0',
    '    sticky: { cookie: pool }',
    '',
  ].join('\n'))
  const stableOrigin = await labelOrigin(t, 'stable')
  const canaryOrigin = await labelOrigin(t, 'canary')
  const hosts = ['app.localhost', 'zero.localhost']
  await haAgent(t, edge, stableOrigin, hosts, 'stable', 2)
  await haAgent(t, edge, canaryOrigin, hosts, 'canary', 2)

  // A first visit is assigned a pool and told so.
  const first = await visit(edge.base, '/')
  t.equal(first.status, 200, 'the first visit is served')
  const cookies = setCookieOf(first)
  t.equal(cookies.length, 1, 'one Set-Cookie on the first response')
  const served = servedBy(first)
  t.equal(cookies[0], `burrow-pool=release=${served}; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600`,
    'Set-Cookie names the pool that served it, with Path, HttpOnly, SameSite=Lax and Max-Age from the ttl')

  // Follow-ups carrying it stay there and are not told again.
  const cookie = cookies[0]!.split(';')[0]!
  const follow = await visitMany(edge, 50, 8, () => ({ headers: { cookie: `theme=dark; ${cookie}` } }))
  t.equal(follow.filter((r) => r.status === 200 && servedBy(r) === served).length, 50, `50 follow-ups with the cookie all served by ${served}`)
  t.equal(follow.filter((r) => setCookieOf(r).length > 0).length, 0, 'no follow-up gets a new Set-Cookie')

  // Each pool can be chosen by cookie (the 10 % one included), whatever the weights say.
  for (const pool of ['stable', 'canary']) {
    const rs = await visitMany(edge, 20, 4, () => ({ headers: { cookie: `burrow-pool=release=${pool}` } }))
    t.equal(rs.filter((r) => r.status === 200 && servedBy(r) === pool).length, 20, `cookie release=${pool}: 20 of 20 on ${pool}`)
    t.equal(rs.filter((r) => setCookieOf(r).length > 0).length, 0, `cookie release=${pool}: no new Set-Cookie`)
  }

  // A weight-0 pool: never chosen by weight, reached by cookie; without a ttl, no Max-Age.
  const byWeight = await visitMany(edge, 100, 16, () => ({ host: 'zero.localhost' }))
  t.equal(byWeight.filter((r) => r.status === 200 && servedBy(r) === 'stable').length, 100, 'without a cookie, canary (weight 0) is never chosen')
  t.equal(setCookieOf(byWeight[0]!)[0], 'pool=stable; Path=/; HttpOnly; SameSite=Lax', 'an explicit pool name in the cookie, no Max-Age without ttl')
  const toCanary = await visitMany(edge, 20, 4, () => ({ host: 'zero.localhost', headers: { cookie: 'pool=canary' } }))
  t.equal(toCanary.filter((r) => r.status === 200 && servedBy(r) === 'canary').length, 20, 'cookie pool=canary reaches canary even with weight 0')
  t.equal(toCanary.filter((r) => setCookieOf(r).length > 0).length, 0, 'and is not re-assigned')

  // A cookie naming a pool with no connection (or no pool at all) is re-assigned to a live one.
  for (const stale of ['burrow-pool=release=beta', 'burrow-pool=release=gone']) {
    const r = await visit(edge.base, '/', { headers: { cookie: stale } })
    t.equal(r.status, 200, `${stale}: served`)
    const pool = servedBy(r)
    t.ok(pool === 'stable' || pool === 'canary', `${stale}: served by a live pool (${pool})`)
    t.same(setCookieOf(r), [`burrow-pool=release=${pool}; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600`], `${stale}: a new Set-Cookie names the pool that served it`)
  }
})

t.test('HA: header stickiness keeps each user on one pool, and a spread of users follows the weights', async (t) => {
  const { edge } = await edgeWith(t, ['hosts:', '  app.localhost:', ...SPLIT_90_10, '    sticky: { header: x-user-id }', ''].join('\n'))
  const stableOrigin = await labelOrigin(t, 'stable')
  const canaryOrigin = await labelOrigin(t, 'canary')
  await haAgent(t, edge, stableOrigin, ['app.localhost'], 'stable', 2)
  await haAgent(t, edge, canaryOrigin, ['app.localhost'], 'canary', 2)

  // 20 users, 10 requests each, interleaved.
  const users = Array.from({ length: 20 }, (_, i) => `u${i}`)
  const rs = await visitMany(edge, 200, 16, (i) => ({ headers: { 'x-user-id': users[i % 20]! } }))
  t.equal(rs.filter((r) => r.status === 200).length, 200, 'all 200 answered 200')
  const poolsOf = new Map<string, Set<string>>()
  rs.forEach((r, i) => {
    const user = users[i % 20]!
    let set = poolsOf.get(user)
    if (set === undefined) poolsOf.set(user, set = new Set())
    set.add(servedBy(r))
  })
  t.equal([...poolsOf.values()].filter((s) => s.size === 1).length, 20, 'each of the 20 users always landed on the same pool')
  const usedPools = new Set([...poolsOf.values()].map((s) => [...s][0]))
  t.same([...usedPools].sort(), ['canary', 'stable'], 'these 20 users are spread over both pools')
  t.equal(rs.filter((r) => setCookieOf(r).length > 0).length, 0, 'header stickiness sets no cookie')

  // 2,000 distinct users: the hash spreads them roughly by weight.
  const spread = await visitMany(edge, 2_000, 32, (i) => ({ headers: { 'x-user-id': `user-${i}@example.com` } }))
  t.equal(spread.filter((r) => r.status === 200).length, 2_000, 'all 2,000 answered 200')
  const stablePct = 100 * spread.filter((r) => servedBy(r) === 'stable').length / 2_000
  t.ok(Math.abs(stablePct - 90) <= 5, `stable got ${stablePct.toFixed(1)} % of 2,000 users (90 ± 5)`)
})

t.test('HA: an empty pool falls back to the others (fallback any), or gets 503 POOL_EMPTY (fallback none)', async (t) => {
  const split50 = [
    '    split:',
    '      - match: { release: stable }',
    '        weight: 50',
    '      - match: { release: canary }',
    '        weight: 50',
  ]
  const { edge } = await edgeWith(t, [
    'hosts:',
    '  any.localhost:',
    ...split50,
    '  none.localhost:',
    ...split50,
    '    fallback: none',
    '',
  ].join('\n'))
  const stableOrigin = await labelOrigin(t, 'stable')
  const canaryOrigin = await labelOrigin(t, 'canary')
  const hosts = ['any.localhost', 'none.localhost']
  const stable = await haAgent(t, edge, stableOrigin, hosts, 'stable', 2)
  const canary = await haAgent(t, edge, canaryOrigin, hosts, 'canary', 2)

  // Both pools live: both serve on both hostnames.
  const before = await visitMany(edge, 100, 16, (i) => ({ host: hosts[i % 2]! }))
  t.equal(before.filter((r) => r.status === 200).length, 100, 'all 100 answered 200')
  t.same([...new Set(before.map(servedBy))].sort(), ['canary', 'stable'], 'with both pools live, both serve')

  await canary.close()
  const canarySeen = canaryOrigin.received.length
  await waitFor(() => registered(edge, 'any.localhost', 'canary') === 0 && registered(edge, 'none.localhost', 'canary') === 0, 5_000)

  const anyHost = await visitMany(edge, 200, 16, () => ({ host: 'any.localhost' }))
  t.equal(anyHost.filter((r) => r.status === 200 && servedBy(r) === 'stable').length, 200, 'fallback any: every request succeeds, on stable')

  // fallback none: the requests that pick canary get 503; keep asking until at least one did (bounded).
  const none: VisitorResponse[] = []
  for (let round = 0; round < 10 && !none.some((r) => r.status === 503); round++) {
    none.push(...await visitMany(edge, 50, 16, () => ({ host: 'none.localhost' })))
  }
  const rejected = none.filter((r) => r.status === 503)
  t.ok(rejected.length > 0, `fallback none: ${rejected.length} of ${none.length} requests picked the empty canary pool`)
  t.ok(rejected.every((r) => r.headers['burrow-error'] === 'BURROW_ERR_POOL_EMPTY'), 'each of them got 503 with burrow-error BURROW_ERR_POOL_EMPTY')
  t.ok(rejected.every((r) => typeof r.headers['burrow-request-id'] === 'string'), 'with a request id')
  t.equal(none.filter((r) => r.status === 200 && servedBy(r) === 'stable').length, none.length - rejected.length, 'every other request was served by stable')
  t.equal(canaryOrigin.received.length, canarySeen, 'the canary origin saw nothing after its agent left')

  // Every pool empty, an unlabelled agent still there: fallback any uses it; fallback none does not.
  const plainOrigin = await labelOrigin(t, 'plain')
  await haAgent(t, edge, plainOrigin, hosts, undefined, 2)
  await stable.close()
  await waitFor(() => registered(edge, 'any.localhost', 'stable') === 0 && registered(edge, 'none.localhost', 'stable') === 0, 5_000)
  const orphan = await visitMany(edge, 50, 8, () => ({ host: 'any.localhost' }))
  t.equal(orphan.filter((r) => r.status === 200 && r.text === 'plain -').length, 50, 'fallback any, every pool empty: served by the unlabelled agent (no burrow-label-release at its origin)')
  const strict = await visitMany(edge, 20, 8, () => ({ host: 'none.localhost' }))
  t.equal(strict.filter((r) => r.status === 503 && r.headers['burrow-error'] === 'BURROW_ERR_POOL_EMPTY').length, 20, 'fallback none, every pool empty: 503 POOL_EMPTY')
})

t.test('HA: within a pool, a request goes to the connection with the fewest streams in flight', async (t) => {
  const { edge } = await edgeWith(t, [
    'hosts:',
    '  app.localhost:',
    '    split:',
    '      - match: { release: stable }',
    '        weight: 1',
    '',
  ].join('\n'))
  const held: ServerResponse[] = []
  const origin = await startOrigin(t, (_req: IncomingMessage, res: ServerResponse) => { held.push(res) })
  t.teardown(() => { for (const res of held) res.destroy() })
  await haAgent(t, edge, origin, ['app.localhost'], 'stable', 2)

  const inflight = (): Map<string, number> => new Map(edge.edge.registry.list()
    .find((h) => h.hostname === 'app.localhost')!.connections
    .filter((c) => c.state === 'registered')
    .map((c) => [c.id, c.inflight]))
  t.same([...inflight().values()], [0, 0], 'two stable connections, idle')

  const N = 7
  const pending: Array<Promise<VisitorResponse>> = []
  for (let i = 0; i < N; i++) {
    const beforeCounts = inflight()
    const least = Math.min(...beforeCounts.values())
    pending.push(visit(edge.base, `/slow/${i}`))
    await waitFor(() => held.length === i + 1, 5_000)
    const after = inflight()
    const grew = [...after].filter(([id, n]) => n === beforeCounts.get(id)! + 1).map(([id]) => id)
    t.equal(grew.length, 1, `request ${i + 1}: one connection took it`)
    t.equal(beforeCounts.get(grew[0]!), least, `request ${i + 1}: it went to a least loaded connection (${[...beforeCounts.values()].join('/')} before)`)
    const values = [...after.values()]
    t.ok(Math.max(...values) - Math.min(...values) <= 1, `after ${i + 1} held requests the in-flight counts are balanced: ${values.join('/')}`)
  }
  t.same([...inflight().values()].sort(), [3, 4], '7 held requests: 4 on one connection, 3 on the other')

  for (const res of held) res.end('done')
  const done = await Promise.all(pending)
  t.equal(done.filter((r) => r.status === 200 && r.text === 'done').length, N, 'every held request completes once the origin answers')
  await waitFor(() => [...inflight().values()].every((n) => n === 0), 5_000)
})

t.test('HA: changing the weights in the policy file and reloading changes the split for new requests', async (t) => {
  const file = (stable: number, canary: number): string => [
    'hosts:',
    '  app.localhost:',
    '    split:',
    '      - match: { release: stable }',
    `        weight: ${stable}`,
    '      - match: { release: canary }',
    `        weight: ${canary}`,
    '',
  ].join('\n')
  const { edge, config } = await edgeWith(t, file(50, 50))
  const stableOrigin = await labelOrigin(t, 'stable')
  const canaryOrigin = await labelOrigin(t, 'canary')
  await haAgent(t, edge, stableOrigin, ['app.localhost'], 'stable', 2)
  await haAgent(t, edge, canaryOrigin, ['app.localhost'], 'canary', 2)

  const before = await visitMany(edge, 200, 16)
  t.same([...new Set(before.map(servedBy))].sort(), ['canary', 'stable'], '50/50: both pools serve')

  await writeFile(config, file(100, 0))
  t.equal(await edge.edge.reloadPolicies(), true, 'the new file is accepted')
  const after = await visitMany(edge, 300, 16)
  t.equal(after.filter((r) => r.status === 200 && servedBy(r) === 'stable').length, 300, '100/0: every new request goes to stable')

  await writeFile(config, file(0, 100))
  t.equal(await edge.edge.reloadPolicies(), true, 'the flipped file is accepted')
  const flipped = await visitMany(edge, 300, 16)
  t.equal(flipped.filter((r) => r.status === 200 && servedBy(r) === 'canary').length, 300, '0/100: every new request goes to canary')
})

t.test('§3.4.1 an Agent with an invalid label throws a TypeError naming it', async (t) => {
  const base = { edge: '127.0.0.1:1', identity: undefined as never, hostnames: ['app.localhost'], origin: 'http://127.0.0.1:1' }
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ Release: 'x' }, /"Release"/],
    [{ release: '' }, /label release: value ""/],
    [{ release: 'bad value' }, /label release: value "bad value"/],
    [{ 'burrow_x': 'y' }, /"burrow_x"/],
  ]
  for (const [labels, message] of cases) {
    t.throws(() => new Agent({ ...base, labels }), { name: 'TypeError', message }, `labels ${JSON.stringify(labels)}`)
  }
  const seventeen = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']))
  t.throws(() => new Agent({ ...base, labels: seventeen }), { name: 'TypeError', message: /at most 16 labels, got 17/ }, '17 labels')
})
