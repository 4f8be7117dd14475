/**
 * The agent's readiness endpoint through the real `burrow` command (HA: /ready, --ready): the bound
 * address in the logs and in the 'tunnel ready' line, 503 while the edge is unreachable, 200 once a
 * connection is registered, 503 as soon as SIGTERM starts the drain (while an in-flight request still
 * finishes), gone after exit 0; --ready off; a taken explicit port is an error, a taken default port
 * falls back; a malformed --ready is a usage error.
 */
import t from 'tap'
import http, { type ServerResponse } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { saveLogin } from '../../src/cli/agent-home.js'
import { startOrigin, startEdge, identityFor, visit, tempDir, type T } from '../helpers/servers.js'
import { startRelay } from '../helpers/relay.js'
import { spawnCli, type CliProcess, type LogLine } from '../helpers/processes.js'

interface Reply { status: number, headers: http.IncomingHttpHeaders, body: Record<string, unknown> }

/** GET on a fresh connection; rejects if nothing answers. */
async function getReady (url: string): Promise<Reply> {
  return await new Promise<Reply>((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 3_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> })
        } catch (err) { reject(err) }
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
  })
}

/** Polls `url` until `accept` holds for a reply (or the request fails and `accept(undefined)` holds); bounded. */
async function pollReady (url: string, accept: (r: Reply | undefined) => boolean, timeoutMs: number): Promise<Reply | undefined> {
  const deadline = Date.now() + timeoutMs
  let last: Reply | undefined | Error
  for (let i = 0; i < 500 && Date.now() < deadline; i++) {
    const r = await getReady(url).catch((err: Error) => err)
    last = r
    const reply = r instanceof Error ? undefined : r
    if (accept(reply)) return reply
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`no matching /ready answer within ${timeoutMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
}

/** The readiness server's log line, and its URL. */
async function readyUrl (p: CliProcess): Promise<{ line: LogLine, url: string }> {
  const line = await p.waitForLog((l) => l.msg === 'readiness endpoint listening', 15_000)
  return { line, url: line.ready as string }
}

async function occupy (t: T, port = 0): Promise<number | undefined> {
  const server = net.createServer()
  server.listen({ host: '127.0.0.1', port })
  const outcome = await Promise.race([once(server, 'listening').then(() => true), once(server, 'error').then(() => false)])
  if (!outcome) return undefined
  t.teardown(async () => { await new Promise<void>((resolve) => server.close(() => resolve())) })
  return (server.address() as AddressInfo).port
}

t.test('HA /ready: embedded edge: 200 once registered, 503 as soon as SIGTERM drains (in-flight request still served), gone after exit 0', async (t) => {
  let held: ServerResponse | undefined
  const origin = await startOrigin(t, (req, res) => {
    if (req.url === '/slow') { held = res; return }
    res.end('ok')
  })
  const home = await tempDir(t, 'burrow-home-')
  const p = spawnCli(t, ['--listen', '127.0.0.1:0', '--hostname', 'app.localhost', '--ready', '127.0.0.1:0', '--grace-period', '10000', origin.url], { BURROW_HOME: home })
  const { line, url } = await readyUrl(p)
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/ready$/, 'the log line gives the readiness URL')
  t.equal(line.host, '127.0.0.1')
  t.ok(Number(line.port) > 0, `port 0 asked for: a real port bound (${String(line.port)})`)
  t.equal(url, `http://127.0.0.1:${String(line.port)}/ready`)

  const up = await pollReady(url, (r) => r?.status === 200, 15_000)
  t.equal(up!.body.status, 'ready')
  t.ok(Number(up!.body.readyConnections) >= 1, 'at least one registered connection')
  t.ok(Number(up!.body.connections) >= Number(up!.body.readyConnections), 'connections counts every slot')
  t.match(up!.body.agentId, /^\S+$/, 'names the agent')
  t.equal(up!.headers['content-type'], 'application/json')
  t.equal(up!.headers['cache-control'], 'no-store')
  const tunnelReady = await p.waitForLog((l) => l.msg === 'tunnel ready', 10_000)
  t.equal(tunnelReady.ready, url, "the 'tunnel ready' line carries the readiness URL")

  // A request in flight across the shutdown: the drain waits for it.
  const banner = await p.waitForStderr(/Burrow tunnel ready: http:\/\/app\.localhost:(\d+)\//, 5_000)
  const slow = visit(`http://127.0.0.1:${banner[1]!}`, '/slow')
  const deadline = Date.now() + 10_000
  while (held === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(held, 'the slow request reached the origin')

  p.child.kill('SIGTERM')
  const draining = await pollReady(url, (r) => r?.status === 503, 5_000)
  t.equal(p.exitedAt, undefined, 'still running (draining) while /ready says 503')
  t.equal(draining!.body.status, 'not-ready')
  t.equal(draining!.body.agentId, up!.body.agentId, 'the same agent')

  held!.end('finished')
  const res = await slow
  t.equal(res.status, 200, 'the in-flight request finished during the drain')
  t.equal(res.text, 'finished')
  t.equal((await p.waitForExit(15_000)).code, 0, 'exit 0 after the graceful shutdown')
  await t.rejects(getReady(url), { code: 'ECONNREFUSED' }, 'the readiness endpoint is gone with the process')
})

t.test('HA /ready: 503 while the edge is unreachable, 200 once a connection registers', async (t) => {
  const edge = await startEdge(t)
  const origin = await startOrigin(t)
  const relay = await startRelay(t, edge.tunnel)
  relay.refuseNew(true)
  const home = await tempDir(t, 'burrow-home-')
  await saveLogin(home, { edge: relay.address, identity: await identityFor(edge) })
  const p = spawnCli(t, ['--hostname', 'app.localhost', '--ready', '127.0.0.1:0', '--ha-connections', '2', '--retry-max-delay', '200', '--grace-period', '0', origin.url], { BURROW_HOME: home })
  const { url } = await readyUrl(p)

  // The agent has dialled (and been cut off) at least once: it is up, but not ready.
  const deadline = Date.now() + 10_000
  while (relay.accepted === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(relay.accepted > 0, 'the agent tried the edge')
  const down = await getReady(url)
  t.equal(down.status, 503, 'edge unreachable: 503')
  t.equal(down.body.status, 'not-ready')
  t.equal(down.body.readyConnections, 0)
  t.equal(down.body.connections, 2, 'both --ha-connections slots are counted')
  t.equal((await getReady(url)).status, 503, 'and stays 503 while nothing registers')
  const address = new URL(url).host
  const notReady = spawnCli(t, ['ready', '--ready', address], { BURROW_HOME: home })
  t.equal((await notReady.waitForExit(15_000)).code, 1, '`burrow ready` exits 1 while the agent is not ready')
  t.match(notReady.stdout(), /"status":"not-ready"/, 'and prints the answer')

  relay.refuseNew(false)
  const up = await pollReady(url, (r) => r?.status === 200, 15_000)
  t.equal(up!.body.status, 'ready')
  t.equal(up!.body.agentId, down.body.agentId, 'the same agent')
  t.ok(Number(up!.body.readyConnections) >= 1)
  t.equal((await visit(edge.base, '/through')).status, 200, 'and it serves visitors')
  const ready = spawnCli(t, ['ready'], { BURROW_HOME: home, BURROW_READY: address })
  t.equal((await ready.waitForExit(15_000)).code, 0, '`burrow ready` (address from BURROW_READY) exits 0 once it is ready')
  t.match(ready.stdout(), /"status":"ready"/)

  p.child.kill('SIGTERM')
  t.equal((await p.waitForExit(10_000)).code, 0)
  const gone = spawnCli(t, ['ready', '--ready', address], { BURROW_HOME: home })
  t.equal((await gone.waitForExit(15_000)).code, 1, '`burrow ready` exits 1 when nothing answers')
  t.match(gone.stderr(), new RegExp(`no agent answers on http://${address}/ready`), 'and says so')
})

t.test('HA /ready: --ready off serves nothing; a taken explicit port is an error; a malformed --ready is a usage error', async (t) => {
  const origin = await startOrigin(t)
  const taken = (await occupy(t))!
  const [off, busy, bad] = await Promise.all([
    tempDir(t, 'burrow-home-').then((home) => spawnCli(t, ['--listen', '127.0.0.1:0', '--ready', 'off', origin.url], { BURROW_HOME: home })),
    tempDir(t, 'burrow-home-').then((home) => spawnCli(t, ['--listen', '127.0.0.1:0', origin.url], { BURROW_HOME: home, BURROW_READY: `127.0.0.1:${taken}` })),
    tempDir(t, 'burrow-home-').then((home) => spawnCli(t, ['--ready', 'localhost', origin.url], { BURROW_HOME: home })),
  ])

  const ready = await off.waitForLog((l) => l.msg === 'tunnel ready', 15_000)
  t.notOk('ready' in ready, "--ready off: no readiness URL in the 'tunnel ready' line")
  t.notOk(off.logs.some((l) => l.msg === 'readiness endpoint listening'), 'and no readiness server')
  off.child.kill('SIGTERM')
  t.equal((await off.waitForExit(10_000)).code, 0)

  const busyExit = await busy.waitForExit(15_000)
  t.equal(busyExit.code, 1, 'an explicit --ready (here BURROW_READY) on a taken port: exit 1, no silent fallback')
  t.match(busy.stderr(), /could not start the readiness endpoint/)
  t.match(busy.stderr(), /--ready/, 'the hint names --ready')
  t.notMatch(busy.stderr(), /--listen/, 'not --listen')

  t.equal((await bad.waitForExit(10_000)).code, 2, 'a malformed --ready: exit 2')
  t.match(bad.stderr(), /expected host:port or off/)
})

t.test('HA /ready: the default address 127.0.0.1:20241 falls back to 20242..20245, then any free port, when taken', async (t) => {
  // Hold every default port we can; the ones we cannot hold are taken by something else already.
  const held: number[] = []
  for (const port of [20241, 20242, 20243, 20244, 20245]) {
    if (await occupy(t, port) !== undefined) held.push(port)
  }
  const origin = await startOrigin(t)
  const home = await tempDir(t, 'burrow-home-')
  const p = spawnCli(t, ['--listen', '127.0.0.1:0', origin.url], { BURROW_HOME: home })
  const { line, url } = await readyUrl(p)
  const port = Number(line.port)
  t.ok(port > 0, `bound ${port}`)
  t.notOk(held.includes(port), `not one of the ports held here (${held.join(', ')})`)
  if (held.length === 5) t.ok(port < 20241 || port > 20245, 'all five taken: any free port')
  t.equal(line.requestedPort, 20241, 'the log line says which port was asked for')
  t.equal((await pollReady(url, (r) => r?.status === 200, 15_000))!.status, 200, 'and it serves /ready there')
  p.child.kill('SIGTERM')
  t.equal((await p.waitForExit(10_000)).code, 0)
})

t.test('HA /ready: --help documents --ready, its default and BURROW_READY', async (t) => {
  const p = spawnCli(t, ['--help'], { BURROW_HOME: await tempDir(t, 'burrow-home-') })
  t.equal((await p.waitForExit()).code, 0)
  const help = p.stdout().replace(/\s+/g, ' ')
  t.match(help, /--ready <host:port\|off> .*?\/ready.*?\(default: 127\.0\.0\.1:20241, env: BURROW_READY\)/)
})
