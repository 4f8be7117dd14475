/**
 * The edge shield from the command line (SPEC.md §11, README "Edge policies"), as real `burrow`
 * child processes: `burrow edge --config` refusing an invalid file with file:line:col and the key,
 * `burrow edge hash-password` and `burrow edge hash-token` printing hashes the edge's auth accepts,
 * and a running `burrow edge --config` reloading on SIGHUP (a visitor sees the new policy) while an
 * invalid edit keeps the last good file.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent } from '../../src/agent/agent.js'
import { enroll } from '../../src/agent/enrollment.js'
import { accountsAdd } from '../../src/cli/admin.js'
import { verifyPassword } from '../../src/edge/shield/auth.js'
import { startAgent, startEdge, startOrigin, tempDir, testLogger, visit, type T } from '../helpers/servers.js'
import { CLI_ENTRY, ROOT, cliEnv, spawnCli, type CliProcess } from '../helpers/processes.js'

interface Ran { code: number | null, stdout: string, stderr: string }

/** Runs the CLI to its end with `input` on standard input (spawnCli gives the child no stdin). */
async function runWithInput (t: T, args: string[], input: string): Promise<Ran> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], {
    cwd: ROOT,
    env: cliEnv({ BURROW_HOME: await tempDir(t, 'burrow-home-') }),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c })
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c })
  child.stdin.end(input)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      once(child, 'close'),
      new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`burrow ${args.join(' ')} did not exit within 15 s\n${stderr}`)), 15_000) }),
    ])
  } finally {
    clearTimeout(timer)
  }
  return { code: child.exitCode, stdout, stderr }
}

/** Runs the CLI to its end without standard input. */
async function run (t: T, args: string[]): Promise<CliProcess> {
  const p = spawnCli(t, args, { BURROW_HOME: await tempDir(t, 'burrow-home-') })
  await p.waitForExit(15_000)
  return p
}

t.test('§11 burrow edge --config with an invalid file exits 1 before listening; stderr names file:line:col and the key of each problem', async (t) => {
  const dir = await tempDir(t)
  const bad = join(dir, 'bad.yaml')
  await writeFile(bad, [
    'defaults:',
    '  rateLimit: { requestsPerSecond: 5, burst: 5 }',
    'hosts:',
    '  app.localhost:',
    '    alow: { methods: [GET] }',
    '    maxBodyBytes: -3',
    '',
  ].join('\n'))
  const p = await run(t, ['edge', '--config', bad, '--listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0', '--state-dir', join(dir, 'state')])
  const exit = await p.waitForExit()
  t.equal(exit.code, 1, 'exit 1')
  const stderr = p.stderr()
  t.match(stderr, `${bad}:5:5: hosts["app.localhost"].alow: unknown key`, 'the unknown key, with its line and column')
  t.match(stderr, /expected one of: allow, /, 'and the keys that are allowed there')
  t.match(stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:6:\\d+: hosts\\["app\\.localhost"\\]\\.maxBodyBytes: `), 'the bad value, with its line')
  t.notOk(p.logs.some((l) => l.msg === 'edge listening'), 'the edge never listened')

  const syntax = join(dir, 'syntax.yaml')
  await writeFile(syntax, 'hosts:\n  app.localhost: { allow: [\n')
  const q = await run(t, ['edge', '--config', syntax, '--listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0', '--state-dir', join(dir, 'state')])
  t.equal((await q.waitForExit()).code, 1, 'a YAML syntax error: exit 1')
  t.match(q.stderr(), new RegExp(`${syntax.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: `), 'with file:line:col')

  const missing = await run(t, ['edge', '--config', join(dir, 'nope.yaml'), '--listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0', '--state-dir', join(dir, 'state')])
  t.equal((await missing.waitForExit()).code, 1, 'a missing file: exit 1')
  t.match(missing.stderr(), `${join(dir, 'nope.yaml')}: cannot read the file`)
})

t.test('§11.4 burrow edge hash-password and hash-token print hashes that the edge accepts', async (t) => {
  const hashed = await runWithInput(t, ['edge', 'hash-password'], 'pw')
  t.equal(hashed.code, 0, 'echo -n pw | burrow edge hash-password: exit 0')
  t.match(hashed.stdout, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+\n$/, 'one line: a scrypt$ hash')
  const hash = hashed.stdout.trim()
  t.ok(await verifyPassword('pw', hash), 'it verifies the password')
  t.notOk(await verifyPassword('pw2', hash), 'and no other')

  const withNewline = await runWithInput(t, ['edge', 'hash-password'], 'pw\n')
  t.equal(withNewline.code, 0)
  t.ok(await verifyPassword('pw', withNewline.stdout.trim()), 'echo pw (with its newline) hashes the same password')
  t.not(withNewline.stdout.trim(), hash, 'with a fresh salt')

  const empty = await run(t, ['edge', 'hash-password'])
  t.equal((await empty.waitForExit()).code, 2, 'no password on standard input: usage error')
  t.match(empty.stderr(), /no password on standard input/)

  const token = await run(t, ['edge', 'hash-token', 'T'])
  t.equal((await token.waitForExit()).code, 0)
  const digest = 'sha256:' + createHash('sha256').update('T').digest('hex')
  t.equal(token.stdout(), digest + '\n', 'burrow edge hash-token T prints sha256:<hex of T>')

  // Both in a policy file of a real edge.
  const dir = await tempDir(t)
  const file = join(dir, 'edge.yaml')
  await writeFile(file, `
hosts:
  app.localhost:
    auth: { basic: { alice: "${hash}" } }
  tok.localhost:
    auth: { bearer: ["${digest}"] }
`)
  const origin = await startOrigin(t)
  const edge = await startEdge(t, { config: file })
  await startAgent(t, edge, origin, { hostnames: ['app.localhost', 'tok.localhost'] })
  const basic = (pw: string): string => 'Basic ' + Buffer.from(`alice:${pw}`).toString('base64')
  const [goodPw, badPw, goodToken, badToken] = await Promise.all([
    visit(edge.base, '/pw', { headers: { authorization: basic('pw') } }),
    visit(edge.base, '/pw-bad', { headers: { authorization: basic('pw2') } }),
    visit(edge.base, '/token', { host: 'tok.localhost', headers: { authorization: 'Bearer T' } }),
    visit(edge.base, '/token-bad', { host: 'tok.localhost', headers: { authorization: 'Bearer U' } }),
  ])
  t.equal(goodPw.status, 200, 'the password behind the printed hash passes Basic auth')
  t.equal(badPw.status, 401)
  t.equal(goodToken.status, 200, 'the token behind the printed digest passes bearer auth')
  t.equal(badToken.status, 401)
  t.same(origin.received.map((r) => `${r.url} ${String(r.headers['burrow-auth-identity'])}`).sort(), ['/pw alice', `/token bearer:${digest.slice(7, 23)}`],
    'the origin saw only the authenticated requests, with their identities')
})

t.test('§11 a running burrow edge --config reloads on SIGHUP (a visitor sees the new policy) and keeps the last good file on an invalid edit', async (t) => {
  // The config path is a symlink into another directory: the edge's file watcher (on the link's
  // directory) does not see edits of the target, so only SIGHUP can make the edge re-read it.
  const dir = await tempDir(t)
  const targetDir = join(dir, 'target')
  await mkdir(targetDir)
  const real = join(targetDir, 'edge.yaml')
  const link = join(dir, 'edge.yaml')
  const policy = (prefix: string): string => `hosts:\n  app.localhost:\n    allow: { paths: ["/${prefix}/*"] }\n`
  const replaceReal = async (text: string): Promise<void> => {
    await writeFile(`${real}.tmp`, text)
    await rename(`${real}.tmp`, real)
  }
  await writeFile(real, policy('v1'))
  await symlink(real, link)

  const stateDir = join(dir, 'state')
  const p = spawnCli(t, ['edge', '--config', link, '--listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0', '--state-dir', stateDir, '--log-level', 'info'],
    { BURROW_HOME: await tempDir(t, 'burrow-home-') })
  const listening = await p.waitForLog((l) => l.msg === 'edge listening', 15_000)
  // The SIGHUP handler is installed right after this line (before it, SIGHUP would end the process).
  await p.waitForLog((l) => typeof l.accounts === 'number', 5_000)
  const base = `http://127.0.0.1:${(listening.public as { port: number }).port}`
  const tunnelPort = (listening.tunnel as { port: number }).port

  const lines: string[] = []
  await accountsAdd(stateDir, 'test', [{ zone: 'localhost', wildcard: false }], 60_000, { out: (l) => lines.push(l) })
  const ca = await readFile(join(stateDir, 'ca.pem'), 'utf8')
  const identity = await enroll({ host: '127.0.0.1', port: tunnelPort, token: lines.at(-1)!, ca })
  const origin = await startOrigin(t)
  const agent = new Agent({ edge: `127.0.0.1:${tunnelPort}`, edgeCa: ca, identity, hostnames: ['app.localhost'], origin: origin.url, retryBaseMs: 50, retryMaxDelayMs: 500, logger: testLogger() })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  await agent.start()

  t.equal((await visit(base, '/v1/a')).status, 200, 'v1 allows /v1/')
  t.equal((await visit(base, '/v2/a')).status, 403, 'v1 refuses /v2/')

  await replaceReal(policy('v2'))
  t.equal((await visit(base, '/v2/before-hup')).status, 403, 'the edited file is not in force before SIGHUP')
  p.child.kill('SIGHUP')
  const hup = await p.waitForLog((l) => l.msg === 'policies reloaded on SIGHUP', 5_000)
  t.equal(hup.ok, true)
  t.equal((await visit(base, '/v2/b')).status, 200, 'after SIGHUP a visitor sees the new policy')
  t.equal((await visit(base, '/v1/b')).status, 403)

  await replaceReal('hosts:\n  app.localhost:\n    allow: { paths: ["no-leading-slash"] }\n')
  p.child.kill('SIGHUP')
  const kept = await p.waitForLog((l) => l.msg === 'SIGHUP: policy file unchanged or invalid; previous policies kept', 5_000)
  t.equal(kept.ok, false)
  const failed = await p.waitForLog((l) => l.msg === 'config reload failed; keeping the previous policies', 5_000)
  t.equal(failed.level, 50, 'the reason is logged at error level')
  t.match(String(failed.err), /edge\.yaml:3:\d+: hosts\["app\.localhost"\]\.allow\.paths\[0\]: /, 'naming file:line:col and the key')
  t.equal((await visit(base, '/v2/c')).status, 200, 'the last good policy stays in force')
  t.equal((await visit(base, '/v1/c')).status, 403)
  t.equal(p.exitedAt, undefined, 'the edge keeps running')

  t.same(origin.received.map((r) => r.url), ['/v1/a', '/v2/b', '/v2/c'], 'the origin received exactly what the policy in force allowed')
  await agent.close({ gracePeriodMs: 0 })
  p.child.kill('SIGTERM')
  t.equal((await p.waitForExit(8_000)).code, 0, 'SIGTERM: exit 0')
})
