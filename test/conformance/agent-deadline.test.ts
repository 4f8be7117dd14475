/**
 * The agent's side of the registration deadline (SPEC.md §3.6, §8.1): an edge that completes TLS
 * but never opens the control stream, or never answers Register, must not hold the agent: it gives
 * up on that connection after its registration timeout and reconnects with backoff.
 */
import t from 'tap'
import { startOrigin, waitFor } from '../helpers/servers.js'
import { FakeEdge, agentFor } from './fake-edge.js'

t.test('§3.6 §8.1 an edge that never opens the control stream: the agent abandons the connection at its deadline and reconnects', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t, { openControl: false })
  const agent = agentFor(t, edge, origin.url, { registrationTimeoutMs: 150, retryBaseMs: 20, retryMaxDelayMs: 50 })
  const reasons: string[] = []
  agent.on('retry', ({ reason }) => reasons.push(reason))
  const started = agent.start()
  started.catch(() => {})
  const t0 = Date.now()
  await waitFor(() => edge.connections.length >= 3, 5_000)
  const elapsed = Date.now() - t0
  t.ok(elapsed >= 2 * 150, `three connections took ${elapsed} ms: each waited for the 150 ms deadline`)
  t.ok(reasons.length >= 2)
  t.match(reasons[0], /not registered within 150 ms/)
  t.equal(agent.state === 'connecting' || agent.state === 'backoff', true, `still trying (${agent.state})`)
})

t.test('§3.6 an edge that opens the control stream but never answers Register: same deadline, same recovery', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t) // opens the control stream, then stays silent
  const agent = agentFor(t, edge, origin.url, { registrationTimeoutMs: 150, retryBaseMs: 20, retryMaxDelayMs: 50 })
  const started = agent.start()
  started.catch(() => {})
  const first = await edge.nextConnection()
  const register = await first.nextFrame()
  t.equal(register.msg, 'register', 'the agent registered and waits for the answer')
  // No answer: the agent gives up on this connection and dials a new one.
  const second = await edge.nextConnection(3_000)
  t.not(second, first)
  t.equal((await second.nextFrame()).msg, 'register')
})
