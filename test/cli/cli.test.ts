/**
 * The `burrow` command as users run it: `node --import tsx src/cli/main.ts ...` as a child process,
 * each with BURROW_HOME in a temp dir. Checks help text, exit codes (SPEC.md §8.3: 0 ok, 2 usage,
 * 4 permanent rejection), token redaction (§10), the quick start, the demo and a standalone edge.
 */
import t from 'tap'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent } from '../../src/agent/agent.js'
import { startOrigin, startEdge, visit, tempDir, testLogger, type T } from '../helpers/servers.js'
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
  t.match(options.get('--token'), /env: BURROW_TOKEN\b/)
  const defaults: Record<string, string> = {
    '--origin-timeout': '30000',
    '--grace-period': '30000',
    '--retry-max-delay': '30000',
    '--listen': '127.0.0.1:8080',
    '--state-dir': '~/.burrow/edge',
    '--edge-ca': '~/.burrow/edge/ca.pem',
    '--log-level': '"info"',
  }
  for (const [name, value] of Object.entries(defaults)) {
    t.ok(options.get(name)?.includes(`default: ${value}`), `${name} documents its default ${value}`)
  }
  t.match(help, /Exit codes:/)
  for (const code of ['0', '1', '2', '4', '130']) t.match(help, new RegExp(`\\n\\s+${code}\\s+\\S`), `exit code ${code} is explained`)
  t.match(help, /143 for SIGTERM/)
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
  t.match(options.get('--token'), /env: BURROW_TOKENS/)
  t.match(options.get('--drain-timeout'), /default: 10000/)
  t.match(help, /Exit codes:/)
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

t.test('--edge without --token is a usage error: exit 2', async (t) => {
  const p = await cli(t, ['--edge', '127.0.0.1:7844', '--hostname', 'app.localhost', 'http://127.0.0.1:1'])
  t.equal((await p.waitForExit()).code, 2)
  t.match(p.stderr(), /--token \(or BURROW_TOKEN\) is required with --edge/)
})

t.test('a wrong token: exit 4, BURROW_ERR_AUTH_FAILED is named, the token never printed (SPEC.md §8.2, §10)', async (t) => {
  const edge = await startEdge(t)
  const origin = await startOrigin(t)
  const secret = 'wrong-token-S3CRET-7f3a9c'
  const p = await cli(t, ['--edge', edge.tunnel, '--edge-ca', edge.edge.caPath, '--token', secret,
    '--hostname', 'app.localhost', '--log-level', 'info', origin.url])
  const exit = await p.waitForExit(15_000)
  t.equal(exit.code, 4, 'a permanent rejection exits 4')
  const output = p.stdout() + p.stderr()
  t.match(output, /BURROW_ERR_AUTH_FAILED/, 'the output names the error code')
  t.ok(p.logs.some((l) => l.code === 'BURROW_ERR_AUTH_FAILED'), 'a JSON log line carries code BURROW_ERR_AUTH_FAILED')
  t.match(p.stderr(), /burrow: registration rejected/, 'stderr says what happened')
  t.notOk(output.includes(secret), 'the token does not appear anywhere in the output')
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

t.test('edge without a token generates <state-dir>/token (0600) and an agent registers with it', async (t) => {
  const stateDir = join(await tempDir(t), 'state')
  const p = await cli(t, ['edge', '--listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0', '--state-dir', stateDir, '--log-level', 'info'])
  const listening = await p.waitForLog((l) => l.msg === 'edge listening', 15_000)
  const generated = await p.waitForLog((l) => /generated/.test(l.msg ?? ''), 5_000)
  const tokenPath = join(stateDir, 'token')
  t.equal(generated.path, tokenPath, 'the log says where the token is')
  const mode = (await stat(tokenPath)).mode & 0o777
  t.equal(mode.toString(8), '600', 'the token file is private to the user')
  const token = (await readFile(tokenPath, 'utf8')).trim()
  t.ok(token.length >= 24, 'a long random token')
  t.notOk(p.stdout().includes(token) || p.stderr().includes(token), 'the token itself is not logged')

  const tunnelPort = (listening.tunnel as { port: number }).port
  const publicPort = (listening.public as { port: number }).port
  const origin = await startOrigin(t)
  const agent = new Agent({
    edge: `127.0.0.1:${tunnelPort}`,
    edgeCa: await readFile(join(stateDir, 'ca.pem')),
    token,
    hostnames: ['app.localhost'],
    origin: origin.url,
    retryBaseMs: 50,
    retryMaxDelayMs: 500,
    logger: testLogger(),
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  await agent.start()
  t.same(agent.registeredHostnames(), ['app.localhost'], 'the agent registered with the generated token')
  const res = await visit(`http://127.0.0.1:${publicPort}`, '/via-cli-edge')
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.text).url, '/via-cli-edge')

  await agent.close({ gracePeriodMs: 0 })
  p.child.kill('SIGTERM')
  t.equal((await p.waitForExit(8_000)).code, 0, 'SIGTERM stops the edge with exit 0')
})
