/**
 * `burrow --label key=value` through the real command (SPEC.md §3.4.1, §8.3): an invalid label (bad key,
 * empty or bad value, no "=", more than 16) is a usage error, exit 2, with a message naming the label
 * and no stack trace, before anything is dialled; BURROW_LABELS is checked the same way. Valid labels,
 * repeated and comma separated, reach the edge with the registration and the origin as
 * burrow-label-<key> fields.
 */
import t from 'tap'
import { saveLogin } from '../../src/cli/agent-home.js'
import { startOrigin, startEdge, identityFor, visit, tempDir, waitFor, type T } from '../helpers/servers.js'
import { spawnCli, type CliProcess } from '../helpers/processes.js'

/**
 * The agent command with every other argument valid (an edge address nothing listens on, readiness
 * endpoint off), so that the label is the only thing wrong.
 */
async function agentCli (t: T, labelArgs: string[], env: Record<string, string> = {}): Promise<CliProcess> {
  return spawnCli(t, ['--edge', '127.0.0.1:9', '--hostname', 'app.localhost', '--ready', 'off', ...labelArgs, 'http://127.0.0.1:9'],
    { BURROW_HOME: await tempDir(t, 'burrow-home-'), ...env })
}

const CASES: Array<[what: string, args: string[], message: RegExp]> = [
  ['an upper-case key', ['--label', 'Release=x'], /--label.*'Release=x' is invalid\. label key "Release" must be 1-63 lower-case letters/],
  ['an empty value', ['--label', 'release='], /--label.*'release=' is invalid\. label release: value "" must be 1-63 letters/],
  ['no "="', ['--label', 'release'], /'release' is invalid\. "release": expected key=value, e\.g\. release=canary/],
  ['a bad value', ['--label', 'release=can ary'], /label release: value "can ary" must be/],
  ['a bad label after a good one in a list', ['--label', 'zone=eu,Tier=web'], /label key "Tier" must be/],
  ['a bad label in a second --label', ['--label', 'zone=eu', '--label', 'release=-x'], /label release: value "-x" must be/],
  ['17 labels', Array.from({ length: 17 }, (_, i) => ['--label', `k${i}=v`]).flat(), /at most 16 labels/],
]

t.test('§8.3 an invalid --label is a usage error: exit 2, a message naming the label, nothing dialled', async (t) => {
  const runs = await Promise.all(CASES.map(async ([, args]) => await agentCli(t, args)))
  for (let i = 0; i < CASES.length; i++) {
    const [what, , message] = CASES[i]!
    const p = runs[i]!
    const exit = await p.waitForExit(15_000)
    t.equal(exit.code, 2, `${what}: exit 2`)
    t.match(p.stderr(), message, `${what}: ${p.stderr().trim().split('\n')[0] ?? ''}`)
    t.notMatch(p.stderr(), /\n\s+at /, `${what}: no stack trace`)
    t.notMatch(p.stdout(), /tunnel connection attempt|registered tunnel/, `${what}: the agent never started`)
  }
})

t.test('§8.3 an invalid label in BURROW_LABELS is a usage error too', async (t) => {
  const p = await agentCli(t, [], { BURROW_LABELS: 'release=canary,Zone=eu' })
  t.equal((await p.waitForExit(15_000)).code, 2)
  t.match(p.stderr(), /BURROW_LABELS.*is invalid\. label key "Zone" must be/)
})

t.test('§3.4.1 valid labels (repeated and comma separated) are registered with the edge and reach the origin', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  const home = await tempDir(t, 'burrow-home-')
  await saveLogin(home, { edge: edge.tunnel, identity: await identityFor(edge) })
  const p = spawnCli(t, ['--hostname', 'app.localhost', '--ready', 'off', '--ha-connections', '2', '--grace-period', '0',
    '--label', 'release=canary,zone=eu-west-1', '--label', 'team.web=A_b-9', origin.url], { BURROW_HOME: home })
  const want = { release: 'canary', zone: 'eu-west-1', 'team.web': 'A_b-9' }
  const connections = (): Array<{ labels: Record<string, string> }> =>
    edge.edge.tunnels().hostnames.find((h) => h.hostname === 'app.localhost')?.connections.filter((c) => c.state === 'registered') ?? []
  await waitFor(() => connections().length === 2, 15_000)
  t.same(connections().map((c) => c.labels), [want, want], 'both connections registered with the three labels')
  const res = await visit(edge.base, '/labelled')
  t.equal(res.status, 200)
  const seen = origin.received.at(-1)!.headers
  t.equal(seen['burrow-label-release'], 'canary', 'the origin sees burrow-label-release')
  t.equal(seen['burrow-label-zone'], 'eu-west-1')
  t.equal(seen['burrow-label-team.web'], 'A_b-9')
  p.child.kill('SIGTERM')
  t.equal((await p.waitForExit(10_000)).code, 0, 'SIGTERM: a clean drain, exit 0')
})
