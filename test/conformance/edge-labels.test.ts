/**
 * Conformance of the edge, tunnel labels in Register (SPEC.md §3.4.1): keys are 1-63 lower-case letters,
 * digits, "." or "-", values 1-63 letters, digits, ".", "_" or "-", both starting and ending
 * alphanumeric, at most 16 labels. A Register breaking any rule is answered RegisterRejected
 * BURROW_ERR_LABEL_INVALID, permanent (retrying the same labels cannot succeed), and nothing is routed
 * to it; a valid set is accepted and listed with the connection. A scripted fake agent drives a real edge.
 */
import t, { type Test } from 'tap'
import { startEdge, visit, type StartedEdge } from '../helpers/servers.js'
import { FakeAgent, H2, credentials, within } from './fake-agent.js'

async function fakeOn (t: Test, edge: StartedEdge): Promise<FakeAgent> {
  return await FakeAgent.connect(t, { ...await credentials(edge) })
}

const KEY_63 = 'k' + 'a'.repeat(61) + 'z'
const VALUE_63 = 'V' + '_'.repeat(61) + '9'

/** Label sets a conforming edge must refuse, and what the rejection message must name. */
const INVALID: Array<[what: string, labels: Record<string, string>, names: RegExp]> = [
  ['an upper-case key', { Release: 'canary' }, /"Release"/],
  ['an empty value', { release: '' }, /release/],
  ['a value with a space', { release: 'can ary' }, /"can ary"/],
  ['a value starting with "-"', { release: '-canary' }, /"-canary"/],
  ['a value ending with "."', { release: 'canary.' }, /"canary\."/],
  ['a key with "_"', { re_lease: 'canary' }, /"re_lease"/],
  ['a key starting with "-"', { '-release': 'canary' }, /"-release"/],
  ['a key of 64 characters', { [KEY_63 + 'x']: 'v' }, /must be 1-63/],
  ['a value of 64 characters', { release: VALUE_63 + 'x' }, /must be 1-63/],
  ['a value with a control character', { release: 'a\r\nb' }, /release/],
  ['a valid label next to an invalid one', { zone: 'eu', Release: 'x' }, /"Release"/],
]

t.test('§3.4.1 a Register with an invalid label is rejected: BURROW_ERR_LABEL_INVALID, permanent, then GOAWAY, nothing routed', async (t) => {
  const edge = await startEdge(t)
  // One connection per case, all at once (each waits for the edge to close it).
  await Promise.all(INVALID.map(async ([what, labels, names]) => {
    const fake = await fakeOn(t, edge)
    const answer = await fake.register(['app.localhost'], { labels })
    t.equal(answer.msg, 'registerRejected', `${what}: RegisterRejected`)
    t.match(answer.registerRejected, { code: 'BURROW_ERR_LABEL_INVALID', permanent: true, retryAfterMs: 0 }, `${what}: LABEL_INVALID, permanent`)
    t.match(answer.registerRejected?.message, names, `${what}: the message names the offending label (${JSON.stringify(answer.registerRejected?.message ?? '')})`)
    const closed = await within(fake.closed, 3_000, 'close')
    t.equal(closed.goawayCode, H2.NO_ERROR, `${what}: then GOAWAY NO_ERROR`)
  }))
  t.equal((await visit(edge.base, '/')).status, 404, 'nothing was registered')
  t.same(edge.edge.tunnels().hostnames, [], 'and nothing is listed')
})

t.test('§3.4.1 17 labels are rejected with BURROW_ERR_LABEL_INVALID, permanent; 16 are accepted', async (t) => {
  const edge = await startEdge(t)
  const labels = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]))
  const tooMany = await (await fakeOn(t, edge)).register(['app.localhost'], { labels: labels(17) })
  t.equal(tooMany.msg, 'registerRejected')
  t.match(tooMany.registerRejected, { code: 'BURROW_ERR_LABEL_INVALID', permanent: true })
  t.match(tooMany.registerRejected?.message, /16/, 'the message names the limit')
  const sixteen = await (await fakeOn(t, edge)).register(['app.localhost'], { labels: labels(16) })
  t.equal(sixteen.msg, 'registerAccepted', '16 labels: accepted')
  const listed = edge.edge.tunnels().hostnames.find((h) => h.hostname === 'app.localhost')?.connections ?? []
  t.equal(listed.length, 1)
  t.same(listed[0]?.labels, labels(16), 'with all 16 labels')
})

t.test('§3.4.1 a valid label set is accepted, listed with its connection, and the connection serves', async (t) => {
  const edge = await startEdge(t)
  const labels = { release: 'canary', zone: 'eu-west-1', 'team.example.com': 'A_b-9.c', [KEY_63]: VALUE_63, x: 'Y' }
  const fake = await fakeOn(t, edge)
  const answer = await fake.register(['app.localhost'], { labels, connIndex: 2 })
  t.equal(answer.msg, 'registerAccepted')
  const snapshot = edge.edge.tunnels()
  t.same(snapshot.hostnames.map((h) => h.hostname), ['app.localhost'])
  const conns = snapshot.hostnames[0]!.connections
  t.equal(conns.length, 1)
  t.match(conns[0], { agentId: 'fake-agent', connIndex: 2, state: 'registered', labels }, 'tunnels() lists the connection with its labels')
  t.same(conns[0]!.labels, labels, 'exactly the labels registered')
  t.same(edge.edge.registry.list()[0]?.connections[0]?.labels, labels, 'the registry holds them for routing')
  const res = await visit(edge.base, '/')
  t.equal(res.status, 200)
  t.equal(res.text, 'fake agent', 'the labelled connection serves the hostname')
})

t.test('§3.4.1 a Register without labels is accepted and listed with none', async (t) => {
  const edge = await startEdge(t)
  const answer = await (await fakeOn(t, edge)).register(['app.localhost'])
  t.equal(answer.msg, 'registerAccepted')
  t.same(edge.edge.tunnels().hostnames[0]?.connections[0]?.labels, {})
})
