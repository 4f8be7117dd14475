/**
 * SPEC.md §4.7: a renewal that fails for a reason other than a rejection (here the edge is unreachable
 * for new connections) is retried with the reconnect backoff of §8.1 until it succeeds, before the
 * certificate expires, and the tunnel moves to the new certificate without a failed request.
 */
import t from 'tap'
import { startOrigin, startEdge, startAgent, visit, waitFor } from '../helpers/servers.js'
import { startRelay } from '../helpers/relay.js'
import type { AgentIdentity } from '../../src/agent/enrollment.js'

t.test('§4.7 a renewal that cannot reach the edge is retried with backoff and succeeds before expiry', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t, { certLifetimeMs: 10_000, identityPollMs: 200 })
  const relay = await startRelay(t, edge.tunnel)
  const renewed: Array<{ id: AgentIdentity, at: number }> = []
  const agent = await startAgent(t, edge, origin, { edge: relay.address, retryBaseMs: 100, retryMaxDelayMs: 300 })
  agent.on('renewed', (id) => renewed.push({ id, at: Date.now() }))
  // A lifetime this short is already past its renewal time when issued (notBefore is backdated 60 s,
  // §4.2): the agent renews once at start, then waits two thirds of what the new certificate has left.
  await waitFor(() => renewed.length >= 1, 5_000)
  const current = agent.certificate
  const dueAt = renewed[0]!.at + Math.floor((current.notAfterMs - renewed[0]!.at) * 2 / 3)
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - 500 - Date.now())))
  relay.refuseNew(true)
  const refusedFrom = relay.accepted
  await new Promise((resolve) => setTimeout(resolve, 2_200))
  const attemptsWhileRefused = relay.accepted - refusedFrom
  relay.refuseNew(false)
  t.ok(attemptsWhileRefused >= 2, `the renewal was retried while the edge was unreachable (${attemptsWhileRefused} attempts in 2.2 s)`)
  t.ok(attemptsWhileRefused <= 4, `with backoff (at least 1 s apart), not in a tight loop (${attemptsWhileRefused} attempts in 2.2 s)`)
  await waitFor(() => renewed.length >= 2, 3_000)
  t.not(agent.certificate.serial, current.serial, 'the agent holds a new certificate')
  t.ok(Date.now() < current.notAfterMs, 'renewed before the previous certificate expired')
  // Traffic keeps flowing past the previous certificate's expiry: the tunnel moved to the new one.
  await waitFor(() => Date.now() > current.notAfterMs + 500, 5_000)
  const res = await visit(edge.base, '/after-expiry')
  t.equal(res.status, 200, 'served after the previous certificate expired')
  t.equal(agent.state, 'connected')
})
