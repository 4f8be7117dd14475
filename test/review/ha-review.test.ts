/**
 * Review of issue #5 (high availability): regressions for defects found in review. Each test drives
 * real edges, agents and origins on 127.0.0.1, port 0, and shows one defect.
 */
import t from 'tap'
import { cp, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ServerResponse } from 'node:http'
import {
  startOrigin, startEdge, startAgent, visit, waitFor, tempDir, identityFor, type StartedEdge,
} from '../helpers/servers.js'
import type { Agent } from '../../src/agent/agent.js'

const HOST = 'app.localhost'

/** A copy of an edge's state dir (same CA and identities) for a second edge. */
async function cloneStateDir (t: Parameters<typeof tempDir>[0], from: string): Promise<string> {
  const to = await tempDir(t, 'burrow-edge-b-')
  const skip = new Set(['admin.sock', 'identity.lock'])
  for (const name of await readdir(from)) {
    if (!skip.has(name)) await cp(join(from, name), join(to, name), { recursive: true })
  }
  return to
}

function routable (edge: StartedEdge): Array<{ id: string, connIndex: number, inflight: number }> {
  return (edge.edge.registry.connectionsFor(HOST) ?? []).filter((c) => c.state === 'registered')
}

function registeredOn (agent: Agent, edge: StartedEdge): boolean {
  return agent.status().connections.every((c) => c.state === 'registered' && c.edge === edge.tunnel)
}

/** Resolves to true if `p` settles within `ms`, false otherwise (never rejects). */
async function settlesWithin (p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) }),
  ])
  clearTimeout(timer)
  return result
}

t.test('review: §8.3 close({gracePeriodMs}) bounds a connection the edge drained, not only the slots\' current ones', async (t) => {
  const held: ServerResponse[] = []
  t.teardown(() => { for (const r of held) r.destroy() })
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/held') held.push(res)
    else res.end(`served ${req.url ?? ''}`)
  })
  const a = await startEdge(t, { drainTimeoutMs: 20_000 })
  const identity = await identityFor(a)
  const b = await startEdge(t, { stateDir: await cloneStateDir(t, a.stateDir) })
  // The agent's own grace is long; close() is asked for a short one.
  const agent = await startAgent(t, a, origin, { identity, edge: [a.tunnel, b.tunnel], haConnections: 1, gracePeriodMs: 20_000 })
  await waitFor(() => routable(a).length === 1, 3_000)

  const pending = visit(a.base, '/held').catch(() => undefined)
  await waitFor(() => held.length === 1, 3_000)
  // A drains: the agent keeps the drained connection for its in-flight request and moves to B.
  const aClosing = a.close()
  await waitFor(() => registeredOn(agent, b) && routable(b).length === 1, 3_000)
  t.equal((await visit(b.base, '/at-b')).status, 200, 'B serves the hostname')

  const closing = agent.close({ gracePeriodMs: 100 })
  t.ok(await settlesWithin(closing, 5_000), 'close({gracePeriodMs: 100}) resolved well before the agent\'s 20 s default grace')
  held[0]?.end('late')
  await pending
  await aClosing
})
