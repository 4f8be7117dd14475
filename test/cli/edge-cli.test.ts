/**
 * `burrow edge` configuration as operators give it: a port-only --listen, extra tunnel certificate
 * names (--tunnel-name, BURROW_TUNNEL_NAMES) that agents can verify (SPEC.md §1.3), a state dir whose
 * CA and accounts survive a restart, the certificate lifetime (--cert-lifetime, BURROW_CERT_LIFETIME,
 * §4.2), and the operator commands' state dir and usage errors (`burrow edge accounts|certs`).
 * Real CLI child processes, real agents.
 */
import t from 'tap'
import tls from 'node:tls'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent } from '../../src/agent/agent.js'
import { enroll, type AgentIdentity } from '../../src/agent/enrollment.js'
import { accountsAdd } from '../../src/cli/admin.js'
import { startOrigin, visit, tempDir, testLogger, type T } from '../helpers/servers.js'
import { spawnCli, type CliProcess, type LogLine } from '../helpers/processes.js'

interface RunningEdge { tunnelPort: number, publicHost: string, publicPort: number, ca: string, proc: CliProcess, stop: () => Promise<number | null> }

async function cliEdge (t: T, args: string[], env: Record<string, string> = {}, dir?: string): Promise<RunningEdge & { stateDir: string }> {
  const stateDir = dir ?? join(await tempDir(t), 'state')
  const p = spawnCli(t, ['edge', '--tunnel-listen', '127.0.0.1:0', '--state-dir', stateDir, '--log-level', 'info', ...args],
    { BURROW_HOME: await tempDir(t, 'burrow-home-'), ...env })
  const listening: LogLine = await p.waitForLog((l) => l.msg === 'edge listening', 15_000)
  const pub = listening.public as { host: string, port: number }
  return {
    stateDir,
    tunnelPort: (listening.tunnel as { port: number }).port,
    publicHost: pub.host,
    publicPort: pub.port,
    ca: await readFile(join(stateDir, 'ca.pem'), 'utf8'),
    proc: p,
    stop: async () => { p.child.kill('SIGTERM'); return (await p.waitForExit(8_000)).code },
  }
}

/** Runs the CLI to its end with a fresh BURROW_HOME plus `env`. */
async function run (t: T, args: string[], env: Record<string, string> = {}): Promise<CliProcess> {
  const p = spawnCli(t, args, { BURROW_HOME: await tempDir(t, 'burrow-home-'), ...env })
  await p.waitForExit(15_000)
  return p
}

/** `accounts add` on the state dir (in process, as the CLI command does) and an enrollment over the wire. */
async function enrolled (edge: RunningEdge & { stateDir: string }, account: string, zone: string): Promise<AgentIdentity> {
  const lines: string[] = []
  await accountsAdd(edge.stateDir, account, [{ zone, wildcard: false }], 60_000, { out: (l) => lines.push(l) })
  return await enroll({ host: '127.0.0.1', port: edge.tunnelPort, token: lines.at(-1)!, ca: edge.ca })
}

function agentFor (t: T, edge: RunningEdge, identity: AgentIdentity, hostname: string, origin: string): Agent {
  const agent = new Agent({
    edge: `127.0.0.1:${edge.tunnelPort}`,
    edgeCa: edge.ca,
    identity,
    hostnames: [hostname],
    origin,
    retryBaseMs: 50,
    retryMaxDelayMs: 500,
    logger: testLogger(),
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  return agent
}

/** A TLS handshake to the tunnel port as an agent dialling `servername` would make it; null when verified. */
async function handshake (port: number, ca: string, servername: string): Promise<string | null> {
  return await new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername, ALPNProtocols: ['burrow/1'], minVersion: 'TLSv1.3' })
    socket.once('secureConnect', () => { socket.destroy(); resolve(null) })
    socket.once('error', (err: NodeJS.ErrnoException) => { socket.destroy(); resolve(err.code ?? err.message) })
  })
}

t.test('--listen 0 picks a free loopback port; an enrolled agent is served through it', async (t) => {
  const edge = await cliEdge(t, ['--listen', '0'])
  t.equal(edge.publicHost, '127.0.0.1', 'a bare port listens on loopback')
  t.not(edge.publicPort, 0, 'on a real port')

  const origin = await startOrigin(t)
  const agent = agentFor(t, edge, await enrolled(edge, 'acme', 'acme.localhost'), 'app.acme.localhost', origin.url)
  await agent.start()
  t.same(agent.registeredHostnames(), ['app.acme.localhost'], 'the agent registered')
  const res = await visit(`http://127.0.0.1:${edge.publicPort}`, '/port-zero', { host: 'app.acme.localhost' })
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.text).url, '/port-zero')

  await agent.close({ gracePeriodMs: 0 })
  t.equal(await edge.stop(), 0, 'SIGTERM: exit 0')
})

t.test('tunnel names from --tunnel-name and BURROW_TUNNEL_NAMES; the CA and the accounts survive a restart (SPEC.md §1.3)', async (t) => {
  const edge = await cliEdge(t, ['--listen', '127.0.0.1:0', '--tunnel-name', 'tunnel.example.test'])
  t.equal(await handshake(edge.tunnelPort, edge.ca, 'tunnel.example.test'), null, 'an agent dialling tunnel.example.test verifies the edge')
  t.equal(await handshake(edge.tunnelPort, edge.ca, 'localhost'), null, 'localhost still verifies')
  t.equal(await handshake(edge.tunnelPort, edge.ca, 'other.example.test'), 'ERR_TLS_CERT_ALTNAME_INVALID', 'a name not configured is refused')
  const identity = await enrolled(edge, 'acme', 'acme.localhost')
  t.equal(await edge.stop(), 0)

  // The same state dir, names from the environment: the certificate is reissued by the same CA.
  const restarted = await cliEdge(t, ['--listen', '127.0.0.1:0'], {
    BURROW_TUNNEL_NAMES: 'edge-b.example.test,192.0.2.10',
  }, edge.stateDir)
  t.equal(restarted.ca, edge.ca, 'the CA survives the restart, so agents keep their certificates and ca.pem')
  t.equal(await handshake(restarted.tunnelPort, edge.ca, 'edge-b.example.test'), null, 'the name from BURROW_TUNNEL_NAMES verifies')
  const hint = await restarted.proc.waitForLog((l) => typeof l.accounts === 'number', 5_000)
  t.equal(hint.accounts, 1, 'the restarted edge knows the account')

  const origin = await startOrigin(t)
  const agent = agentFor(t, restarted, identity, 'app.acme.localhost', origin.url)
  await agent.start()
  t.same(agent.registeredHostnames(), ['app.acme.localhost'], 'a certificate issued before the restart still registers')
  await agent.close({ gracePeriodMs: 0 })
  t.equal(await restarted.stop(), 0)
})

t.test('--cert-lifetime and BURROW_CERT_LIFETIME set the lifetime of issued certificates (SPEC.md §4.2)', async (t) => {
  const DAY = 86_400_000
  for (const [label, args, env, days] of [
    ['--cert-lifetime 0.5', ['--cert-lifetime', '0.5'], {}, 0.5],
    ['BURROW_CERT_LIFETIME=2', [], { BURROW_CERT_LIFETIME: '2' }, 2],
    ['the default', [], {}, 7],
  ] as Array<[string, string[], Record<string, string>, number]>) {
    const edge = await cliEdge(t, ['--listen', '127.0.0.1:0', ...args], env)
    const before = Date.now()
    const identity = await enrolled(edge, 'acme', 'acme.localhost')
    // notAfter has whole seconds; notBefore is the issue time minus 60 s.
    const lifetime = identity.notAfterMs - identity.notBeforeMs - 60_000
    t.ok(Math.abs(lifetime - days * DAY) <= 2_000, `${label}: ${days} days (${lifetime} ms)`)
    t.ok(identity.notAfterMs >= before + days * DAY - 2_000 && identity.notAfterMs <= Date.now() + days * DAY + 1_000, `${label}: notAfter is ${days} days from now`)
    t.equal(await edge.stop(), 0)
  }

  const zero = await run(t, ['edge', '--cert-lifetime', '0', '--listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0'])
  t.equal((await zero.waitForExit()).code, 2, '--cert-lifetime 0 is a usage error')
  t.match(zero.stderr(), /expected a positive number of days/)
})

t.test('operator commands: --state-dir of burrow edge or BURROW_STATE_DIR, accounts list, --token-ttl', async (t) => {
  const dir = await tempDir(t)
  const viaParent = join(dir, 'parent')
  const viaEnv = join(dir, 'env')
  const [parent, env] = await Promise.all([
    run(t, ['edge', '--state-dir', viaParent, 'accounts', 'add', 'acme', '--zone', 'acme.localhost', '--wildcard']),
    run(t, ['edge', 'accounts', 'add', 'beta', '--zone', 'beta.localhost', '--token-ttl', '30m'], { BURROW_STATE_DIR: viaEnv }),
  ])
  t.equal((await parent.waitForExit()).code, 0, 'burrow edge --state-dir D accounts add: exit 0')
  t.match(parent.stdout(), /Created account acme with zones: acme\.localhost \(\+wildcards\)/)
  t.equal((await env.waitForExit()).code, 0, 'BURROW_STATE_DIR=D burrow edge accounts add: exit 0')

  const state = JSON.parse(await readFile(join(viaParent, 'identity.json'), 'utf8')) as { accounts: Record<string, { zones: unknown }> }
  t.same(state.accounts.acme?.zones, [{ zone: 'acme.localhost', wildcard: true }], 'the account landed in the state dir given to burrow edge')
  const envState = JSON.parse(await readFile(join(viaEnv, 'identity.json'), 'utf8')) as { tokens: Record<string, { createdAt: number, expiresAt: number }> }
  const [token] = Object.values(envState.tokens)
  t.equal(token!.expiresAt - token!.createdAt, 30 * 60_000, '--token-ttl 30m: the token expires 30 minutes after creation')

  const [table, json] = await Promise.all([
    run(t, ['edge', 'accounts', 'list', '--state-dir', viaParent]),
    run(t, ['edge', 'accounts', 'list', '--json'], { BURROW_STATE_DIR: viaEnv }),
  ])
  t.equal((await table.waitForExit()).code, 0)
  t.match(table.stdout(), /^ACCOUNT\s+ZONES\s+VALID CERTS\s+CREATED\nacme\s+acme\.localhost \(\+wildcards\)\s+0\s+\d{4}-/)
  t.equal((await json.waitForExit()).code, 0)
  t.same((JSON.parse(json.stdout()) as Array<{ name: string, validCertificates: number }>).map((a) => [a.name, a.validCertificates]), [['beta', 0]])
})

t.test('operator commands: bad input is a usage error (exit 2) with a message', async (t) => {
  const stateDir = join(await tempDir(t), 'state')
  const cases: Array<[string, string[], RegExp]> = [
    ['accounts add without --zone', ['edge', 'accounts', 'add', 'acme', '--state-dir', stateDir], /required option '--zone <zone>' not specified/],
    ['an invalid account name', ['edge', 'accounts', 'add', 'Bad_Name', '--zone', 'x.localhost', '--state-dir', stateDir], /invalid account name "Bad_Name"/],
    ['an invalid zone', ['edge', 'accounts', 'add', 'acme', '--zone', 'bad zone', '--state-dir', stateDir], /invalid zone "bad zone"/],
    ['a --token-ttl without unit', ['edge', 'accounts', 'add', 'acme', '--zone', 'x.localhost', '--token-ttl', '5', '--state-dir', stateDir], /expected a duration such as 30m, 24h or 7d/],
    ['a token for an unknown account', ['edge', 'accounts', 'token', 'nosuch', '--state-dir', stateDir], /no account named nosuch/],
    ['revoking an unknown serial or account', ['edge', 'certs', 'revoke', 'nosuch', '--state-dir', stateDir], /"nosuch" is neither a certificate serial nor an account/],
  ]
  const ran = await Promise.all(cases.map(async ([, args]) => await run(t, args)))
  for (const [i, [label, , message]] of cases.entries()) {
    const p = ran[i]!
    t.equal((await p.waitForExit()).code, 2, `${label}: exit 2`)
    t.match(p.stderr(), message, `${label}: says why`)
    t.notMatch(p.stdout(), /burrow1\./, `${label}: prints no token`)
  }
})
