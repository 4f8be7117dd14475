/**
 * HA lifecycle (SPEC.md §8.5, §8.1, §1.6, §3.9, §3.10): an agent holding several tunnel connections
 * keeps a hostname served while single connections die (black-holed, killed by the edge), while the
 * only edge restarts, while one of two edges drains and comes back, and shuts down without failing a
 * request. Real edges, agents and origins on 127.0.0.1, port 0.
 */
import t from 'tap'
import { readdirSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { request as undiciRequest, Agent as UndiciAgent } from 'undici'
import {
  startOrigin, startEdge, startAgent, visit, waitFor, identityFor, cloneStateDir, type StartedEdge,
} from '../helpers/servers.js'
import { startRelay } from '../helpers/relay.js'
import type { Agent } from '../../src/agent/agent.js'
import { BurrowError } from '../../src/protocol/errors.js'
import { MAX_DIALS_PER_MINUTE } from '../../src/protocol/constants.js'

const HOST = 'app.localhost'

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** The edge's connections for HOST that it routes to (state registered). */
function routable (edge: StartedEdge): Array<{ id: string, agentId: string, connIndex: number }> {
  return (edge.edge.registry.connectionsFor(HOST) ?? []).filter((c) => c.state === 'registered')
}

function registeredSlots (agent: Agent): number {
  return agent.status().connections.filter((c) => c.state === 'registered').length
}

interface Load {
  ok: number
  failures: string[]
  /** Stops the loops and resolves when they finished. */
  stop: () => Promise<void>
}

/**
 * `loops` visitors each issuing sequential GETs to `base` until stopped (at most `maxEach` requests
 * each, and at most `maxMs`): every answer that is not 200 with the right body is a failure.
 */
function visitorLoad (base: string, prefix: string, options: { loops?: number, maxEach?: number, maxMs?: number, get?: (path: string) => Promise<{ status: number, text: string }> } = {}): Load {
  const { loops = 2, maxEach = 3_000, maxMs = 30_000 } = options
  const get = options.get ?? (async (path: string) => await visit(base, path))
  const load: Load = { ok: 0, failures: [], stop: async () => {} }
  let stopped = false
  const until = Date.now() + maxMs
  const runs = Array.from({ length: loops }, async (_, l) => {
    for (let i = 0; i < maxEach && !stopped && Date.now() < until; i++) {
      const path = `${prefix}/${l}/${i}`
      try {
        const res = await get(path)
        if (res.status === 200 && res.text.includes(path)) load.ok++
        else load.failures.push(`${path}: ${res.status} ${res.text.slice(0, 120)}`)
      } catch (err) {
        load.failures.push(`${path}: ${(err as Error).message}`)
      }
    }
  })
  load.stop = async () => {
    stopped = true
    await Promise.all(runs)
  }
  return load
}

// ---------------------------------------------------------------------------------------------
// 1. A black-holed connection (SPEC.md §1.6, §8.5)

const HB_INTERVAL_MS = 200
const HB_TIMEOUT_MS = 400
/**
 * The edge notices a black-holed connection at most interval + timeout after the freeze: the next
 * PING goes out within one interval and is declared lost one timeout later (a PING already in flight
 * at the freeze expires even sooner). The margin absorbs timer and event-loop latency.
 */
const DETECTION_BOUND_MS = HB_INTERVAL_MS + HB_TIMEOUT_MS
const DETECTION_MARGIN_MS = 900

t.test('HA §1.6 §8.5 a black-holed connection of two: the edge drops it within interval + timeout, visitors never fail, the agent replaces it', async (t) => {
  const heartbeat = { heartbeatIntervalMs: HB_INTERVAL_MS, heartbeatTimeoutMs: HB_TIMEOUT_MS }
  const origin = await startOrigin(t, (req, res) => {
    // /slow/… answers after 300 ms, so that a request is in flight on each connection at the freeze.
    const url = req.url ?? ''
    if (url.startsWith('/slow/')) setTimeout(() => res.end(`served ${url}`), 300)
    else res.end(`served ${url}`)
  })
  const edge = await startEdge(t, heartbeat)
  const relay = await startRelay(t, edge.tunnel)
  // Slot 0's home is the edge directly, slot 1's is the same edge through the relay.
  const agent = await startAgent(t, edge, origin, {
    ...heartbeat, edge: [edge.tunnel, relay.address], haConnections: 2, retryBaseMs: 50, retryMaxDelayMs: 500,
  })
  await waitFor(() => registeredSlots(agent) === 2 && routable(edge).length === 2, 5_000)
  t.equal(relay.accepted, 1, 'one connection goes through the relay')
  const status = agent.status()
  t.same(status.connections.map((c) => c.edge), [edge.tunnel, relay.address], 'slot 0 is direct, slot 1 via the relay')
  const deadId = status.connections[1]!.connectionId!
  t.ok(routable(edge).some((c) => c.id === deadId), 'the edge routes to the relayed connection')

  // One slow GET in flight on each connection (the edge picks the connection with fewer in flight).
  const slow = [visit(edge.base, '/slow/a'), visit(edge.base, '/slow/b')]
  await waitFor(() => origin.received.length === 2, 3_000)
  const dead = edge.edge.registry.connectionsFor(HOST)!.find((c) => c.id === deadId)!
  t.equal(dead.inflight, 1, 'a request is in flight on the connection about to be black-holed')

  const frozenAt = Date.now()
  relay.freeze()
  const load = visitorLoad(edge.base, '/after-freeze')

  await waitFor(() => !routable(edge).some((c) => c.id === deadId), 5_000, 5)
  const detectedMs = Date.now() - frozenAt
  t.ok(detectedMs <= DETECTION_BOUND_MS + DETECTION_MARGIN_MS,
    `the edge stopped routing to the dead connection after ${detectedMs} ms (bound: interval ${HB_INTERVAL_MS} + timeout ${HB_TIMEOUT_MS} ms, margin ${DETECTION_MARGIN_MS} ms)`)

  // The slow GET that was in flight on the frozen connection is retried elsewhere when the edge drops it.
  const slowResults = await Promise.all(slow)
  t.same(slowResults.map((r) => r.status), [200, 200], 'both slow GETs succeed, the frozen one after a retry')
  t.same(slowResults.map((r) => r.text), ['served /slow/a', 'served /slow/b'])
  const receipts = new Map<string, number>()
  for (const r of origin.received.filter((r) => r.url.startsWith('/slow/'))) {
    const id = String(r.headers['burrow-request-id'])
    receipts.set(id, (receipts.get(id) ?? 0) + 1)
  }
  t.same([...receipts.values()].sort(), [1, 2], 'the origin saw the frozen request twice (same request id), the other once')

  // The agent replaces the dead connection: two registered connections again, none of them the dead one.
  await waitFor(() => {
    const s = agent.status()
    return s.readyConnections === 2 && s.connections.every((c) => c.state === 'registered' && c.connectionId !== deadId) &&
      routable(edge).length === 2
  }, 5_000)
  t.pass('the agent holds haConnections (2) registered connections again')
  t.equal(agent.status().ready, true)
  // Keep visiting a little after the replacement.
  await sleep(300)
  await load.stop()
  t.ok(load.ok > 0, `${load.ok} GETs issued after the freeze succeeded`)
  t.same(load.failures, [], 'no visitor request failed during or after the black hole')
  const after = await visit(edge.base, '/after')
  t.equal(after.status, 200)
  t.equal(after.text, 'served /after')
})

// ---------------------------------------------------------------------------------------------
// 2. The only edge restarts (SPEC.md §8.1, §8.5)

t.test('HA §8.1 §8.5 the edge restarts after ~2 s: all 4 slots re-register within the backoff bounds', async (t) => {
  const BASE_MS = 100
  const CAP_MS = 800
  const origin = await startOrigin(t)
  const first = await startEdge(t)
  const agent = await startAgent(t, first, origin, { haConnections: 4, retryBaseMs: BASE_MS, retryMaxDelayMs: CAP_MS })
  await waitFor(() => registeredSlots(agent) === 4 && routable(first).length === 4, 5_000)
  t.equal((await visit(first.base, '/before')).status, 200)
  const attemptsBefore = agent.status().connections.map((c) => c.attempts)
  const retries: Array<{ attempt: number, delayMs: number, reason: string, index: number }> = []
  agent.on('retry', (r) => retries.push(r))

  const tunnelPort = first.edge.tunnelAddress.port
  const publicPort = first.edge.publicAddress.port
  await first.close()
  t.equal(first.edge.connectionCount, 0, 'the old edge holds no connection')
  t.equal(agent.status().ready, false, 'not ready while the edge is down')
  await sleep(2_000)
  const outage = retries.slice()

  const second = await startEdge(t, {
    stateDir: first.stateDir,
    tunnelListen: { host: '127.0.0.1', port: tunnelPort },
    listen: { host: '127.0.0.1', port: publicPort },
  })
  await waitFor(() => registeredSlots(agent) === 4 && routable(second).length === 4, CAP_MS + 5_000)
  const status = agent.status()
  t.ok(status.connections.every((c) => c.connectionId?.startsWith(`${second.edge.id}-`) === true), 'every slot is registered on the restarted edge')
  t.same(routable(second).map((c) => c.connIndex).sort(), [0, 1, 2, 3], 'the edge routes to conn_index 0..3')
  const res = await visit(second.base, '/after')
  t.equal(res.status, 200, 'the hostname is routable again')
  t.equal(JSON.parse(res.text).url, '/after')

  for (let i = 0; i < 4; i++) {
    const dials = status.connections[i]!.attempts - attemptsBefore[i]!
    t.ok(dials >= 1 && dials <= MAX_DIALS_PER_MINUTE, `slot ${i}: ${dials} dials during the outage, within [1, ${MAX_DIALS_PER_MINUTE}] (the per-minute budget)`)
    const own = retries.filter((r) => r.index === i)
    const during = outage.filter((r) => r.index === i)
    t.ok(during.length >= 1, `slot ${i}: retried while the edge was down (${during.length} retries)`)
    t.equal(own[0]?.reason, 'edge draining', `slot ${i}: the first retry follows the Drain`)
    t.ok(own[0]!.delayMs <= BASE_MS, `slot ${i}: first retry after ${own[0]!.delayMs} ms ≤ retryBaseMs (full jitter, attempt 0)`)
    t.same(own.map((r) => r.attempt), own.map((_, k) => k + 1), `slot ${i}: attempts count up 1..${own.length}`)
    const worst = Math.max(...own.map((r) => r.delayMs))
    t.ok(worst <= CAP_MS, `slot ${i}: every retry delay ≤ retryMaxDelayMs (longest ${worst} ms)`)
  }
})

// ---------------------------------------------------------------------------------------------
// 3. Two edges: one drains and comes back (SPEC.md §3.10, §8.5)


t.test('HA §3.10 §8.5 two edges: connections spread 2/2, move to B at once when A drains, and return to A make-before-break', async (t) => {
  const BASE_MS = 100
  const CAP_MS = 800
  const origin = await startOrigin(t)
  const a = await startEdge(t)
  const identity = await identityFor(a)
  const b = await startEdge(t, { stateDir: await cloneStateDir(t, a.stateDir) })
  t.equal(b.edge.caCertPem, a.edge.caCertPem, 'both edges share the CA')
  const agent = await startAgent(t, a, origin, {
    identity, edge: `${a.tunnel},${b.tunnel}`, haConnections: 4, retryBaseMs: BASE_MS, retryMaxDelayMs: CAP_MS,
  })
  await waitFor(() => registeredSlots(agent) === 4 && routable(a).length === 2 && routable(b).length === 2, 5_000)
  t.same(agent.status().connections.map((c) => c.edge), [a.tunnel, b.tunnel, a.tunnel, b.tunnel], 'slot i lives on edges[i % 2]')
  t.same(routable(a).map((c) => c.connIndex).sort(), [0, 2], 'edge A serves slots 0 and 2')
  t.same(routable(b).map((c) => c.connIndex).sort(), [1, 3], 'edge B serves slots 1 and 3')

  const retries: Array<{ delayMs: number, reason: string, index: number, edge: string }> = []
  agent.on('retry', (r) => retries.push(r))
  const loadB = visitorLoad(b.base, '/at-b')

  // A drains: its connections move to B at once.
  const tunnelPort = a.edge.tunnelAddress.port
  const publicPort = a.edge.publicAddress.port
  await a.close()
  await waitFor(() => routable(b).length === 4 && registeredSlots(agent) === 4, 2_000)
  t.pass('all four connections registered on B')
  const moved = retries.filter((r) => r.index === 0 || r.index === 2)
  t.same(moved.map((r) => [r.index, r.reason, r.edge, r.delayMs]).sort(), [[0, 'edge draining', b.tunnel, 0], [2, 'edge draining', b.tunnel, 0]],
    'slots 0 and 2 reconnected to B with no backoff wait')
  t.same(agent.status().connections.map((c) => c.edge), [b.tunnel, b.tunnel, b.tunnel, b.tunnel])

  // A restarts on the same ports: slots 0 and 2 go home, opening the new connection before retiring the old.
  await sleep(300)
  const a2 = await startEdge(t, {
    stateDir: a.stateDir,
    tunnelListen: { host: '127.0.0.1', port: tunnelPort },
    listen: { host: '127.0.0.1', port: publicPort },
  })
  let fewest = 4
  const deadline = Date.now() + CAP_MS * 4 + 5_000
  while (!(routable(a2).length === 2 && routable(b).length === 2 && agent.status().connections.every((c, i) => c.state === 'registered' && c.edge === (i % 2 === 0 ? a.tunnel : b.tunnel)))) {
    if (Date.now() > deadline) throw new Error(`not back to 2/2: ${JSON.stringify(agent.status().connections)}`)
    fewest = Math.min(fewest, agent.status().readyConnections)
    await sleep(10)
  }
  t.equal(fewest, 4, 'four connections stayed registered throughout the return (make-before-break)')
  t.same(routable(a2).map((c) => c.connIndex).sort(), [0, 2], 'slots 0 and 2 are back on A')
  t.same(routable(b).map((c) => c.connIndex).sort(), [1, 3], 'slots 1 and 3 stayed on B')
  await waitFor(() => b.edge.connectionCount === 2, 5_000)
  t.pass('the connections B held for slots 0 and 2 were retired')

  await loadB.stop()
  t.ok(loadB.ok > 0, `${loadB.ok} visitor GETs at B`)
  t.same(loadB.failures, [], 'visitors at B saw no failure during the drain of A and the return')
  t.equal((await visit(a2.base, '/at-a')).status, 200, 'A serves the hostname again')
})

// ---------------------------------------------------------------------------------------------
// 4. Cycling every connection (SPEC.md §8.5): no visitor failure, no leak

t.test('HA §8.5 every one of 4 connections killed by the edge five times: GETs never fail, fds and edge state return to baseline', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  const agent = await startAgent(t, edge, origin, { haConnections: 4, retryBaseMs: 20, retryMaxDelayMs: 200 })
  await waitFor(() => registeredSlots(agent) === 4 && routable(edge).length === 4, 5_000)

  // Visitors through a dispatcher of our own, closed before each fd count so its sockets do not count.
  let dispatcher = new UndiciAgent({ connections: 4, pipelining: 1 })
  const get = async (path: string): Promise<{ status: number, text: string }> => {
    const res = await undiciRequest(edge.base + path, { headers: { host: HOST }, dispatcher })
    return { status: res.statusCode, text: await res.body.text() }
  }
  const fds = (): number => readdirSync('/proc/self/fd').length
  const settled = (): boolean => edge.edge.connectionCount === 4 && routable(edge).length === 4 &&
    edge.edge.registry.connectionsFor(HOST)!.length === 4

  // Warm up the pools (visitor → edge, agent → origin) the way the load will use them, then measure.
  const warm = visitorLoad(edge.base, '/warm', { get, maxEach: 20 })
  await warm.stop()
  t.same(warm.failures, [])
  await dispatcher.close()
  await sleep(300)
  const baseline = fds()
  t.ok(settled(), 'baseline: 4 connections, 4 registry entries')

  dispatcher = new UndiciAgent({ connections: 4, pipelining: 1 })
  const load = visitorLoad(edge.base, '/cycle', { get })
  const ROUNDS = 5
  let kills = 0
  for (let round = 0; round < ROUNDS; round++) {
    for (let slot = 0; slot < 4; slot++) {
      const before = agent.status().connections[slot]!
      const conn = edge.edge.registry.connectionsFor(HOST)!.find((c) => c.id === before.connectionId)
      if (conn === undefined) throw new Error(`round ${round}: slot ${slot} (${String(before.connectionId)}) not on the edge`)
      conn.fail(new BurrowError('BURROW_ERR_PROTOCOL', `test: cycling connection ${slot}, round ${round}`))
      kills++
      await waitFor(() => {
        const now = agent.status().connections[slot]!
        return now.state === 'registered' && now.connectionId !== before.connectionId && routable(edge).length === 4
      }, 5_000)
    }
  }
  t.equal(kills, ROUNDS * 4, `${kills} connections killed and replaced`)
  await sleep(200)
  await load.stop()
  t.ok(load.ok > 0, `${load.ok} GETs during the cycling`)
  t.same(load.failures, [], 'no GET failed')
  t.equal(agent.status().readyConnections, 4)

  await dispatcher.close()
  let now = fds()
  try {
    await waitFor(() => { now = fds(); return settled() && now <= baseline + 3 }, 5_000, 50)
  } catch { /* reported below */ }
  t.ok(now <= baseline + 3, `open fds back to baseline: ${now} now, ${baseline} at baseline (slack 3)`)
  t.equal(edge.edge.connectionCount, 4, 'the edge holds 4 connections, as at baseline')
  t.equal(edge.edge.registry.connectionsFor(HOST)?.length, 4, 'the registry lists 4 connections for the hostname, as at baseline')
  t.same(routable(edge).map((c) => c.connIndex).sort(), [0, 1, 2, 3])
})

// ---------------------------------------------------------------------------------------------
// 5. Shutdown (SPEC.md §3.9, §8.3)

t.test('HA §3.9 §8.3 agent.close(): not ready at once, all connections Unregister before closing, the in-flight request finishes', async (t) => {
  const held: ServerResponse[] = []
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/held') held.push(res)
    else res.end(`served ${req.url ?? ''}`)
  })
  const edge = await startEdge(t)
  const agent = await startAgent(t, edge, origin, { haConnections: 4 })
  await waitFor(() => registeredSlots(agent) === 4 && routable(edge).length === 4, 5_000)
  const conns = [...edge.edge.registry.connectionsFor(HOST)!]
  // The state each connection is in when the edge stops routing to it: 'unregistered' means the
  // Unregister (or GOAWAY) arrived on an open connection; 'closed' would mean it just went away.
  const stateWhenUnrouted = new Map<string, string>()
  for (const c of conns) c.once('unregistered', () => stateWhenUnrouted.set(c.id, c.state))

  let settled = false
  const pending = visit(edge.base, '/held').finally(() => { settled = true })
  await waitFor(() => held.length === 1, 3_000)
  const carrier = conns.find((c) => c.inflight === 1)!
  t.ok(carrier !== undefined, 'one connection carries the held request')

  let closed = false
  const closing = agent.close({ gracePeriodMs: 5_000 }).then(() => { closed = true })
  const status = agent.status()
  t.equal(status.ready, false, 'ready is false at once')
  t.equal(status.state, 'stopping')

  await waitFor(() => edge.edge.registry.list().every((h) => h.connections.every((c) => c.agentId !== agent.id)), 3_000, 5)
  t.notOk(closed, 'the edge stopped listing the agent before close() resolved')
  t.notOk(settled, 'while the request was still in flight')
  t.equal(carrier.state, 'unregistered', 'the connection with the request is unregistered but still open')
  t.ok(edge.edge.connectionCount >= 1)
  const late = await visit(edge.base, '/late', { headers: { accept: 'application/json' } })
  t.equal(late.status, 503, 'a new request gets 503')
  t.equal(late.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')

  held[0]!.end('finished')
  const res = await pending
  t.equal(res.status, 200, 'the in-flight request finished with 200')
  t.equal(res.text, 'finished')
  await closing
  t.equal(agent.state, 'stopped')
  t.same([...stateWhenUnrouted.values()], ['unregistered', 'unregistered', 'unregistered', 'unregistered'],
    'every connection was unregistered while still open, not just closed')
  await waitFor(() => edge.edge.connectionCount === 0, 3_000)
  t.ok(conns.every((c) => c.state === 'closed'), 'then every connection closed')
  t.equal(origin.received.filter((r) => r.url === '/late').length, 0, 'the late request never reached the origin')
})
