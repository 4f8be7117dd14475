/**
 * Lifecycle: the agent survives an edge restart (SPEC.md §8.1), shuts down gracefully with requests
 * in flight (§3.9, §8.3) — in-process and as the real CLI process under SIGTERM — and follows the
 * edge's Drain when the edge shuts down (§3.10).
 */
import t from 'tap'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { startOrigin, startEdge, startAgent, visit, waitFor, tempDir, ACCOUNT, ACCOUNT_ZONES, type StartedEdge, type T, type VisitorResponse } from '../helpers/servers.js'
import { spawnCli, type LogLine } from '../helpers/processes.js'

const BASE_MS = 50
const CAP_MS = 500

type Retry = { attempt: number, delayMs: number, reason: string }

/** Rejects after `ms` (used to bound waits on events). */
async function within<V> (ms: number, what: string, p: Promise<V>): Promise<V> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger (lines: LogLine[]): pino.Logger {
  return pino({ level: 'info' }, new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      cb()
    },
  }))
}

/**
 * A BURROW_HOME in a temp dir where the real `burrow login` enrolled with a fresh token from the
 * in-process edge (SPEC.md §4.5), so a CLI agent spawned with it needs neither --edge nor a token.
 */
async function loggedInHome (t: T, edge: StartedEdge): Promise<string> {
  const home = await tempDir(t, 'burrow-home-')
  await edge.edge.identity.ensureAccount(ACCOUNT, ACCOUNT_ZONES)
  const token = await edge.edge.createEnrollmentToken(ACCOUNT, 60_000)
  const login = spawnCli(t, ['login', '--edge', edge.tunnel, '--token', token], { BURROW_HOME: home })
  const exit = await login.waitForExit(15_000)
  if (exit.code !== 0) throw new Error(`burrow login exited ${JSON.stringify(exit)}: ${login.stderr()}`)
  return home
}

/** An origin answering `slow <path>` after `ms`. */
function slowHandler (ms: number) {
  return (req: { url?: string | undefined }, res: { end: (body: string) => void }): void => {
    setTimeout(() => res.end(`slow ${req.url ?? ''}`), ms)
  }
}

t.test('the edge restarts on the same state dir and ports: the agent reconnects on its own (SPEC.md §8.1)', async (t) => {
  const origin = await startOrigin(t)
  const first = await startEdge(t)
  const agent = await startAgent(t, first, origin, { retryBaseMs: BASE_MS, retryMaxDelayMs: CAP_MS })
  const retries: Retry[] = []
  agent.on('retry', (r) => retries.push(r))
  t.equal((await visit(first.base, '/before')).status, 200, 'served before the restart')

  const tunnelPort = first.edge.tunnelAddress.port
  const publicPort = first.edge.publicAddress.port
  await first.close()
  t.equal(first.edge.connectionCount, 0, 'the old edge has no tunnel connection left')

  // While the edge is down, the agent keeps retrying with full-jitter backoff.
  await waitFor(() => retries.length >= 5, 5_000)
  t.equal(retries[0]!.reason, 'edge draining', 'the first retry follows the Drain')
  t.same(retries.slice(0, 5).map((r) => r.attempt), [1, 2, 3, 4, 5], 'attempts count up while the edge is down')
  for (const r of retries) {
    const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** (r.attempt - 1))
    t.ok(r.delayMs >= 0 && r.delayMs <= ceiling, `attempt ${r.attempt}: delay ${r.delayMs} ms within [0, ${ceiling}]`)
  }
  t.ok(agent.attempts >= 5, 'connection attempts were made while the edge was down')

  const registered = once(agent, 'registered')
  const second = await startEdge(t, {
    stateDir: first.stateDir,
    tunnelListen: { host: '127.0.0.1', port: tunnelPort },
    listen: { host: '127.0.0.1', port: publicPort },
  })
  const restartedAt = performance.now()
  t.equal(second.edge.caCertPem, first.edge.caCertPem, 'the restarted edge reuses its CA from the state dir')
  t.equal(second.base, first.base, 'same public port')
  await within(CAP_MS + 2_000, 'the agent re-registers', registered)
  const res = await visit(second.base, '/after')
  t.equal(res.status, 200, 'visitors are served again')
  t.equal(JSON.parse(res.text).url, '/after')
  t.ok(performance.now() - restartedAt < CAP_MS + 2_000, 'within the backoff cap plus a reconnect')
  t.equal(second.edge.connectionCount, 1, 'one tunnel connection on the new edge')
  t.equal(agent.state, 'connected')
})

t.test('agent.close() lets in-flight requests finish; new requests get NO_TUNNEL (SPEC.md §3.9, §8.3)', async (t) => {
  const origin = await startOrigin(t, slowHandler(300))
  const edge = await startEdge(t)
  const agent = await startAgent(t, edge, origin)

  let settled = 0
  const pending = [1, 2, 3, 4, 5].map(async (i) => {
    const res = await visit(edge.base, `/inflight/${i}`)
    settled++
    return res
  })
  await waitFor(() => origin.received.length === 5, 5_000)
  const closing = agent.close({ gracePeriodMs: 5_000 })

  // The Unregister takes the hostname out of routing at once, while the five are still running.
  await waitFor(() => edge.edge.registry.pick('app.localhost') === undefined, 2_000, 5)
  const late = await visit(edge.base, '/late', { headers: { accept: 'application/json' } })
  t.equal(settled, 0, 'the late request was answered while the five were still in flight')
  t.equal(late.status, 503, 'a request after the Unregister gets 503')
  t.equal(late.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')
  t.equal(JSON.parse(late.text).error.code, 'BURROW_ERR_NO_TUNNEL')

  const results: VisitorResponse[] = await Promise.all(pending)
  t.same(results.map((r) => r.status), [200, 200, 200, 200, 200], 'all five in-flight requests completed')
  t.same(results.map((r) => r.text), [1, 2, 3, 4, 5].map((i) => `slow /inflight/${i}`), 'with their own bodies')
  await within(5_000, 'agent.close()', closing)
  t.equal(agent.state, 'stopped')
  t.equal(origin.received.length, 5, 'the late request never reached the origin')
  await waitFor(() => edge.edge.connectionCount === 0, 3_000)
  t.equal(edge.edge.connectionCount, 0, 'the edge has no tunnel connection left')
})

t.test('the CLI agent drains in-flight requests on SIGTERM and exits 0 (SPEC.md §8.3)', async (t) => {
  const origin = await startOrigin(t, slowHandler(500))
  const edge = await startEdge(t)
  const cli = spawnCli(t, [
    '--hostname', 'app.localhost', '--grace-period', '5000', '--log-level', 'info', origin.url,
  ], { BURROW_HOME: await loggedInHome(t, edge) })
  const ready = await cli.waitForLog((l) => l.msg === 'tunnel ready', 15_000)
  t.same(ready.hostnames, ['app.localhost'], "the 'tunnel ready' log line names the hostname")
  t.equal(ready.edge, edge.tunnel, 'the agent found the edge in the saved login')

  const pending = [1, 2, 3].map(async (i) => await visit(edge.base, `/cli/${i}`))
  await waitFor(() => origin.received.length === 3, 5_000)
  cli.child.kill('SIGTERM')
  await cli.waitForLog((l) => l.msg === 'shutting down gracefully (send the signal again to force)', 5_000)

  const results = await Promise.all(pending)
  t.same(results.map((r) => r.status), [200, 200, 200], 'all three in-flight requests completed')
  t.same(results.map((r) => r.text), ['slow /cli/1', 'slow /cli/2', 'slow /cli/3'])
  const exit = await cli.waitForExit(8_000)
  t.same(exit, { code: 0, signal: null }, 'graceful shutdown exits 0')
  t.ok(cli.logs.some((l) => l.msg === 'agent stopped'), "the log says 'agent stopped'")
  await waitFor(() => edge.edge.connectionCount === 0, 3_000)
  t.equal(edge.edge.connectionCount, 0, 'the edge has no tunnel connection left')
})

t.test('a second SIGTERM during a long drain forces exit code 143 (SPEC.md §8.3)', async (t) => {
  const origin = await startOrigin(t, () => { /* never answers; the origin's teardown closes the socket */ })
  const edge = await startEdge(t)
  const cli = spawnCli(t, [
    '--edge', edge.tunnel, '--hostname', 'app.localhost', '--grace-period', '30000', '--log-level', 'info', origin.url,
  ], { BURROW_HOME: await loggedInHome(t, edge) })
  await cli.waitForLog((l) => l.msg === 'tunnel ready', 15_000)

  const pending = visit(edge.base, '/hangs')
  await waitFor(() => origin.received.length === 1, 5_000)
  cli.child.kill('SIGTERM')
  await cli.waitForLog((l) => l.msg === 'shutting down gracefully (send the signal again to force)', 5_000)
  cli.child.kill('SIGTERM')
  const exit = await cli.waitForExit(5_000)
  t.same(exit, { code: 143, signal: null }, 'the second SIGTERM forces exit 143')
  t.ok(cli.logs.some((l) => l.msg === 'second signal: exiting now'), 'the forced exit is logged')

  const res = await pending
  t.equal(res.status, 502, 'the abandoned request fails visibly instead of hanging')
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_TUNNEL_LOST')
  await waitFor(() => edge.edge.connectionCount === 0, 3_000)
  t.equal(edge.edge.connectionCount, 0, 'the edge has no tunnel connection left')
})

t.test('edge.close() drains the agent: it gets Drain, in-flight finishes, reconnects begin (SPEC.md §3.10)', async (t) => {
  const DRAIN_MS = 1_500
  const origin = await startOrigin(t, slowHandler(300))
  const edge = await startEdge(t, { drainTimeoutMs: DRAIN_MS })
  const lines: LogLine[] = []
  const agent = await startAgent(t, edge, origin, { retryBaseMs: BASE_MS, retryMaxDelayMs: CAP_MS, logger: capturingLogger(lines) })
  const retries: Retry[] = []
  agent.on('retry', (r) => retries.push(r))

  const pending = visit(edge.base, '/during-drain')
  await waitFor(() => origin.received.length === 1, 5_000)
  const started = performance.now()
  await within(DRAIN_MS + 1_000, 'edge.close()', edge.close())
  const took = performance.now() - started
  t.ok(took < DRAIN_MS, `edge.close() completed in ${Math.round(took)} ms, within the ${DRAIN_MS} ms drain timeout`)

  const res = await pending
  t.equal(res.status, 200, 'the in-flight request finished during the drain')
  t.equal(res.text, 'slow /during-drain')
  const drainLine = lines.find((l) => l.msg === 'edge is draining this connection')
  t.ok(drainLine, 'the agent received Drain')
  t.equal(drainLine?.deadlineMs, DRAIN_MS, 'Drain carries the deadline')
  t.equal(edge.edge.connectionCount, 0, 'the edge has no tunnel connection left')

  await waitFor(() => retries.length >= 2, 5_000)
  t.equal(retries[0]!.reason, 'edge draining', 'reconnecting starts with the Drain')
  t.match(retries[1]!.reason, /ECONNREFUSED|connect/, 'then attempts fail against the closed edge and continue')
  for (const r of retries) t.ok(r.delayMs >= 0 && r.delayMs <= CAP_MS, `delay ${r.delayMs} ms within [0, ${CAP_MS}]`)
})
