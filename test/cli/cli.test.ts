/**
 * The `burrow` command as users run it: `node --import tsx src/cli/main.ts ...` as a child process,
 * each with BURROW_HOME in a temp dir. Checks help text, exit codes (SPEC.md §8.3: 0 ok, 2 usage,
 * 4 permanent rejection), that credentials are never printed (§10), the quick start with its embedded
 * edge, the demo and a standalone edge. The identity journey (accounts, login, revoke) is in
 * identity-cli.test.ts.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent } from '../../src/agent/agent.js'
import { enroll } from '../../src/agent/enrollment.js'
import { ensureCa } from '../../src/edge/pki.js'
import { saveLogin } from '../../src/cli/agent-home.js'
import { startOrigin, startEdge, visit, tempDir, testLogger, type T } from '../helpers/servers.js'
import { issueIdentity } from '../helpers/identity.js'
import { spawnCli, type CliProcess } from '../helpers/processes.js'

/** Spawns the CLI with a fresh BURROW_HOME. */
async function cli (t: T, args: string[]): Promise<CliProcess> {
  return spawnCli(t, args, { BURROW_HOME: await tempDir(t, 'burrow-home-') })
}

/**
 * The "Options:" section of a help text as one entry per option, continuation lines joined and
 * whitespace collapsed (commander wraps at 80 columns).
 */
function optionEntries (help: string): Map<string, string> {
  const section = help.split(/\nOptions:\n/)[1]?.split(/\n\n/)[0] ?? ''
  const entries = new Map<string, string>()
  let current: string | undefined
  for (const line of section.split('\n')) {
    const start = /^ {2}(?:-\w, )?(--[\w-]+)/.exec(line)
    if (start !== null) {
      current = start[1]!
      entries.set(current, line.trim())
    } else if (current !== undefined) {
      entries.set(current, `${entries.get(current)!} ${line.trim()}`)
    }
  }
  for (const [k, v] of entries) entries.set(k, v.replace(/\s+/g, ' '))
  return entries
}

t.test('--help exits 0 and documents the options, their env vars and defaults, and the exit codes', async (t) => {
  const p = await cli(t, ['--help'])
  const exit = await p.waitForExit()
  t.equal(exit.code, 0)
  const help = p.stdout()
  const options = optionEntries(help)
  // Every option can also be set from the environment (except --label, which has no variable, and
  // the built-in --help/--version).
  for (const [name, text] of options) {
    if (name === '--help' || name === '--version' || name === '--label') continue
    t.match(text, /env: BURROW_[A-Z_]+/, `${name} names its env var`)
  }
  t.match(options.get('--hostname'), /env: BURROW_HOSTNAME/)
  t.match(options.get('--edge'), /env: BURROW_EDGE\b/)
  t.match(options.get('--edge'), /burrow login/, '--edge says it defaults to the edge of burrow login')
  t.match(options.get('--edge-ca'), /env: BURROW_EDGE_CA\b/)
  t.notOk(options.has('--token'), 'the agent takes no token: identity is the certificate of burrow login')
  const defaults: Record<string, string> = {
    '--origin-timeout': '30000',
    '--grace-period': '30000',
    '--retry-max-delay': '30000',
    '--listen': '127.0.0.1:8080',
    '--state-dir': '~/.burrow/edge',
    '--home': '~/.burrow',
    '--log-level': '"info"',
  }
  for (const [name, value] of Object.entries(defaults)) {
    t.ok(options.get(name)?.includes(`default: ${value}`), `${name} documents its default ${value}`)
  }
  t.match(help, /Exit codes:/)
  for (const code of ['0', '1', '2', '4', '130']) t.match(help, new RegExp(`\\n\\s+${code}\\s+\\S`), `exit code ${code} is explained`)
  t.match(help, /143 for SIGTERM/)
  t.match(help, /burrow login --edge \S+ --token burrow1\./, 'the examples show burrow login')
  for (const command of ['login', 'edge', 'demo']) t.match(help, new RegExp(`\\n {2}${command} \\[options\\]`), `the ${command} command is listed`)
})

t.test('login --help documents its options, env vars, the default home and the exit codes', async (t) => {
  const p = await cli(t, ['login', '--help'])
  t.equal((await p.waitForExit()).code, 0)
  const options = optionEntries(p.stdout())
  t.match(options.get('--edge'), /env: BURROW_EDGE\b/)
  t.match(options.get('--token'), /env: BURROW_ENROLLMENT_TOKEN\b/)
  t.match(options.get('--edge-ca'), /env: BURROW_EDGE_CA\b/)
  t.match(options.get('--home'), /default: ~\/\.burrow, env: BURROW_HOME/)
  t.ok(options.has('--force'), '--force is documented')
  t.match(p.stdout(), /Exit codes:/)
})

t.test('login without --token or --edge is a usage error: exit 2', async (t) => {
  const [noToken, noEdge, badEdge] = await Promise.all([
    cli(t, ['login', '--edge', '127.0.0.1:7844']),
    cli(t, ['login', '--token', 'burrow1.x']),
    cli(t, ['login', '--edge', 'not-an-address', '--token', 'burrow1.x']),
  ])
  t.equal((await noToken.waitForExit()).code, 2)
  t.match(noToken.stderr(), /required option '--token <token>' not specified/)
  t.equal((await noEdge.waitForExit()).code, 2)
  t.match(noEdge.stderr(), /required option '--edge <host:port>' not specified/)
  t.equal((await badEdge.waitForExit()).code, 2, 'an --edge that is not host:port is a usage error too')
  t.match(badEdge.stderr(), /expected host:port/)
  t.notMatch(badEdge.stderr(), /\n\s+at /, 'with a message, not a stack trace')
})

t.test('edge --help exits 0 and documents the edge options, env vars and defaults', async (t) => {
  const p = await cli(t, ['edge', '--help'])
  t.equal((await p.waitForExit()).code, 0)
  const help = p.stdout()
  const options = optionEntries(help)
  for (const [name, text] of options) {
    if (name === '--help') continue
    t.match(text, /env: BURROW_[A-Z_]+/, `${name} names its env var`)
  }
  t.match(options.get('--tunnel-listen'), /default: 127\.0\.0\.1:7844/)
  t.match(options.get('--listen'), /default: 127\.0\.0\.1:8080/)
  t.match(options.get('--cert-lifetime'), /default: 7, env: BURROW_CERT_LIFETIME/)
  t.notOk(options.has('--token') || options.has('--token-file'), 'the edge takes no bearer tokens')
  t.match(options.get('--drain-timeout'), /default: 10000/)
  t.match(help, /Exit codes:/)
  t.match(help, /\n {2}accounts\s/, 'the accounts command is listed')
  t.match(help, /\n {2}certs\s/, 'the certs command is listed')
  t.match(help, /burrow edge accounts add acme --zone/, 'the example shows how to add an account')
})

t.test('edge accounts add --help: --zone, --wildcard, --token-ttl (24h) and --state-dir (BURROW_STATE_DIR)', async (t) => {
  const p = await cli(t, ['edge', 'accounts', 'add', '--help'])
  t.equal((await p.waitForExit()).code, 0)
  const options = optionEntries(p.stdout())
  t.ok(options.has('--zone') && options.has('--wildcard'), '--zone and --wildcard are documented')
  t.match(options.get('--token-ttl'), /default: 24h/)
  t.match(options.get('--state-dir'), /env: BURROW_STATE_DIR/)
  t.match(p.stdout(), /last line/, 'says the token is printed as the last line')
})

t.test('an unknown option is a usage error: exit 2', async (t) => {
  const p = await cli(t, ['--no-such-option', 'http://127.0.0.1:1'])
  t.equal((await p.waitForExit()).code, 2)
  t.match(p.stderr(), /unknown option '--no-such-option'/)
})

t.test('an invalid hostname is a usage error with a clear message: exit 2', async (t) => {
  const p = await cli(t, ['--hostname', 'bad host', 'http://127.0.0.1:1'])
  t.equal((await p.waitForExit()).code, 2)
  t.match(p.stderr(), /"bad host" is not a valid hostname/)
})

t.test('a non-http origin URL is a usage error: exit 2', async (t) => {
  const p = await cli(t, ['ftp://example.com/'])
  t.equal((await p.waitForExit()).code, 2)
  t.match(p.stderr(), /the origin must be an http:\/\/ or https:\/\/ URL/)
})

t.test('--edge without --hostname is a usage error: exit 2', async (t) => {
  const p = await cli(t, ['--edge', '127.0.0.1:7844', 'http://127.0.0.1:1'])
  t.equal((await p.waitForExit()).code, 2)
  t.match(p.stderr(), /--hostname is required with a remote edge/)
})

t.test('login with an unknown token: exit 4, BURROW_ERR_ENROLLMENT_INVALID, nothing saved, the token never printed (SPEC.md §4.6, §10)', async (t) => {
  const edge = await startEdge(t)
  const home = await tempDir(t, 'burrow-home-')
  // Well formed and pinning this edge's CA, so the edge is verified and answers: but no such token.
  const secret = randomBytes(32).toString('base64url')
  const token = `burrow1.${randomBytes(9).toString('base64url')}.${secret}.${edge.edge.caFingerprint}`
  const p = spawnCli(t, ['login', '--edge', edge.tunnel, '--token', token], { BURROW_HOME: home })
  const exit = await p.waitForExit(15_000)
  t.equal(exit.code, 4, 'a rejected enrollment exits 4')
  t.match(p.stderr(), /burrow: login failed: BURROW_ERR_ENROLLMENT_INVALID/, 'stderr names the code')
  t.notOk((p.stdout() + p.stderr()).includes(secret), 'the token secret does not appear in the output')
  await t.rejects(stat(join(home, 'login.json')), 'no login is saved')
  await t.rejects(stat(join(home, 'key.pem')), 'no key is left behind')
  t.equal(edge.edge.identity.certificates().length, 0, 'the edge issued no certificate')
})

t.test('an agent whose saved certificate expired: exit 4, BURROW_ERR_CERT_EXPIRED, the key never printed (SPEC.md §4.1, §8.2)', async (t) => {
  const edge = await startEdge(t)
  const origin = await startOrigin(t)
  const home = await tempDir(t, 'burrow-home-')
  // A certificate of this edge's CA that expired an hour ago, saved as burrow login would.
  const identity = await issueIdentity(await ensureCa(edge.stateDir), { lifetimeMs: 3_600_000, now: Date.now() - 7_200_000 })
  await saveLogin(home, { edge: edge.tunnel, identity })
  const p = spawnCli(t, ['--hostname', 'app.localhost', '--log-level', 'info', origin.url], { BURROW_HOME: home })
  const exit = await p.waitForExit(15_000)
  t.equal(exit.code, 4, 'a permanent rejection exits 4')
  const output = p.stdout() + p.stderr()
  t.match(p.stderr(), /BURROW_ERR_CERT_EXPIRED/, 'stderr names the code')
  t.ok(p.logs.some((l) => l.code === 'BURROW_ERR_CERT_EXPIRED'), 'a JSON log line carries code BURROW_ERR_CERT_EXPIRED')
  const keyLines = identity.keyPem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'))
  t.notOk(keyLines.some((l) => output.includes(l)), 'the private key does not appear in the output')
  t.equal(edge.edge.connectionCount, 0, 'the edge closed the rejected connection')
  t.equal(origin.received.length, 0)
})

t.test('quick start: an embedded edge prints the public URL and serves the origin', async (t) => {
  const origin = await startOrigin(t)
  const home = await tempDir(t, 'burrow-home-')
  const p = spawnCli(t, ['--listen', '127.0.0.1:0', '--hostname', 'app.localhost', origin.url], { BURROW_HOME: home })
  const banner = await p.waitForStderr(/Burrow tunnel ready: http:\/\/app\.localhost:(\d+)\/ +-> +(\S+)/, 15_000)
  const port = Number(banner[1])
  t.ok(port > 0, `the banner names the public port (${port})`)
  t.equal(banner[2], origin.url, 'and the origin')
  const ready = await p.waitForLog((l) => l.msg === 'tunnel ready', 5_000)
  t.same(ready.urls, [`http://app.localhost:${port}/`], "the 'tunnel ready' JSON line carries the URLs")

  const res = await visit(`http://127.0.0.1:${port}`, '/quick?start=1')
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.text).url, '/quick?start=1')
  t.equal(origin.received.length, 1, 'the request reached the origin')
  t.equal(origin.received[0]!.headers['burrow-request-id'], res.headers['burrow-request-id'], 'with the request id the visitor got')
  t.ok((await stat(join(home, 'edge', 'ca.pem'))).isFile(), 'the embedded edge keeps its CA under BURROW_HOME')
  const state = JSON.parse(await readFile(join(home, 'edge', 'identity.json'), 'utf8')) as { accounts: Record<string, { zones: unknown }> }
  t.same(state.accounts.local?.zones, [{ zone: 'app.localhost', wildcard: false }], "the embedded edge enrolled the agent as account 'local' with the hostname as its zone")
  await t.rejects(stat(join(home, 'login.json')), 'the quick start needs no burrow login and saves none')

  p.child.kill('SIGTERM')
  t.equal((await p.waitForExit(8_000)).code, 0, 'SIGTERM shuts down gracefully with exit 0')
})

t.test('demo serves the demo page with the request id', async (t) => {
  const p = await cli(t, ['demo', '--listen', '127.0.0.1:0'])
  const banner = await p.waitForStderr(/Burrow tunnel ready: http:\/\/hello\.localhost:(\d+)\//, 15_000)
  const port = Number(banner[1])
  const res = await visit(`http://127.0.0.1:${port}`, '/', { host: 'hello.localhost', headers: { accept: 'text/html' } })
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.text, 'Hello through the Burrow tunnel')
  const id = res.headers['burrow-request-id'] as string
  t.match(id, /^[0-9a-f]{32}$/)
  t.ok(res.text.includes(`Request id: <code>${id}</code>`), 'the page shows the request id the visitor got')
})

t.test('edge on a fresh state dir: private CA files, a hint to add an account, and an account added while it runs can enroll', async (t) => {
  const stateDir = join(await tempDir(t), 'state')
  const env = { BURROW_HOME: await tempDir(t, 'burrow-home-') }
  const p = spawnCli(t, ['edge', '--listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0', '--state-dir', stateDir, '--log-level', 'info'], env)
  const listening = await p.waitForLog((l) => l.msg === 'edge listening', 15_000)
  const hint = await p.waitForLog((l) => /burrow edge accounts add/.test(l.msg ?? ''), 5_000)
  t.equal(hint.accounts, 0, 'with no account yet the edge says how to create one')
  t.equal(hint.ca, join(stateDir, 'ca.pem'), 'and where its CA is')
  t.equal(((await stat(stateDir)).mode & 0o777).toString(8), '700', 'the state dir is 0700')
  for (const file of ['ca.pem', 'ca-key.pem', 'edge.pem', 'edge-key.pem']) {
    t.equal(((await stat(join(stateDir, file))).mode & 0o777).toString(8), '600', `${file} is 0600`)
  }

  // The operator adds an account while the edge runs; the edge picks the token up from the state dir.
  const added = spawnCli(t, ['edge', 'accounts', 'add', 'acme', '--zone', 'acme.localhost', '--state-dir', stateDir], env)
  t.equal((await added.waitForExit(15_000)).code, 0)
  const token = added.stdout().trimEnd().split('\n').at(-1)!
  t.notOk((p.stdout() + p.stderr()).includes(token.split('.')[2]!), 'the token secret is not logged by the edge')

  const tunnelPort = (listening.tunnel as { port: number }).port
  const publicPort = (listening.public as { port: number }).port
  const identity = await enroll({ host: '127.0.0.1', port: tunnelPort, token })
  t.equal(identity.account, 'acme', 'an agent enrolls with the token')
  const origin = await startOrigin(t)
  const agent = new Agent({
    edge: `127.0.0.1:${tunnelPort}`,
    identity,
    hostnames: ['api.acme.localhost'],
    origin: origin.url,
    retryBaseMs: 50,
    retryMaxDelayMs: 500,
    logger: testLogger(),
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  await agent.start()
  t.same(agent.registeredHostnames(), ['api.acme.localhost'], 'and registers a hostname in its zone')
  const res = await visit(`http://127.0.0.1:${publicPort}`, '/via-cli-edge', { host: 'api.acme.localhost' })
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.text).url, '/via-cli-edge')

  await agent.close({ gracePeriodMs: 0 })
  p.child.kill('SIGTERM')
  t.equal((await p.waitForExit(8_000)).code, 0, 'SIGTERM stops the edge with exit 0')
})
