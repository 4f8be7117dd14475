/**
 * SPEC.md §5.8: a stream the agent refused unprocessed (RST_STREAM REFUSED_STREAM, as when a request
 * races the agent's GOAWAY) never reached the origin, so the edge may send the request once more on
 * another connection of the hostname. A request whose body already went into the refused stream is
 * not replayed.
 */
import t, { type Test } from 'tap'
import http2 from 'node:http2'
import { startOrigin, startEdge, startAgent, visit, type StartedEdge } from '../helpers/servers.js'
import { FakeAgent, credentials } from '../conformance/fake-agent.js'

const REFUSED = http2.constants.NGHTTP2_REFUSED_STREAM

/** A registered fake agent that refuses every request stream; it registers first, so it is picked first. */
async function refusingAgent (t: Test, edge: StartedEdge): Promise<FakeAgent> {
  const fake = await FakeAgent.connect(t, {
    ...await credentials(edge),
    onRequest: (stream) => { stream.close(REFUSED) },
  })
  const answer = await fake.register()
  if (answer.msg !== 'registerAccepted') throw new Error(`registration failed: ${String(answer.msg)}`)
  return fake
}

t.test('a bodiless request refused by one replica is served by another, once, and the visitor sees 200', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  const fake = await refusingAgent(t, edge)
  await startAgent(t, edge, origin)
  const res = await visit(edge.base, '/retried')
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.text).url, '/retried')
  t.equal(fake.requests.length, 1, 'the refusing replica was tried first')
  t.equal(origin.received.length, 1, 'the origin received the request exactly once')
})

t.test('a request with a body that was refused is not replayed: 502 TUNNEL_LOST and the origin sees nothing', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  const fake = await refusingAgent(t, edge)
  await startAgent(t, edge, origin)
  const res = await visit(edge.base, '/upload', { method: 'POST', body: 'payload' })
  t.equal(res.status, 502)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_TUNNEL_LOST')
  t.equal(fake.requests.length, 1)
  t.equal(origin.received.length, 0)
})

t.test('with no other connection to try, a refused request gets 502 TUNNEL_LOST, and is tried only once', async (t) => {
  const edge = await startEdge(t)
  const fake = await refusingAgent(t, edge)
  const res = await visit(edge.base, '/nowhere')
  t.equal(res.status, 502)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_TUNNEL_LOST')
  t.equal(fake.requests.length, 1)
})
