/**
 * HA with two replicas of one hostname, as an operator runs them (SPEC.md §8.3, §8.5, §5.8):
 * rolling restarts under a steady mixed load (in-process agents, then a CLI agent stopped by
 * SIGTERM) fail no visitor request and deliver every POST to the origin exactly once; a replica
 * killed with -9 aborts the responses it had started visibly, its unanswered GETs are served by the
 * other replica, its POSTs are never delivered twice, and new requests go to the survivor.
 *
 * The origin counts receipts at arrival, per burrow-request-id and per test id (x-test-id) and
 * method, and sees which replica served a request from its burrow-label-replica field.
 */
import t, { type Test } from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { request as undiciRequest, Agent as UndiciAgent } from 'undici'
import {
  ACCOUNT, ACCOUNT_ZONES, identityFor, startAgent, startEdge, startOrigin, tempDir, visit, waitFor,
  type Origin, type StartedEdge, type T,
} from '../helpers/servers.js'
import { spawnCli, type CliProcess } from '../helpers/processes.js'
import { saveLogin } from '../../src/cli/agent-home.js'

const HOST = 'app.localhost'
/** How long a slow load request waits at the origin: long enough to be in flight when a replica stops. */
const SLOW_MS = 300

// ---------------------------------------------------------------------------------------------
// The recording origin

interface Recorder {
  origin: Origin
  /** Receipts per burrow-request-id (the edge keeps the id across a retry). */
  byRequestId: Map<string, number>
  /** Receipts per "METHOD x-test-id". */
  byTestId: Map<string, number>
  /** The replica label of each receipt of a test id, in arrival order. */
  servedBy: Map<string, string[]>
  /** Origin requests not yet answered or aborted, per replica label. */
  active: Map<string, number>
  /** Answers every held request (and every later one at once). */
  release: () => void
  receipts: (method: string, id: string) => number
}

function bump (map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by)
}

/**
 * x-mode: slow → answers after SLOW_MS; hold → answers when released; slow-body → 200 announcing
 * 2000 bytes (content-length, or chunked with x-framing: chunked), the first 500 at once and the
 * rest never; otherwise at once. Answers
 * are JSON echoes {id, method, body, replica, requestId}.
 */
async function recordingOrigin (t: T): Promise<Recorder> {
  const byRequestId = new Map<string, number>()
  const byTestId = new Map<string, number>()
  const servedBy = new Map<string, string[]>()
  const active = new Map<string, number>()
  let released = false
  let held: Array<() => void> = []
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = String(req.headers['burrow-request-id'])
    const id = String(req.headers['x-test-id'])
    const replica = String(req.headers['burrow-label-replica'])
    bump(byRequestId, requestId)
    bump(byTestId, `${req.method!} ${id}`)
    const list = servedBy.get(id) ?? []
    list.push(replica)
    servedBy.set(id, list)
    bump(active, replica)
    res.once('close', () => bump(active, replica, -1))
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('error', () => {})
    req.on('end', () => {
      const reply = (): void => {
        if (res.destroyed || res.writableEnded) return
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ id, method: req.method, body: Buffer.concat(chunks).toString(), replica, requestId }))
      }
      const mode = req.headers['x-mode']
      if (mode === 'slow') {
        setTimeout(reply, SLOW_MS)
      } else if (mode === 'hold') {
        if (released) reply()
        else held.push(reply)
      } else if (mode === 'slow-body') {
        // Content-Length framing, or chunked (x-framing: chunked), where a body cut short and then
        // ended cleanly would look complete.
        const chunked = req.headers['x-framing'] === 'chunked'
        res.writeHead(200, { 'content-type': 'text/plain', ...(chunked ? {} : { 'content-length': '2000' }) })
        res.write('x'.repeat(500))
      } else {
        reply()
      }
    })
  }
  const origin = await startOrigin(t, handler)
  return {
    origin,
    byRequestId,
    byTestId,
    servedBy,
    active,
    release: () => {
      released = true
      const waiting = held
      held = []
      for (const reply of waiting) reply()
    },
    receipts: (method, id) => byTestId.get(`${method} ${id}`) ?? 0,
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Registered connections of HOST on the edge whose replica label is `replica`. */
function registeredOf (edge: StartedEdge, replica: string): number {
  let n = 0
  for (const entry of edge.edge.registry.list()) {
    if (entry.hostname !== HOST) continue
    for (const c of entry.connections) if (c.state === 'registered' && c.labels.replica === replica) n++
  }
  return n
}

interface Echo { id: string, method: string, body: string, replica: string, requestId: string }

function parseEcho (text: string): Echo | undefined {
  try { return JSON.parse(text) as Echo } catch { return undefined }
}

interface Load {
  /** Requests finished (answered or failed). */
  readonly completed: number
  failures: string[]
  /** POST ids answered 200. */
  posts: string[]
  /** Replicas that answered load requests. */
  replicas: Set<string>
  /** Resolves once `n` requests in all have finished (bounded by `timeoutMs`). */
  until: (n: number, timeoutMs?: number) => Promise<void>
  stop: () => Promise<void>
}

/**
 * `loops` visitor loops, each alternating GET and POST (a small body), every request with its own
 * x-test-id, one in eight slow (SLOW_MS at the origin). Each request must get 200 and the right echo.
 * Runs until stop(), at most `maxPerLoop` requests per loop and `maxMs` in all.
 */
function startLoad (base: string, tag: string, loops = 8, maxPerLoop = 4_000, maxMs = 40_000): Load {
  let stopped = false
  const deadline = Date.now() + maxMs
  const state = {
    completed: 0,
    failures: [] as string[],
    posts: [] as string[],
    replicas: new Set<string>(),
  }
  const one = async (id: string, method: 'GET' | 'POST', slow: boolean): Promise<void> => {
    const body = method === 'POST' ? `payload-${id}` : undefined
    try {
      const res = await visit(base, `/load/${id}`, {
        method,
        headers: { 'x-test-id': id, ...(slow ? { 'x-mode': 'slow' } : {}) },
        ...(body === undefined ? {} : { body }),
      })
      const echo = parseEcho(res.text)
      if (res.status !== 200) {
        state.failures.push(`${method} ${id}: ${res.status} ${String(res.headers['burrow-error'])}`)
      } else if (echo?.id !== id || echo.method !== method || echo.body !== (body ?? '')) {
        state.failures.push(`${method} ${id}: wrong echo ${res.text.slice(0, 200)}`)
      } else {
        state.replicas.add(echo.replica)
        if (method === 'POST') state.posts.push(id)
      }
    } catch (err) {
      state.failures.push(`${method} ${id}: ${(err as Error).message}`)
    }
    state.completed++
  }
  const loop = async (l: number): Promise<void> => {
    for (let i = 0; i < maxPerLoop && !stopped && Date.now() < deadline; i++) {
      await one(`${tag}-${l}-${i}`, i % 2 === 0 ? 'GET' : 'POST', (i + l) % 8 === 0)
    }
  }
  const running = Promise.all(Array.from({ length: loops }, async (_, l) => await loop(l)))
  return {
    get completed () { return state.completed },
    failures: state.failures,
    posts: state.posts,
    replicas: state.replicas,
    until: async (n, timeoutMs = 15_000) => await waitFor(() => state.completed >= n, timeoutMs, 10),
    stop: async () => {
      stopped = true
      await running
    },
  }
}

/** The assertions every rolling restart makes on the load and the origin's receipts. */
function assertNoLoss (t: Test, load: Load, rec: Recorder): void {
  t.same(load.failures.slice(0, 10), [], `no visitor request failed (${load.failures.length} failures of ${load.completed})`)
  const twice = load.posts.filter((id) => rec.receipts('POST', id) !== 1)
  t.same(twice.slice(0, 10).map((id) => `${id}: ${rec.receipts('POST', id)}`), [], `every POST reached the origin exactly once (${load.posts.length} POSTs)`)
  const duplicated = [...rec.byRequestId].filter(([, n]) => n > 1)
  t.same(duplicated.slice(0, 10), [], 'no request id reached the origin twice (nothing was replayed in a graceful restart)')
}

/** CLI agent arguments for a replica of HOST with label replica=<replica>. */
function replicaArgs (edge: StartedEdge, origin: Origin, replica: string, haConnections: number): string[] {
  return [
    '--edge', edge.tunnel, '--hostname', HOST, '--ha-connections', String(haConnections), '--ready', 'off',
    '--grace-period', '5000', '--retry-max-delay', '500', '--label', `replica=${replica}`, origin.url,
  ]
}

async function startCliReplica (t: T, edge: StartedEdge, origin: Origin, home: string, replica: string, haConnections: number): Promise<CliProcess> {
  const p = spawnCli(t, replicaArgs(edge, origin, replica, haConnections), { BURROW_HOME: home })
  await p.waitForLog((l) => l.msg === 'tunnel ready', 15_000)
  await waitFor(() => registeredOf(edge, replica) === haConnections, 10_000)
  return p
}

// ---------------------------------------------------------------------------------------------

t.test('HA rolling restart (in-process): two replicas with 4 connections each, restarted one after the other under load; no request fails, every POST reaches the origin once', async (t) => {
  const edge = await startEdge(t)
  const rec = await recordingOrigin(t)
  const agent = async (replica: string): Promise<Awaited<ReturnType<typeof startAgent>>> => {
    const a = await startAgent(t, edge, rec.origin, { haConnections: 4, labels: { replica }, gracePeriodMs: 5_000 })
    await waitFor(() => a.status().readyConnections === 4 && registeredOf(edge, replica) === 4, 10_000)
    return a
  }
  const a = await agent('a1')
  const b = await agent('b1')
  const load = startLoad(edge.base, 'roll')
  await load.until(100)
  const before = load.completed

  // Restart A while it serves slow requests.
  await waitFor(() => a.inflight > 0, 5_000, 5)
  const inflightA = a.inflight
  let mark = load.completed
  await a.close({ gracePeriodMs: 5_000 })
  t.equal(a.state, 'stopped', 'A stopped after its grace period')
  t.equal(registeredOf(edge, 'a1'), 0, "none of A's connections is left on the edge")
  const a2 = await agent('a2')
  let whileRestarting = load.completed - mark
  await load.until(load.completed + 150)

  // Then B.
  await waitFor(() => b.inflight > 0, 5_000, 5)
  const inflightB = b.inflight
  mark = load.completed
  await b.close({ gracePeriodMs: 5_000 })
  t.equal(b.state, 'stopped', 'B stopped after its grace period')
  await agent('b2')
  whileRestarting += load.completed - mark
  await load.until(load.completed + 150)
  const during = load.completed - before
  await load.stop()

  t.ok(inflightA > 0 && inflightB > 0, `each replica had requests in flight when it was closed (A ${inflightA}, B ${inflightB})`)
  t.ok(during >= 300, `${during} requests ran during the rolling restart (${whileRestarting} of them between a close and the replacement's registration)`)
  t.same([...load.replicas].sort(), ['a1', 'a2', 'b1', 'b2'], 'every replica generation served part of the load')
  assertNoLoss(t, load, rec)
  t.equal(a2.status().readyConnections, 4, "A' holds its 4 connections")
})

t.test('HA rolling restart (CLI, SIGTERM): burrow login, then a CLI replica next to an in-process one; SIGTERM, exit 0, a new CLI replica, SIGTERM again; no request fails', async (t) => {
  const edge = await startEdge(t)
  const rec = await recordingOrigin(t)
  await edge.edge.identity.addAccount(ACCOUNT, ACCOUNT_ZONES)
  const home = await tempDir(t, 'burrow-home-')
  const token = await edge.edge.createEnrollmentToken(ACCOUNT, 60_000)
  const login = spawnCli(t, ['login', '--edge', edge.tunnel, '--token', token], { BURROW_HOME: home })
  t.equal((await login.waitForExit(15_000)).code, 0, `burrow login exits 0 (stderr: ${login.stderr()})`)

  const b = await startAgent(t, edge, rec.origin, { haConnections: 4, labels: { replica: 'b' }, gracePeriodMs: 5_000 })
  await waitFor(() => registeredOf(edge, 'b') === 4, 10_000)
  const a = await startCliReplica(t, edge, rec.origin, home, 'a1', 2)

  const load = startLoad(edge.base, 'sigterm')
  await load.until(100)
  const before = load.completed

  await waitFor(() => (rec.active.get('a1') ?? 0) > 0, 5_000, 5)
  const inflightA = rec.active.get('a1') ?? 0
  a.child.kill('SIGTERM')
  const exitA = await a.waitForExit(15_000)
  t.same(exitA, { code: 0, signal: null }, 'A exits 0 after SIGTERM')
  t.ok(a.logs.some((l) => l.msg === 'agent stopped'), "A logged 'agent stopped'")
  t.equal(registeredOf(edge, 'a1'), 0, "none of A's connections is left on the edge")

  const a2 = await startCliReplica(t, edge, rec.origin, home, 'a2', 2)
  await load.until(load.completed + 150)
  await waitFor(() => (rec.active.get('a2') ?? 0) > 0, 5_000, 5)
  const inflightA2 = rec.active.get('a2') ?? 0
  a2.child.kill('SIGTERM')
  const exitA2 = await a2.waitForExit(15_000)
  t.same(exitA2, { code: 0, signal: null }, "A' exits 0 after SIGTERM")
  await load.until(load.completed + 100)
  const during = load.completed - before
  await load.stop()

  t.ok(inflightA > 0 && inflightA2 > 0, `each CLI replica had origin requests in flight at SIGTERM (A ${inflightA}, A' ${inflightA2})`)
  t.ok(during >= 300, `${during} requests ran during the rolling restart`)
  t.same([...load.replicas].sort(), ['a1', 'a2', 'b'], 'both CLI generations and B served part of the load')
  assertNoLoss(t, load, rec)
  t.equal(b.status().readyConnections, 4, 'B kept its connections throughout')
})

interface Started {
  id: string
  chunked: boolean
  status: number
  length: string | undefined
  firstBytes: number
  /** How the body ended: an error, or a clean end after `bytes`. */
  rest: Promise<{ error?: string, bytes: number }>
}

/** A visitor GET whose response starts and then stalls: resolves once the first body bytes arrived. */
async function startedResponse (dispatcher: UndiciAgent, base: string, id: string, chunked: boolean): Promise<Started> {
  const res = await undiciRequest(`${base}/slow-body/${id}`, {
    headers: { host: HOST, 'x-test-id': id, 'x-mode': 'slow-body', ...(chunked ? { 'x-framing': 'chunked' } : {}) },
    dispatcher,
  })
  let bytes = 0
  let first: () => void = () => {}
  const gotFirst = new Promise<void>((resolve) => { first = resolve })
  const rest = new Promise<{ error?: string, bytes: number }>((resolve) => {
    res.body.on('data', (c: Buffer) => { bytes += c.length; first() })
    res.body.once('end', () => resolve({ bytes }))
    res.body.once('error', (err) => resolve({ error: err.message, bytes }))
  })
  await gotFirst
  return { id, chunked, status: res.statusCode, length: res.headers['content-length'] as string | undefined, firstBytes: bytes, rest }
}

t.test('HA kill -9 of one replica with requests in flight: started responses abort visibly, unanswered GETs are served by the other replica, no POST is delivered twice, new requests succeed', async (t) => {
  const edge = await startEdge(t)
  const rec = await recordingOrigin(t)
  const home = await tempDir(t, 'burrow-home-')
  await saveLogin(home, { edge: edge.tunnel, identity: await identityFor(edge) })
  const a = await startCliReplica(t, edge, rec.origin, home, 'a', 2)

  // A is the only replica: everything below is in flight at A.
  const dispatcher = new UndiciAgent({ connections: 64, pipelining: 1 })
  t.teardown(async () => { await dispatcher.destroy() })
  const ids = (kind: string): string[] => [0, 1, 2].map((i) => `${kind}-${i}`)
  const started = await Promise.all(ids('started').flatMap((id) => [
    startedResponse(dispatcher, edge.base, `${id}-cl`, false),
    startedResponse(dispatcher, edge.base, `${id}-chunked`, true),
  ]))
  const heldGets = ids('held-get').map(async (id) => await visit(edge.base, `/held/${id}`, { headers: { 'x-test-id': id, 'x-mode': 'hold' } }))
  const heldPosts = ids('held-post').map(async (id) => await visit(edge.base, `/held/${id}`, { method: 'POST', body: `payload-${id}`, headers: { 'x-test-id': id, 'x-mode': 'hold' } }))
  await waitFor(() => ids('held-get').every((id) => rec.receipts('GET', id) === 1) && ids('held-post').every((id) => rec.receipts('POST', id) === 1), 10_000)
  for (const s of started) {
    t.equal(s.status, 200, `${s.id}: the started response has its status`)
    t.equal(s.length, s.chunked ? undefined : '2000', s.chunked ? 'chunked, no length' : 'and announces 2000 bytes')
  }
  t.ok(started.every((s) => s.firstBytes > 0 && s.firstBytes < 2000), 'part of each started body reached the visitor')
  const allIds = [...started.map((s) => s.id), ...ids('held-get'), ...ids('held-post')]
  t.same(allIds.map((id) => rec.servedBy.get(id)), allIds.map(() => ['a']), 'every in-flight request is at A')

  // Now B joins; then A dies without a word.
  await startAgent(t, edge, rec.origin, { haConnections: 4, labels: { replica: 'b' } })
  await waitFor(() => registeredOf(edge, 'b') === 4, 10_000)
  a.child.kill('SIGKILL')
  t.equal((await a.waitForExit(10_000)).signal, 'SIGKILL', 'A was killed')
  // Requests sent while the edge may still be learning that A is gone: bodiless, so retryable.
  const justAfter = Array.from({ length: 8 }, async (_, i) => await visit(edge.base, `/after/${i}`, { headers: { 'x-test-id': `just-after-${i}` } }))

  // The held GETs had no response byte: the edge sends them to B (the origin sees them a second time).
  await waitFor(() => ids('held-get').every((id) => rec.receipts('GET', id) === 2), 10_000)
  rec.release()

  for (const s of started) {
    const outcome = await s.rest
    t.ok(outcome.error !== undefined, `${s.id}: the visitor sees an error (${String(outcome.error)}) after ${outcome.bytes} of 2000 bytes, not a complete-looking body`)
    t.ok(outcome.bytes < 2000, 'and never the whole body')
  }
  t.same(started.map((s) => rec.receipts('GET', s.id)), started.map(() => 1), 'a started response is not replayed')

  for (const [i, p] of heldGets.entries()) {
    const res = await p
    const echo = parseEcho(res.text)
    t.equal(res.status, 200, `held GET ${i}: 200 through B`)
    t.equal(echo?.id, `held-get-${i}`)
    t.equal(echo?.replica, 'b', 'answered by B')
    t.same(rec.servedBy.get(`held-get-${i}`), ['a', 'b'], 'the origin received it from A, then once from B')
  }

  for (const [i, p] of heldPosts.entries()) {
    const res = await p
    if (res.status === 200) {
      t.equal(parseEcho(res.text)?.body, `payload-held-post-${i}`, `held POST ${i}: 200 with its body`)
    } else {
      t.equal(res.status, 502, `held POST ${i}: 502`)
      t.equal(res.headers['burrow-error'], 'BURROW_ERR_TUNNEL_LOST', 'BURROW_ERR_TUNNEL_LOST')
    }
    t.equal(rec.receipts('POST', `held-post-${i}`), 1, `held POST ${i} reached the origin exactly once`)
  }

  const early = await Promise.all(justAfter)
  t.same(early.map((r) => r.status), early.map(() => 200), 'GETs sent right after the kill all succeed')
  t.same(early.map((r) => parseEcho(r.text)?.replica), early.map(() => 'b'), 'through B')

  await waitFor(() => registeredOf(edge, 'a') === 0, 10_000)
  const later = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const method = i % 2 === 0 ? 'GET' : 'POST'
    const id = `later-${i}`
    return { id, method, res: await visit(edge.base, `/later/${i}`, { method, headers: { 'x-test-id': id }, ...(method === 'POST' ? { body: `payload-${id}` } : {}) }) }
  }))
  t.same(later.map((l) => l.res.status), later.map(() => 200), 'every new request succeeds')
  t.same(later.map((l) => parseEcho(l.res.text)?.replica), later.map(() => 'b'), 'through B')
  t.same(later.map((l) => rec.receipts(l.method, l.id)), later.map(() => 1), 'each reached the origin once')
})
