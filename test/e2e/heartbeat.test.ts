/**
 * SPEC.md §1.6: both sides PING every heartbeat interval and replace a connection whose PING is not
 * answered within the heartbeat timeout. A black-holed tunnel (no FIN, no RST) must not keep a
 * hostname pointed at a dead connection, and the agent must come back on a fresh connection.
 */
import t from 'tap'
import { startOrigin, startEdge, startAgent, visit, waitFor } from '../helpers/servers.js'
import { startRelay } from '../helpers/relay.js'

const heartbeat = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 }

t.test('§1.6 a black-holed tunnel is detected by both sides and replaced within the heartbeat bound', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t, heartbeat)
  const relay = await startRelay(t, edge.tunnel)
  const agent = await startAgent(t, { ...edge, tunnel: relay.address }, origin, { ...heartbeat, retryBaseMs: 20, retryMaxDelayMs: 100 })
  t.equal((await visit(edge.base, '/before')).status, 200)
  t.equal(relay.accepted, 1)

  const routed = (): string[] => edge.edge.registry.list().flatMap((h) => h.connections.map((c) => c.id))
  const [deadId] = routed()
  const disconnected = new Promise<string>((resolve) => agent.once('disconnected', resolve))
  const frozenAt = Date.now()
  relay.freeze()

  // The edge stops routing to the dead connection (the agent may already be back on a new one).
  await waitFor(() => !routed().includes(deadId!), 3_000)
  const edgeDetectedMs = Date.now() - frozenAt
  t.ok(edgeDetectedMs < 1_500, `the edge stopped routing to the dead connection after ${edgeDetectedMs} ms`)

  // The agent notices too, and reconnects through the relay on a new connection.
  const reason = await disconnected
  const agentDetectedMs = Date.now() - frozenAt
  t.ok(agentDetectedMs < 1_500, `the agent dropped the dead connection after ${agentDetectedMs} ms (${reason})`)
  await waitFor(() => agent.state === 'connected' && edge.edge.connectionCount === 1, 3_000)
  t.ok(relay.accepted >= 2, 'the agent dialed a new connection')

  const after = await visit(edge.base, '/after')
  t.equal(after.status, 200)
  t.equal(JSON.parse(after.text).url, '/after')
})

t.test('§1.6 an idle but healthy tunnel is not replaced: PINGs keep being answered', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t, heartbeat)
  const relay = await startRelay(t, edge.tunnel)
  const agent = await startAgent(t, { ...edge, tunnel: relay.address }, origin, heartbeat)
  let disconnects = 0
  agent.on('disconnected', () => { disconnects++ })
  // Ten heartbeat timeouts of silence (no requests).
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  t.equal(disconnects, 0)
  t.equal(relay.accepted, 1, 'still the first connection')
  t.equal((await visit(edge.base, '/idle')).status, 200)
})
