/**
 * Conformance of the agent, several connections (SPEC.md §8.5, §3.4, §3.9, §8.3): a real agent with
 * haConnections 3 dials a scripted fake edge. Connection 0 registers first; the others follow only
 * after it is accepted. On shutdown every connection Unregisters, proves the edge saw it with a
 * control Heartbeat round trip, keeps serving streams the edge opened meanwhile, then sends GOAWAY.
 */
import t from 'tap'
import { startOrigin, waitFor } from '../helpers/servers.js'
import { H2, within } from './fake-agent.js'
import { FakeEdge, agentFor, type FakeEdgeConnection } from './fake-edge.js'
import type { Agent } from '../../src/agent/agent.js'
import type { DecodedFrame } from '../../src/protocol/codec.js'

/** A started agent with three connections, each accepted by the fake edge, in slot order. */
async function threeConnections (t: Parameters<typeof agentFor>[0], edge: FakeEdge, origin: string): Promise<{ agent: Agent, conns: FakeEdgeConnection[], registers: DecodedFrame[] }> {
  const agent = agentFor(t, edge, origin, { haConnections: 3 })
  const started = agent.start()
  started.catch(() => {})
  const first = await edge.nextConnection()
  const registers = [await first.accept()]
  await within(started, 3_000, 'start()')
  const conns = [first]
  for (let i = 0; i < 2; i++) {
    const conn = await edge.nextConnection()
    conns.push(conn)
    registers.push(await conn.accept())
  }
  await waitFor(() => agent.status().readyConnections === 3, 3_000)
  // Slot order (the two followers may dial in either order).
  const order = registers.map((_r, i) => i).sort((x, y) => registers[x]!.register!.connIndex! - registers[y]!.register!.connIndex!)
  return { agent, conns: order.map((i) => conns[i]!), registers: order.map((i) => registers[i]!) }
}

t.test('§8.5 §3.4 HA: connection 0 registers first; connections 1 and 2 dial only after it is accepted, with their conn_index and the same agent_id', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const agent = agentFor(t, edge, origin.url, { haConnections: 3 })
  const started = agent.start()
  started.catch(() => {})

  const first = await edge.nextConnection()
  await waitFor(() => first.frames().frames.length >= 1, 3_000)
  const r0 = first.frames().frames[0]!
  t.equal(r0.msg, 'register', 'the first connection sends Register')
  t.equal(r0.register?.connIndex, 0, 'with conn_index 0')
  // Hold the answer: nothing else may dial while connection 0 is not accepted.
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(edge.connections.length, 1, 'no second connection before RegisterAccepted on the first (400 ms, backoff base 50 ms)')
  t.equal(agent.status().readyConnections, 0)

  t.equal(await first.accept(), r0, 'the fake accepts that Register')
  await within(started, 3_000, 'start()')
  const others = [await edge.nextConnection(), await edge.nextConnection()]
  const registers = await Promise.all(others.map(async (c) => await c.accept()))
  t.same(registers.map((r) => r.msg), ['register', 'register'])
  t.same(registers.map((r) => r.register?.connIndex).sort(), [1, 2], 'the others carry conn_index 1 and 2')
  const ids = [r0, ...registers].map((r) => r.register?.client?.agentId)
  t.same(ids, [agent.id, agent.id, agent.id], 'the same agent_id on every connection')
  t.same([r0, ...registers].map((r) => r.register?.hostnames), [['app.localhost'], ['app.localhost'], ['app.localhost']], 'the same hostnames')
  await waitFor(() => agent.status().readyConnections === 3, 3_000)
  t.same(agent.status().connections.map((c) => c.state), ['registered', 'registered', 'registered'])
  t.equal(edge.connections.length, 3, 'exactly three connections')
})

t.test('§3.9 §8.3 HA: on close() each connection sends Unregister then Heartbeat{reply: false}, serves a stream opened before the reply, then GOAWAY', async (t) => {
  const origin = await startOrigin(t)
  const edge = await FakeEdge.start(t)
  const { agent, conns, registers } = await threeConnections(t, edge, origin.url)
  t.same(registers.map((r) => r.register?.connIndex), [0, 1, 2])

  let closed = false
  const closing = agent.close({ gracePeriodMs: 5_000 }).then(() => { closed = true })
  t.equal(agent.status().ready, false, 'not ready once close() is called')

  const beats: DecodedFrame[] = []
  for (const [i, conn] of conns.entries()) {
    const unregister = await conn.nextFrame()
    t.equal(unregister.msg, 'unregister', `connection ${i}: the first frame after registration is Unregister`)
    const beat = await conn.nextFrame()
    t.equal(beat.msg, 'heartbeat', `connection ${i}: then a Heartbeat`)
    t.equal(beat.heartbeat?.reply, false, `connection ${i}: a request (reply: false)`)
    beats.push(beat)
  }

  // Streams the edge opened after the Unregister, before it answered the Heartbeat (they may have
  // crossed the Unregister on the wire): the agent serves them.
  for (const [i, conn] of conns.entries()) {
    t.equal(conn.goawayCode, undefined, `connection ${i}: no GOAWAY before the Heartbeat is answered`)
    const req = conn.request({ ':path': `/late/${i}` })
    t.equal((await within(req.response, 3_000, 'response'))[':status'], 200, `connection ${i}: the late stream is answered 200`)
    const result = await within(req.done, 3_000, 'stream end')
    t.equal(result.ended, true, `connection ${i}: the late stream ends cleanly`)
    t.equal(JSON.parse(result.body.toString()).url, `/late/${i}`, `connection ${i}: with the origin's answer`)
  }
  t.notOk(closed, 'close() is still waiting for the Heartbeat replies')

  for (const [i, conn] of conns.entries()) {
    conn.send({ heartbeat: { seq: Number(beats[i]!.heartbeat?.seq ?? 0), reply: true } })
  }
  for (const [i, conn] of conns.entries()) {
    const end = await within(conn.closed, 3_000, `connection ${i} closed`)
    t.equal(end.goawayCode, H2.NO_ERROR, `connection ${i}: then GOAWAY NO_ERROR and the connection closes`)
  }
  await within(closing, 3_000, 'agent.close()')
  t.equal(agent.state, 'stopped')
  t.same(origin.received.map((r) => r.url).sort(), ['/late/0', '/late/1', '/late/2'], 'the origin saw the three late requests')
})
