/**
 * `burrow edge tunnels` (HA: operators see what a running edge serves): the edge answers on its admin
 * socket `<state-dir>/admin.sock` (0600); the real CLI prints a table or JSON with hostnames, agents,
 * connections, labels, accounts and in-flight counts; a stopped edge leaves no socket and the command
 * exits 1 saying so. A stale socket is replaced, a live one keeps a second edge from sharing the state
 * dir. Edges and agents run in process; the CLI runs as a child process.
 */
import t from 'tap'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Agent } from '../../src/agent/agent.js'
import { adminSocketPath, EdgeNotRunningError, fetchTunnels, type TunnelListing, type TunnelsSnapshot } from '../../src/edge/admin-socket.js'
import { ACCOUNT, startAgent, startEdge, startOrigin, tempDir, visit, waitFor, type StartedEdge, type T } from '../helpers/servers.js'
import { spawnCli, type Exit } from '../helpers/processes.js'

interface Ran { exit: Exit, stdout: string, stderr: string }

/** Runs the CLI to its end with a fresh BURROW_HOME plus `env`. */
async function run (t: T, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const proc = spawnCli(t, args, { BURROW_HOME: await tempDir(t, 'burrow-home-'), ...env })
  const exit = await proc.waitForExit(20_000)
  return { exit, stdout: proc.stdout(), stderr: proc.stderr() }
}

/** The connection slots an agent holds (HA), by index, from agent.status(). */
function slotsOf (agent: Agent): number[] {
  return agent.status().connections.map((c) => c.index).sort((a, b) => a - b)
}

function connectionsOf (snapshot: TunnelsSnapshot, hostname: string, agent: Agent): TunnelListing[] {
  return snapshot.hostnames.find((h) => h.hostname === hostname)?.connections.filter((c) => c.agentId === agent.id) ?? []
}

/** Waits until the edge lists every slot of every agent as registered on each of its hostnames. */
async function allRegistered (edge: StartedEdge, agents: Array<[Agent, string[]]>): Promise<void> {
  await waitFor(() => agents.every(([agent, hosts]) => hosts.every((h) => {
    const conns = connectionsOf(edge.edge.tunnels(), h, agent)
    return conns.length === slotsOf(agent).length && conns.every((c) => c.state === 'registered')
  })), 10_000)
}

/** The table's data rows as cells keyed by the header. */
function parseTable (out: string): Array<Record<string, string>> {
  const lines = out.trimEnd().split('\n')
  const header = lines[0]!.trim().split(/\s+/)
  return lines.slice(1).map((line) => Object.fromEntries(line.trim().split(/\s+/).map((cell, i) => [header[i]!, cell])))
}

/** An origin that holds each request until release() (nothing is answered before). */
async function holdingOrigin (t: T): Promise<{ url: string, held: () => number, release: () => void, received: () => number }> {
  const waiting: ServerResponse[] = []
  let released = false
  let count = 0
  const answer = (res: ServerResponse): void => { res.end('released') }
  const origin = await startOrigin(t, (_req: IncomingMessage, res: ServerResponse) => {
    count++
    if (released) answer(res)
    else waiting.push(res)
  })
  t.teardown(() => { released = true; for (const res of waiting.splice(0)) answer(res) })
  return {
    url: origin.url,
    held: () => waiting.length,
    received: () => count,
    release: () => { released = true; for (const res of waiting.splice(0)) answer(res) },
  }
}

t.test('HA: burrow edge tunnels lists hostnames, agents, connections, labels and accounts of a running edge (table and --json)', async (t) => {
  const edge = await startEdge(t)
  const origin = await startOrigin(t)
  const stable = await startAgent(t, edge, origin, { hostnames: ['app.localhost'], labels: { release: 'stable' }, haConnections: 2 })
  const canary = await startAgent(t, edge, origin, { hostnames: ['app.localhost', 'api.localhost'], labels: { release: 'canary', zone: 'eu' }, haConnections: 3 })
  t.same([slotsOf(stable), slotsOf(canary)], [[0, 1], [0, 1, 2]], 'two and three connection slots')
  await allRegistered(edge, [[stable, ['app.localhost']], [canary, ['app.localhost', 'api.localhost']]])
  const started = Date.now()

  // Both forms of --state-dir: the subcommand's own and the one given to `burrow edge`.
  const [table, json] = await Promise.all([
    run(t, ['edge', 'tunnels', '--state-dir', edge.stateDir]),
    run(t, ['edge', '--state-dir', edge.stateDir, 'tunnels', '--json']),
  ])

  t.equal(table.exit.code, 0, 'table: exit 0')
  t.equal(table.stderr, '', 'nothing on stderr')
  const header = table.stdout.split('\n')[0]!.trim().split(/\s+/)
  t.same(header, ['HOSTNAME', 'AGENT', 'CONN', 'ID', 'STATE', 'INFLIGHT', 'LABELS', 'ACCOUNT', 'FROM', 'SINCE'], 'the table header')
  const rows = parseTable(table.stdout)
  const rowsOf = (host: string, agent: Agent): Array<Record<string, string>> => rows.filter((r) => r.HOSTNAME === host && r.AGENT === agent.id)
  t.equal(rows.length, slotsOf(stable).length + 2 * slotsOf(canary).length,
    'one row per hostname and connection: the stable agent on one hostname, the canary one on two')
  t.same(rowsOf('app.localhost', stable).map((r) => Number(r.CONN)).sort((a, b) => a - b), slotsOf(stable), 'every connection of the stable agent serves app.localhost')
  t.same(rowsOf('app.localhost', canary).map((r) => Number(r.CONN)).sort((a, b) => a - b), slotsOf(canary), 'every connection of the canary agent serves app.localhost')
  t.same(rowsOf('api.localhost', canary).map((r) => Number(r.CONN)).sort((a, b) => a - b), slotsOf(canary), 'and api.localhost')
  t.same(rowsOf('api.localhost', stable), [], 'the stable agent does not serve api.localhost')
  t.ok(rows.every((r) => r.STATE === 'registered' && r.INFLIGHT === '0' && r.ACCOUNT === ACCOUNT), 'registered, idle, account of the certificate')
  t.ok(rowsOf('app.localhost', stable).every((r) => r.LABELS === 'release=stable'), 'the stable labels')
  t.ok(rows.filter((r) => r.AGENT === canary.id).every((r) => r.LABELS === 'release=canary,zone=eu'), 'the canary labels, keys sorted')
  t.ok(rows.every((r) => /^127\.0\.0\.1:\d+$/.test(r.FROM!)), 'FROM: the agent address')
  t.ok(rows.every((r) => !Number.isNaN(Date.parse(r.SINCE!)) && Date.parse(r.SINCE!) <= started), 'SINCE: when each registered')
  t.equal(new Set(rows.filter((r) => r.HOSTNAME === 'app.localhost').map((r) => r.ID)).size, slotsOf(stable).length + slotsOf(canary).length, 'distinct connection ids')
  t.same(rows.map((r) => r.HOSTNAME), [...rows.map((r) => r.HOSTNAME)].sort(), 'rows sorted by hostname')

  t.equal(json.exit.code, 0, '--json: exit 0')
  const snapshot = JSON.parse(json.stdout) as TunnelsSnapshot
  t.equal(snapshot.edgeId, edge.edge.id, 'the edge id')
  t.same(snapshot.hostnames.map((h) => h.hostname), ['api.localhost', 'app.localhost'], 'both hostnames')
  for (const [host, agent, labels] of [
    ['app.localhost', stable, { release: 'stable' }],
    ['app.localhost', canary, { release: 'canary', zone: 'eu' }],
    ['api.localhost', canary, { release: 'canary', zone: 'eu' }],
  ] as Array<[string, Agent, Record<string, string>]>) {
    const conns = connectionsOf(snapshot, host, agent)
    t.same(conns.map((c) => c.connIndex).sort((a, b) => a - b), slotsOf(agent), `${host}: a connection per slot of ${agent === stable ? 'stable' : 'canary'}`)
    t.same(conns.map((c) => c.id).sort(), agent.status().connections.map((c) => c.connectionId).sort(), `${host}: the connection ids the agent was given`)
    for (const c of conns) {
      t.match(c, { state: 'registered', inflight: 0, labels, account: ACCOUNT, remoteAddress: /^127\.0\.0\.1:\d+$/ }, `${host} ${c.id}: state, labels, account, address`)
      t.equal(new Date(c.since).toISOString(), c.since, 'since is an ISO time')
    }
  }
  t.equal(snapshot.hostnames.flatMap((h) => h.connections).length, rows.length, 'the JSON lists the same connections as the table')
})

t.test('HA: the in-flight count shows a request waiting on the origin; idle again once it is answered', async (t) => {
  const edge = await startEdge(t)
  const origin = await holdingOrigin(t)
  const agent = await startAgent(t, edge, origin.url, { labels: { release: 'stable' } })
  await allRegistered(edge, [[agent, ['app.localhost']]])

  const inflight = async (): Promise<number> => (await fetchTunnels(edge.stateDir)).hostnames.find((h) => h.hostname === 'app.localhost')!.connections.reduce((n, c) => n + c.inflight, 0)
  t.equal(await inflight(), 0, 'idle before')
  const pending = visit(edge.base, '/slow')
  await waitFor(() => origin.held() === 1, 5_000)
  t.equal(await inflight(), 1, 'one request in flight while the origin holds it')
  const cli = JSON.parse((await run(t, ['edge', 'tunnels', '--json', '--state-dir', edge.stateDir])).stdout) as TunnelsSnapshot
  t.equal(connectionsOf(cli, 'app.localhost', agent).reduce((n, c) => n + c.inflight, 0), 1, 'the CLI sees it too')

  origin.release()
  const res = await pending
  t.equal(res.status, 200)
  t.equal(res.text, 'released')
  await waitFor(async () => await inflight() === 0, 5_000)
  t.pass('idle again after the response')
})

t.test('HA: the admin socket is 0600, answers only GET /tunnels, and is gone after the edge closes; the CLI then exits 1', async (t) => {
  const edge = await startEdge(t)
  const path = adminSocketPath(edge.stateDir)
  t.equal(path, join(edge.stateDir, 'admin.sock'))
  const info = await stat(path)
  t.ok(info.isSocket(), 'a unix socket in the state dir')
  t.equal((info.mode & 0o777).toString(8), '600', 'readable and writable by the edge user only')

  const get = async (method: string, p: string): Promise<{ status: number, body: string, type: string | undefined }> => await new Promise((resolve, reject) => {
    const req = http.request({ socketPath: path, method, path: p, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }))
    })
    req.on('error', reject)
    req.setTimeout(2_000, () => req.destroy(new Error('timeout')))
    req.end()
  })
  const listed = await get('GET', '/tunnels')
  t.equal(listed.status, 200)
  t.match(listed.type, /^application\/json/)
  t.same(JSON.parse(listed.body), { edgeId: edge.edge.id, hostnames: [] }, 'no tunnels yet')
  const missing = await get('GET', '/nope')
  t.equal(missing.status, 404, 'another path: 404')
  t.match(JSON.parse(missing.body), { error: 'not found' }, 'as JSON')
  const posted = await get('POST', '/tunnels')
  t.equal(posted.status, 405, 'another method: 405')
  t.match(JSON.parse(posted.body), { error: 'method not allowed' })

  const empty = await run(t, ['edge', 'tunnels'], { BURROW_STATE_DIR: edge.stateDir })
  t.equal(empty.exit.code, 0, 'BURROW_STATE_DIR names the state dir')
  t.match(empty.stdout, /^no tunnels connected/, 'an edge without tunnels says so')

  // An admin connection left open (a half-sent request) does not hold close() up: it is destroyed.
  const idle = net.connect({ path })
  idle.on('error', () => {}) // destroyed by the edge: a reset is expected
  await once(idle, 'connect')
  idle.write('GET /tunnels HTTP/1.1\r\nhost: x\r\n')
  const idleClosed = new Promise((resolve) => idle.once('close', resolve))
  await Promise.all([edge.close(), edge.close()])
  await idleClosed
  t.pass('the open admin connection was closed with the edge; close() twice is fine')
  await t.rejects(stat(path), { code: 'ENOENT' }, 'the socket file is removed')
  await t.rejects(fetchTunnels(edge.stateDir), EdgeNotRunningError, 'fetchTunnels: the edge is not running')

  const after = await run(t, ['edge', 'tunnels', '--state-dir', edge.stateDir])
  t.equal(after.exit.code, 1, 'exit 1')
  t.equal(after.stderr, `burrow: the edge is not running (no admin socket at ${path})\n`, 'and says why')
  t.equal(after.stdout, '', 'nothing on stdout')
})

t.test('HA: a stale admin socket is replaced; a live edge on the same state dir keeps a second one from starting', async (t) => {
  const stateDir = await tempDir(t)
  const path = adminSocketPath(stateDir)
  // A process that dies without closing leaves its socket file behind, with nobody listening.
  const crashed = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore' })
  await once(crashed, 'exit')
  t.ok((await stat(path)).isSocket(), 'a stale socket file is there')

  const edge = await startEdge(t, { stateDir })
  t.same((await fetchTunnels(stateDir)).edgeId, edge.edge.id, 'the edge replaced it and answers')

  await t.rejects(startEdge(t, { stateDir }), { message: `another edge is running with state dir ${stateDir} (its admin socket ${path} answers); stop it or use another --state-dir` },
    'a second edge on the same state dir fails to start')
  t.same((await fetchTunnels(stateDir)).edgeId, edge.edge.id, 'the first edge still answers on its socket')

  const off = await startEdge(t, { stateDir, adminSocket: false })
  t.equal(off.edge.state, 'running', 'adminSocket: false starts without a socket')
  await off.close()
  t.same((await fetchTunnels(stateDir)).edgeId, edge.edge.id, 'and leaves the running edge its socket')
})
