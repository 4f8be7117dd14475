/**
 * SPEC.md §8.1: whatever the jitter draws, one connection makes at most MAX_DIALS_PER_MINUTE attempts
 * in any rolling minute; the next attempt waits for the oldest to leave the window.
 */
import t from 'tap'
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { Agent } from '../../src/agent/agent.js'
import { MAX_DIALS_PER_MINUTE } from '../../src/protocol/constants.js'
import { startEdge, identityFor, testLogger, waitFor } from '../helpers/servers.js'

/** A port nothing listens on (bound, then closed). */
async function deadPort (): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

t.test('§8.1 a connection that keeps failing at once stops at the per-minute attempt budget', async (t) => {
  const edge = await startEdge(t)
  const identity = await identityFor(edge)
  const agent = new Agent({
    edge: `127.0.0.1:${await deadPort()}`,
    edgeCa: edge.edge.caCertPem,
    identity,
    hostnames: ['app.localhost'],
    origin: 'http://127.0.0.1:9',
    haConnections: 1,
    retryBaseMs: 1,
    retryMaxDelayMs: 2,
    logger: testLogger(),
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  const delays: number[] = []
  agent.on('retry', (r) => delays.push(r.delayMs))
  agent.start().catch(() => {})
  await waitFor(() => agent.attempts >= MAX_DIALS_PER_MINUTE, 10_000)
  // Every refused dial is retried within 2 ms, so without the budget hundreds would follow.
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(agent.attempts, MAX_DIALS_PER_MINUTE, `exactly ${MAX_DIALS_PER_MINUTE} dials, then the budget holds the next one`)
  const last = delays.at(-1)!
  t.ok(last > 55_000 && last <= 60_000, `the next attempt waits for the window (${last} ms)`)
  t.ok(delays.slice(0, -1).every((d) => d <= 2), 'the attempts before it followed the backoff cap')
  t.equal(agent.status().connections[0]!.state, 'backoff')
  t.equal(agent.status().ready, false)
})
