import t from 'tap'
import { startOrigin, startEdge, startAgent, visit } from '../helpers/servers.js'

t.test('a GET reaches the origin through the tunnel', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  const res = await visit(edge.base, '/hello?x=1')
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.text).url, '/hello?x=1')
  t.match(res.headers['burrow-request-id'], /^[0-9a-f]{32}$/)
})
