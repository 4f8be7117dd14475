/**
 * `burrow edge` configuration as operators give it: tokens from a file (comments, blank lines, CRLF)
 * and from BURROW_TOKENS, extra tunnel certificate names (--tunnel-name, BURROW_TUNNEL_NAMES) that
 * agents can verify (SPEC.md §1.3), and a port-only --listen. Real CLI child processes, real agents.
 */
import t from 'tap'
import tls from 'node:tls'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent } from '../../src/agent/agent.js'
import { RegistrationError } from '../../src/agent/tunnel-client.js'
import { startOrigin, visit, tempDir, testLogger, type T } from '../helpers/servers.js'
import { spawnCli, type LogLine } from '../helpers/processes.js'

interface RunningEdge { tunnelPort: number, publicHost: string, publicPort: number, ca: string, stop: () => Promise<number | null> }

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
    stop: async () => { p.child.kill('SIGTERM'); return (await p.waitForExit(8_000)).code },
  }
}

function agentFor (t: T, edge: RunningEdge, token: string, origin: string): Agent {
  const agent = new Agent({
    edge: `127.0.0.1:${edge.tunnelPort}`,
    edgeCa: edge.ca,
    token,
    hostnames: ['app.localhost'],
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

t.test('--token-file: one token per line, comments, blank lines and CRLF ignored; --listen 0 picks a free loopback port', async (t) => {
  const dir = await tempDir(t)
  const tokenFile = join(dir, 'tokens')
  await writeFile(tokenFile, '# agents of team A\r\n\r\n  file-token-0123456789  \r\n# file-token-retired-0000\r\n\r\n')
  const edge = await cliEdge(t, ['--token-file', tokenFile, '--listen', '0'])
  t.equal(edge.publicHost, '127.0.0.1', 'a bare port listens on loopback')
  t.not(edge.publicPort, 0, 'on a real port')

  const origin = await startOrigin(t)
  const agent = agentFor(t, edge, 'file-token-0123456789', origin.url)
  await agent.start()
  t.same(agent.registeredHostnames(), ['app.localhost'], 'the token from the file (trimmed) is accepted')
  const res = await visit(`http://127.0.0.1:${edge.publicPort}`, '/from-file')
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.text).url, '/from-file')

  const retired = agentFor(t, edge, 'file-token-retired-0000', origin.url)
  const err = await retired.start().then(() => undefined, (e: unknown) => e)
  t.type(err, RegistrationError, 'a commented-out token is not accepted')
  t.equal((err as RegistrationError).code, 'BURROW_ERR_AUTH_FAILED')
  const comment = agentFor(t, edge, '# agents of team A', origin.url)
  await t.rejects(comment.start(), { code: 'BURROW_ERR_AUTH_FAILED' }, 'nor is a comment line')
  await t.rejects(access(join(edge.stateDir, 'token')), 'no token was generated: the file configured them')

  await agent.close({ gracePeriodMs: 0 })
  t.equal(await edge.stop(), 0, 'SIGTERM: exit 0')
})

t.test('BURROW_TOKENS (comma separated) and tunnel names from --tunnel-name and BURROW_TUNNEL_NAMES', async (t) => {
  const edge = await cliEdge(t, ['--listen', '127.0.0.1:0', '--tunnel-name', 'tunnel.example.test'], {
    BURROW_TOKENS: 'env-token-alpha-0123, env-token-beta-4567',
  })
  const origin = await startOrigin(t)
  for (const token of ['env-token-alpha-0123', 'env-token-beta-4567']) {
    const agent = agentFor(t, edge, token, origin.url)
    await agent.start()
    t.same(agent.registeredHostnames(), ['app.localhost'], `${token.slice(0, 14)}… is accepted`)
    await agent.close({ gracePeriodMs: 0 })
  }
  t.equal(await handshake(edge.tunnelPort, edge.ca, 'tunnel.example.test'), null, 'an agent dialling tunnel.example.test verifies the edge')
  t.equal(await handshake(edge.tunnelPort, edge.ca, 'localhost'), null, 'localhost still verifies')
  t.equal(await handshake(edge.tunnelPort, edge.ca, 'other.example.test'), 'ERR_TLS_CERT_ALTNAME_INVALID', 'a name not configured is refused')
  t.equal(await edge.stop(), 0)

  // The same state dir, names from the environment: the certificate is reissued by the same CA.
  const restarted = await cliEdge(t, ['--listen', '127.0.0.1:0'], {
    BURROW_TOKENS: 'env-token-alpha-0123',
    BURROW_TUNNEL_NAMES: 'edge-b.example.test,192.0.2.10',
  }, edge.stateDir)
  t.equal(restarted.ca, edge.ca, 'the CA survives the restart, so agents keep their --edge-ca')
  t.equal(await handshake(restarted.tunnelPort, edge.ca, 'edge-b.example.test'), null, 'the name from BURROW_TUNNEL_NAMES verifies')
  t.equal(await restarted.stop(), 0)
})
