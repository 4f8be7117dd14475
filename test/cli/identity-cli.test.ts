/**
 * Certificate identity through the real `burrow` CLI (SPEC.md §4): an operator creates an account
 * with `burrow edge accounts add` on the edge's state dir, a user runs `burrow login` with the token
 * against a running `burrow edge` process, then `burrow --hostname …` registers over mutual TLS with
 * no token at all; `burrow edge certs revoke` ends the running agent. Real child processes, real files.
 */
import t from 'tap'
import { createHash, randomBytes, X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { startOrigin, visit, tempDir, type T } from '../helpers/servers.js'
import { spawnCli, type CliProcess, type Exit, type LogLine } from '../helpers/processes.js'

const ZONE = 'acme.localhost'
const HOSTNAME = 'app.acme.localhost'

interface Ran { exit: Exit, stdout: string, stderr: string, proc: CliProcess }

/** Runs the CLI to its end with `env` (which always sets BURROW_HOME). */
async function run (t: T, args: string[], env: Record<string, string>): Promise<Ran> {
  const proc = spawnCli(t, args, env)
  const exit = await proc.waitForExit(20_000)
  return { exit, stdout: proc.stdout(), stderr: proc.stderr(), proc }
}

/** The last non-empty line of stdout: where `accounts add` and `accounts token` print the token. */
function lastLine (out: string): string {
  return out.trimEnd().split('\n').at(-1) ?? ''
}

async function mode (path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8)
}

/** The base64 lines of a PEM body: none of them may appear in any output. */
function pemBodyLines (pem: string): string[] {
  return pem.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('-----'))
}

interface CertRow { serial: string, account: string, status: string }

async function certsList (t: T, stateDir: string, env: Record<string, string>): Promise<CertRow[]> {
  const r = await run(t, ['edge', 'certs', 'list', '--json', '--state-dir', stateDir], env)
  if (r.exit.code !== 0) throw new Error(`certs list failed: ${r.stderr}`)
  return JSON.parse(lastLine(r.stdout)) as CertRow[]
}

t.test('operator and agent journey: accounts add, login, mTLS agent, revoke (SPEC.md §4)', async (journey) => {
  const dir = await tempDir(journey, 'burrow-identity-')
  const stateDir = join(dir, 'edge-state')
  const home = join(dir, 'agent-home')
  // Every process gets a BURROW_HOME in the temp dir, so nothing touches ~/.burrow.
  const env = { BURROW_HOME: home }
  const opEnv = { BURROW_HOME: join(dir, 'operator-home') }

  /** login and agent processes: none of them may print a token or a private key (§10). */
  const watched: CliProcess[] = []
  const tokens: string[] = []
  const keys: string[] = []
  let edgeProc: CliProcess | undefined
  let tunnelPort = 0
  let publicPort = 0
  let firstSerial = ''

  await journey.test('§4.6 accounts add with no edge running: token on the last line, state files private, secret stored hashed', async (t) => {
    const added = await run(t, ['edge', 'accounts', 'add', 'acme', '--zone', ZONE, '--state-dir', stateDir], opEnv)
    t.equal(added.exit.code, 0, 'exit 0')
    const token = lastLine(added.stdout)
    t.match(token, /^burrow1\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/, 'the last line of stdout is a burrow1 token')
    tokens.push(token)
    const [, id, secret, cafp] = token.split('.') as [string, string, string, string]

    const caPem = await readFile(join(stateDir, 'ca.pem'), 'utf8')
    t.equal(cafp, createHash('sha256').update(new X509Certificate(caPem).raw).digest('base64url'), 'the token pins the SHA-256 of the CA certificate')
    t.equal(await mode(join(stateDir, 'identity.json')), '600', 'identity.json is 0600')
    t.equal(await mode(join(stateDir, 'ca-key.pem')), '600', 'ca-key.pem is 0600')
    const identity = await readFile(join(stateDir, 'identity.json'), 'utf8')
    t.notOk(identity.includes(secret), 'identity.json does not contain the token secret')
    const stored = (JSON.parse(identity) as { tokens: Record<string, { account: string, secretSha256: string }> }).tokens[id]
    t.equal(stored?.account, 'acme', 'the token is stored under its id for the account')
    t.equal(stored?.secretSha256, createHash('sha256').update(secret).digest('hex'), 'as the SHA-256 of the secret')

    const [again, overlap] = await Promise.all([
      run(t, ['edge', 'accounts', 'add', 'acme', '--zone', 'other.localhost', '--state-dir', stateDir], opEnv),
      run(t, ['edge', 'accounts', 'add', 'intruder', '--zone', `app.${ZONE}`, '--state-dir', stateDir], opEnv),
    ])
    t.equal(again.exit.code, 2, 'a second accounts add acme: exit 2')
    t.match(again.stderr, /account acme already exists/, 'with a clear message')
    t.match(again.stderr, /burrow edge accounts token acme/, 'that says how to get another token')
    t.equal(overlap.exit.code, 2, 'a zone inside another account\'s zone: exit 2')
    t.match(overlap.stderr, /app\.acme\.localhost overlaps zone acme\.localhost of account acme/)
    t.notOk(overlap.stdout.includes('burrow1.'), 'and no token is printed')
  })

  await journey.test('§4.5 login pinned by the token against a running burrow edge; --force; a used token is refused', async (t) => {
    edgeProc = spawnCli(journey, ['edge', '--listen', '127.0.0.1:0', '--tunnel-listen', '127.0.0.1:0', '--state-dir', stateDir, '--log-level', 'info'], opEnv)
    const listening: LogLine = await edgeProc.waitForLog((l) => l.msg === 'edge listening', 15_000)
    tunnelPort = (listening.tunnel as { port: number }).port
    publicPort = (listening.public as { port: number }).port
    const edgeAddr = `127.0.0.1:${tunnelPort}`

    const first = await run(t, ['login', '--edge', edgeAddr, '--token', tokens[0]!], env)
    watched.push(first.proc)
    t.equal(first.exit.code, 0, `login exits 0 (stderr: ${first.stderr})`)
    t.match(first.stdout, /Logged in to 127\.0\.0\.1:\d+ as account acme \(zones: acme\.localhost\)/)
    t.equal(await mode(join(home, 'key.pem')), '600', 'key.pem is 0600')
    t.ok((await stat(join(home, 'cert.pem'))).isFile(), 'cert.pem saved')
    t.equal(await readFile(join(home, 'ca.pem'), 'utf8'), await readFile(join(stateDir, 'ca.pem'), 'utf8'), 'ca.pem is the edge CA the token pinned')
    const login = JSON.parse(await readFile(join(home, 'login.json'), 'utf8')) as { edge: string, account: string, zones: unknown, serial: string }
    t.equal(login.account, 'acme', 'login.json names the account')
    t.equal(login.edge, edgeAddr, 'and the edge')
    t.same(login.zones, [{ zone: ZONE, wildcard: false }], 'and the zones')
    const cert = new X509Certificate(await readFile(join(home, 'cert.pem')))
    t.equal(cert.serialNumber.toLowerCase().replace(/^0+/, ''), login.serial, 'login.json carries the serial of cert.pem')
    t.ok(cert.checkIssued(new X509Certificate(await readFile(join(stateDir, 'ca.pem')))), 'cert.pem is issued by the edge CA')
    firstSerial = login.serial
    keys.push(await readFile(join(home, 'key.pem'), 'utf8'))

    const second = await run(t, ['login', '--edge', edgeAddr, '--token', tokens[0]!], env)
    watched.push(second.proc)
    t.equal(second.exit.code, 2, 'a second login: exit 2')
    t.match(second.stderr, /already logged in .* account acme/, 'says who is logged in')
    t.match(second.stderr, /--force/, 'and mentions --force')

    const twoEdges = await run(t, ['login', '--edge', `${edgeAddr},${edgeAddr}`, '--token', tokens[0]!, '--force'], env)
    watched.push(twoEdges.proc)
    t.equal(twoEdges.exit.code, 2, 'login takes one edge address: a list is a usage error')
    t.match(twoEdges.stderr, /one edge address/, 'and says so')

    const reused = await run(t, ['login', '--edge', edgeAddr, '--token', tokens[0]!, '--force'], env)
    watched.push(reused.proc)
    t.equal(reused.exit.code, 4, 'the used token with --force: exit 4')
    t.match(reused.stderr, /BURROW_ERR_ENROLLMENT_USED/, 'stderr names BURROW_ERR_ENROLLMENT_USED')
    t.equal(JSON.parse(await readFile(join(home, 'login.json'), 'utf8')).serial, firstSerial, 'the failed login left the saved one alone')

    const fresh = await run(t, ['edge', 'accounts', 'token', 'acme', '--state-dir', stateDir], opEnv)
    t.equal(fresh.exit.code, 0, 'accounts token acme: exit 0')
    const token = lastLine(fresh.stdout)
    t.match(token, /^burrow1\./, 'a new token on the last line')
    tokens.push(token)

    // The same token pinning a CA that is not the edge's: login refuses the edge before sending it.
    const parts = token.split('.')
    const wrongPin = [...parts.slice(0, 3), randomBytes(32).toString('base64url')].join('.')
    const otherHome = join(dir, 'other-home')
    const pinned = await run(t, ['login', '--edge', edgeAddr, '--token', wrongPin], { BURROW_HOME: otherHome })
    watched.push(pinned.proc)
    t.equal(pinned.exit.code, 4, 'a token pinning another CA: exit 4')
    t.match(pinned.stderr, /BURROW_ERR_CERT_INVALID/, 'the edge is not the one the token pins')
    await t.rejects(stat(join(otherHome, 'login.json')), 'nothing is saved')

    const forced = await run(t, ['login', '--edge', edgeAddr, '--token', token, '--force', '--edge-ca', join(stateDir, 'ca.pem')], env)
    watched.push(forced.proc)
    t.equal(forced.exit.code, 0, `a fresh token with --force and --edge-ca: exit 0 (stderr: ${forced.stderr})`)
    const relogin = JSON.parse(await readFile(join(home, 'login.json'), 'utf8')) as { serial: string, account: string }
    t.equal(relogin.account, 'acme')
    t.not(relogin.serial, firstSerial, 'a new certificate replaced the old one')
    t.equal(await mode(join(home, 'key.pem')), '600', 'the new key.pem is 0600')
    keys.push(await readFile(join(home, 'key.pem'), 'utf8'))
    t.not(keys[1], keys[0], 'with a new key pair')
    t.equal(await mode(join(stateDir, 'identity.json')), '600', 'identity.json stays 0600 after the edge rewrote it')

    const expired = await run(t, ['edge', 'accounts', 'token', 'acme', '--token-ttl', '1ms', '--state-dir', stateDir], opEnv)
    const expiredToken = lastLine(expired.stdout)
    tokens.push(expiredToken)
    const late = await run(t, ['login', '--edge', edgeAddr, '--token', expiredToken], { BURROW_HOME: join(dir, 'late-home') })
    watched.push(late.proc)
    t.equal(late.exit.code, 4, 'an expired token: exit 4')
    t.match(late.stderr, /BURROW_ERR_ENROLLMENT_EXPIRED/)
  })

  await journey.test('§4.3 a hostname outside the account\'s zones: exit 4, BURROW_ERR_HOSTNAME_FORBIDDEN', async (t) => {
    const origin = await startOrigin(t)
    const agent = spawnCli(t, ['--hostname', 'app.other.localhost', '--retry-max-delay', '500', '--log-level', 'info', origin.url], env)
    watched.push(agent)
    const exit = await agent.waitForExit(15_000)
    t.equal(exit.code, 4, 'a permanent rejection exits 4')
    t.match(agent.stderr(), /BURROW_ERR_HOSTNAME_FORBIDDEN/, 'stderr names the code')
    t.equal(origin.received.length, 0)
  })

  await journey.test('§4.1 the agent registers with the saved login (mTLS, no token); §4.8 certs revoke ends it', async (t) => {
    const origin = await startOrigin(t)
    const agent = spawnCli(t, ['--hostname', HOSTNAME, '--retry-max-delay', '500', '--log-level', 'info', origin.url], env)
    watched.push(agent)
    const ready = await agent.waitForLog((l) => l.msg === 'tunnel ready', 15_000)
    const serial = (JSON.parse(await readFile(join(home, 'login.json'), 'utf8')) as { serial: string }).serial
    t.equal(ready.edge, `127.0.0.1:${tunnelPort}`, 'without --edge the agent uses the edge of the login')
    t.equal(ready.account, 'acme', 'as account acme')
    t.equal(ready.certificate, serial, 'with the certificate of the login')
    t.same(ready.hostnames, [HOSTNAME])

    const base = `http://127.0.0.1:${publicPort}`
    const res = await visit(base, '/through-mtls', { host: HOSTNAME })
    t.equal(res.status, 200, 'a visitor reaches the origin')
    t.equal(JSON.parse(res.text).url, '/through-mtls')
    t.equal(origin.received.length, 1)

    const before = await certsList(t, stateDir, opEnv)
    t.equal(before.find((c) => c.serial === serial)?.status, 'valid', 'certs list shows the certificate as valid')
    t.equal(before.find((c) => c.serial === firstSerial)?.account, 'acme', 'and the first one of the account')

    const revoked = await run(t, ['edge', 'certs', 'revoke', 'acme', '--state-dir', stateDir], opEnv)
    t.equal(revoked.exit.code, 0, 'certs revoke acme: exit 0')
    t.match(revoked.stdout, /Revoked 2 certificates/, 'every certificate of the account')

    const exit = await agent.waitForExit(10_000)
    t.equal(exit.code, 4, 'the running agent exits 4')
    t.match(agent.stderr(), /BURROW_ERR_CERT_REVOKED/, 'stderr names BURROW_ERR_CERT_REVOKED')
    const after = await visit(base, '/after-revoke', { host: HOSTNAME })
    t.ok(after.status === 503 || after.status === 404, `visitors are no longer served (${after.status})`)
    t.equal(origin.received.length, 1, 'nothing more reached the origin')

    const listed = await certsList(t, stateDir, opEnv)
    t.same(listed.filter((c) => c.account === 'acme').map((c) => c.status), ['revoked', 'revoked'], 'certs list shows both revoked')
  })

  await journey.test('§10 no token and no private key in any output', async (t) => {
    t.ok(watched.length >= 8, `${watched.length} login and agent processes watched`)
    const outputs = [...watched, ...(edgeProc === undefined ? [] : [edgeProc])].map((p) => p.stdout() + p.stderr())
    for (const token of tokens) {
      const secret = token.split('.')[2]!
      t.notOk(outputs.some((o) => o.includes(secret)), `the secret of token ${token.split('.')[1]!} is never printed by login, agent or edge`)
    }
    for (const [i, key] of keys.entries()) {
      const lines = pemBodyLines(key)
      t.ok(lines.length > 0, `key ${i + 1} is a PEM`)
      t.notOk(outputs.some((o) => lines.some((l) => o.includes(l))), `private key ${i + 1} never appears`)
    }
    const identity = await readFile(join(stateDir, 'identity.json'), 'utf8')
    t.notOk(tokens.some((token) => identity.includes(token.split('.')[2]!)), 'identity.json holds no token secret')

    edgeProc!.child.kill('SIGTERM')
    t.equal((await edgeProc!.waitForExit(8_000)).code, 0, 'the edge stops with exit 0')
  })
})

t.test('§4.5 a remote edge without a login: exit 2 telling the user to run burrow login', async (t) => {
  const home = await tempDir(t, 'burrow-home-')
  const r = await run(t, ['--edge', '127.0.0.1:7844', '--hostname', HOSTNAME, 'http://127.0.0.1:1'], { BURROW_HOME: home })
  t.equal(r.exit.code, 2, 'a usage error')
  t.match(r.stderr, /not logged in/)
  t.match(r.stderr, /run burrow login --edge 127\.0\.0\.1:7844 --token/, 'says what to run')
  await t.rejects(stat(join(home, 'edge')), 'no embedded edge was started')
})
