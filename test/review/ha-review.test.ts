/**
 * Review of issue #5 (high availability): regressions for defects found in review. Each test drives
 * real edges, agents and origins on 127.0.0.1, port 0, and shows one defect.
 */
import t from 'tap'
import { writeFile } from 'node:fs/promises'
import http2 from 'node:http2'
import { join } from 'node:path'
import type { ServerResponse } from 'node:http'
import {
  startOrigin, startEdge, startAgent, visit, waitFor, tempDir, identityFor, cloneStateDir, type StartedEdge,
} from '../helpers/servers.js'
import { startGateRelay } from '../helpers/relay.js'
import type { Agent } from '../../src/agent/agent.js'
import { FakeAgent, credentials } from '../conformance/fake-agent.js'

const HOST = 'app.localhost'


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

t.test('review: §5.11 §5.8 a request retried out of its cookie pool is not pinned to the pool that failed it', async (t) => {
  const config = join(await tempDir(t, 'burrow-ha-review-'), 'edge.yaml')
  await writeFile(config, [
    'hosts:',
    '  app.localhost:',
    '    split:',
    '      - name: canary',
    '        match: { release: canary }',
    '        weight: 100',
    '      - name: stable',
    '        match: { release: stable }',
    '        weight: 0',
    '    sticky: { cookie: pool }',
    '',
  ].join('\n'))
  const edge = await startEdge(t, { config })
  // The canary pool's only connection refuses every stream (as when it races its agent's GOAWAY).
  const canary = await FakeAgent.connect(t, { ...await credentials(edge), onRequest: (stream) => { stream.close(http2.constants.NGHTTP2_REFUSED_STREAM) } })
  const answer = await canary.register(['app.localhost'], { labels: { release: 'canary' } })
  t.equal(answer.msg, 'registerAccepted')
  const origin = await startOrigin(t, (_req, res) => res.end('stable'))
  await startAgent(t, edge, origin, { labels: { release: 'stable' } })
  await waitFor(() => routable(edge).length === 2, 3_000)

  const res = await visit(edge.base, '/')
  t.equal(res.status, 200, 'the refused request was retried on the stable agent')
  t.equal(res.text, 'stable')
  t.equal(canary.requests.length, 1, 'the canary connection was tried first')
  const cookies = res.headers['set-cookie'] === undefined ? [] : [res.headers['set-cookie']].flat()
  t.notOk(cookies.some((c) => c.startsWith('pool=canary')), `no Set-Cookie pins the client to canary, which did not serve it (got ${JSON.stringify(cookies)})`)
})

t.test('review: §8.4 §8.5 a renewal while a slot is returning home still moves that slot to the new certificate', async (t) => {
  const origin = await startOrigin(t)
  const a = await startEdge(t)
  const identity = await identityFor(a)
  const b = await startEdge(t, { stateDir: await cloneStateDir(t, a.stateDir) })
  const gate = await startGateRelay(t, a.tunnel)
  gate.mode('refuse')
  // Home edge A (behind the gate) refuses: slot 0 registers on B, then tries to return home.
  const agent = await startAgent(t, a, origin, { identity, edge: [gate.address, b.tunnel], haConnections: 1, retryBaseMs: 200, retryMaxDelayMs: 400, renew: false })
  t.ok(registeredOn(agent, b), 'registered away from home, on B')
  gate.mode('hold')
  await waitFor(() => gate.held.length === 1, 5_000)
  // The return's connection (old certificate) is being opened: renew now.
  const oldSerial = agent.certificate.serial
  await agent.renewNow()
  const newSerial = agent.certificate.serial
  t.not(newSerial, oldSerial, 'the certificate was renewed')
  gate.mode('pass')
  gate.release()
  await waitFor(() => agent.status().connections[0]!.edge === gate.address && agent.status().connections[0]!.state === 'registered', 5_000)
  t.pass('slot 0 is back on its home edge')
  const onA = (): string[] => (a.edge.registry.connectionsFor(HOST) ?? []).filter((c) => c.state === 'registered').map((c) => c.identity?.serial ?? '?')
  let serials: string[] = []
  const ok = await waitFor(() => { serials = onA(); return serials.length === 1 && serials[0] === newSerial }, 3_000).then(() => true, () => false)
  t.ok(ok, `the connection on A uses the renewed certificate ${newSerial} (A routes to ${JSON.stringify(serials)}; old ${oldSerial})`)
})
