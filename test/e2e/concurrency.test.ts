/**
 * Many visitors, one tunnel (SPEC.md §1.5, §5.9): concurrent requests are multiplexed as streams
 * over the single tunnel connection, each gets its own answer, and none is lost or duplicated.
 */
import t, { type Test } from 'tap'
import { request as undiciRequest, Agent as UndiciAgent } from 'undici'
import { startOrigin, startEdge, startAgent } from '../helpers/servers.js'

/** A visitor dispatcher wide enough that every request is really in flight at once. */
function wideDispatcher (t: Test): UndiciAgent {
  const dispatcher = new UndiciAgent({ connections: 1_100, pipelining: 1 })
  t.teardown(async () => { await dispatcher.close() })
  return dispatcher
}

async function post (base: string, path: string, body: string, dispatcher: UndiciAgent): Promise<{ status: number, text: string }> {
  const res = await undiciRequest(base + path, {
    method: 'POST',
    headers: { host: 'app.localhost', 'content-type': 'text/plain' },
    body,
    dispatcher,
  })
  return { status: res.statusCode, text: await res.body.text() }
}

t.test('1,000 concurrent requests over one tunnel connection all get their own answer', async (t) => {
  const connectionsSeen = new Set<number>()
  let peakInflight = 0
  let inOrigin = 0
  let peakOrigin = 0
  const origin = await startOrigin(t, (req, res) => {
    inOrigin++
    peakOrigin = Math.max(peakOrigin, inOrigin)
    connectionsSeen.add(edge.edge.connectionCount)
    for (const host of edge.edge.registry.list()) {
      for (const c of host.connections) peakInflight = Math.max(peakInflight, c.inflight)
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      // Answer a little later so that requests overlap in the tunnel and in the origin.
      setTimeout(() => {
        inOrigin--
        res.setHeader('content-type', 'text/plain')
        res.end(`${req.url!} ${Buffer.concat(chunks).toString()}`)
      }, 10)
    })
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  t.equal(edge.edge.connectionCount, 1)
  const dispatcher = wideDispatcher(t)

  const N = 1_000
  const results = await Promise.all(Array.from({ length: N }, async (_, i) =>
    await post(edge.base, `/req/${i}`, `body-${i}-${'x'.repeat(i % 97)}`, dispatcher)))

  let ok = 0
  let right = 0
  for (let i = 0; i < N; i++) {
    if (results[i]!.status === 200) ok++
    if (results[i]!.text === `/req/${i} body-${i}-${'x'.repeat(i % 97)}`) right++
  }
  t.equal(ok, N, 'every request got 200')
  t.equal(right, N, 'every request got its own body back')
  t.equal(origin.received.length, N, 'the origin received exactly 1,000 requests')
  t.equal(new Set(origin.received.map((r) => r.url)).size, N, 'no request was duplicated')
  t.same([...connectionsSeen], [1], 'one tunnel connection while requests were in flight')
  t.ok(peakInflight > 1, `streams were multiplexed (peak ${peakInflight} in flight on the tunnel)`)
  t.ok(peakOrigin > 1, `the origin served requests concurrently (peak ${peakOrigin})`)
  t.equal(edge.edge.connectionCount, 1, 'still one tunnel connection afterwards')
  const hosts = edge.edge.registry.list()
  t.equal(hosts.length, 1)
  t.equal(hosts[0]!.connections.length, 1)
  t.equal(hosts[0]!.connections[0]!.inflight, 0, 'no stream left open')
})

t.test('a burst against a slow origin (50 ms per request) still all succeeds', async (t) => {
  let peakInflight = 0
  const origin = await startOrigin(t, (req, res) => {
    peakInflight = Math.max(peakInflight, edge.edge.registry.list()[0]?.connections[0]?.inflight ?? 0)
    setTimeout(() => res.end(`slow ${req.url!}`), 50)
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const dispatcher = wideDispatcher(t)
  const N = 500
  const started = performance.now()
  const results = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const res = await undiciRequest(`${edge.base}/slow/${i}`, { headers: { host: 'app.localhost' }, dispatcher })
    return { status: res.statusCode, text: await res.body.text() }
  }))
  const elapsed = performance.now() - started
  let right = 0
  for (let i = 0; i < N; i++) if (results[i]!.status === 200 && results[i]!.text === `slow /slow/${i}`) right++
  t.equal(right, N, 'every request got its own 200')
  t.equal(origin.received.length, N)
  t.equal(edge.edge.connectionCount, 1)
  // Sequentially this would take 25 s; concurrency through the one tunnel keeps it far below.
  t.ok(elapsed < 10_000, `the burst took ${Math.round(elapsed)} ms`)
  t.ok(peakInflight > 1, `requests waited on the origin side by side (peak ${peakInflight} streams in flight)`)
  t.equal(edge.edge.registry.list()[0]!.connections[0]!.inflight, 0)
})
