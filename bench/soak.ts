/**
 * Soak run: the tunnel under steady load for a while, with tunnel churn, watching for leaks.
 *
 *   npx tsx bench/soak.ts [--rounds N (12)] [--round-seconds S (10)] [--connections C (50)] [--churn-every K (3)]
 *
 * Starts the bench origin, an edge and an agent (the real CLI, as separate processes, loopback
 * only). Each round loads the tunnel with autocannon for S seconds (alternating 2 B and 16 KiB
 * bodies, every body checked), then samples RSS and open file descriptors of the edge and the
 * agent. Every K rounds the agent is stopped with SIGTERM and a new one started (between rounds, so
 * no request is in flight), which exercises tunnel teardown on the edge.
 *
 * Fails (exit 1) when any request fails, when the edge holds more file descriptors at the end than
 * after the first round (+8 slack), or when the edge's or agent's RSS at the end exceeds the peak of
 * the run's first half by more than 25%. Writes bench/results/soak.json.
 */
import autocannon from 'autocannon'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { freePort } from './ports.js'
import { join } from 'node:path'
import { BODY_16K, TINY_BODY } from './bodies.js'

const argv = process.argv.slice(2)
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(name)
  const v = i === -1 ? fallback : Number(argv[i + 1])
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} needs a number`)
  return v
}
const rounds = arg('--rounds', 12)
const roundSeconds = arg('--round-seconds', 10)
const connections = arg('--connections', 50)
const churnEvery = arg('--churn-every', 3)
const HOST = 'soak.localhost'
const cli = 'dist/cli/main.js'
const children = new Set<ChildProcess>()

function start (command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

function rssMiB (pid: number | undefined): number {
  const line = readFileSync(`/proc/${String(pid)}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024)
}

function fds (pid: number | undefined): number {
  return readdirSync(`/proc/${String(pid)}/fd`).length
}

async function until (check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function serving (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    // write(), not end(): Node's HTTP server aborts a request whose client half-closes.
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET /tiny HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`))
    let data = ''
    socket.setTimeout(2_000, () => socket.destroy())
    socket.on('data', (c: Buffer) => { data += c.toString() })
    socket.on('close', () => resolve(data.startsWith('HTTP/1.1 200')))
    socket.on('error', () => resolve(false))
  })
}

async function main (): Promise<void> {
  try { readFileSync(cli) } catch { execFileSync('npm', ['run', 'build'], { stdio: 'inherit' }) }
  const dir = mkdtempSync(join(tmpdir(), 'burrow-soak-'))
  try {
    const origin = start(process.execPath, ['--import', 'tsx', 'bench/origin.ts'])
    const [line] = await once(origin.stdout!, 'data') as [Buffer]
    const originPort = (JSON.parse(line.toString().split('\n')[0]!) as { port: number }).port
    const [publicPort, tunnelPort] = [await freePort(), await freePort()]
    const edge = start(process.execPath, [cli, 'edge', '--listen', `127.0.0.1:${publicPort}`, '--tunnel-listen', `127.0.0.1:${tunnelPort}`,
      '--state-dir', dir, '--log-level', 'warn'])
    edge.stdout!.resume()
    await until(async () => { try { readFileSync(join(dir, 'ca.pem')); return true } catch { return false } }, 10_000, 'edge CA')
    // Enroll the agent as an operator would: an account for the soak zone, then burrow login.
    const home = join(dir, 'agent-home')
    const added = execFileSync(process.execPath, [cli, 'edge', 'accounts', 'add', 'soak', '--zone', HOST, '--state-dir', dir], { encoding: 'utf8' })
    execFileSync(process.execPath, [cli, 'login', '--edge', `127.0.0.1:${tunnelPort}`, '--token', added.trim().split('\n').pop()!,
      '--edge-ca', join(dir, 'ca.pem'), '--home', home], { stdio: 'ignore' })
    const startAgent = (): ChildProcess => {
      const agent = start(process.execPath, [cli, '--edge', `127.0.0.1:${tunnelPort}`, '--home', home,
        '--hostname', HOST, '--log-level', process.env.SOAK_LOG ?? 'warn', '--grace-period', '5000', `http://127.0.0.1:${originPort}`])
      if (process.env.SOAK_LOG !== undefined) agent.stdout!.pipe(process.stderr); else agent.stdout!.resume()
      return agent
    }
    let agent = startAgent()
    await until(async () => await serving(publicPort), 15_000, 'tunnel ready')

    const samples: Array<{ round: number, body: string, rps: number, errors: number, edge_rss_mib: number, agent_rss_mib: number, edge_fds: number, agent_fds: number, churned: boolean }> = []
    let failures = 0
    for (let round = 1; round <= rounds; round++) {
      const big = round % 2 === 0
      const expected = big ? BODY_16K.toString('latin1') : TINY_BODY
      const result = await autocannon({
        url: `http://127.0.0.1:${publicPort}/${big ? '16k' : 'tiny'}`,
        connections,
        duration: roundSeconds,
        headers: { host: HOST },
        verifyBody: (body: string) => body === expected,
      })
      const errors = result.errors + result.non2xx + (result.mismatches ?? 0)
      failures += errors
      let churned = false
      if (churnEvery > 0 && round % churnEvery === 0 && round < rounds) {
        agent.kill('SIGTERM')
        await once(agent, 'exit')
        agent = startAgent()
        await until(async () => await serving(publicPort), 15_000, 'tunnel back after churn')
        churned = true
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000)) // let the load generator's sockets close
      const sample = {
        round, body: big ? '16k' : 'tiny', rps: Math.round(result.requests.average), errors,
        edge_rss_mib: rssMiB(edge.pid), agent_rss_mib: rssMiB(agent.pid), edge_fds: fds(edge.pid), agent_fds: fds(agent.pid), churned,
      }
      samples.push(sample)
      process.stdout.write(`round ${String(round).padStart(2)} ${sample.body.padEnd(4)} ${String(sample.rps).padStart(6)} req/s  errors ${errors}  ` +
        `edge ${sample.edge_rss_mib} MiB / ${sample.edge_fds} fds  agent ${sample.agent_rss_mib} MiB / ${sample.agent_fds} fds${churned ? '  (agent restarted)' : ''}\n`)
    }
    // Growth is judged against the peak of the first half: a leak shows as the second half climbing
    // past it. Agent samples right after a restart measure a fresh process and are left out.
    const first = samples[0]!
    const last = samples.at(-1)!
    const firstHalf = samples.slice(0, Math.max(1, Math.floor(samples.length / 2)))
    const edgePeak = Math.max(...firstHalf.map((x) => x.edge_rss_mib))
    // With a restart after every round there is no settled agent sample in the first half: nothing to judge against.
    const settled = firstHalf.filter((x) => !x.churned).map((x) => x.agent_rss_mib)
    const agentPeak = settled.length === 0 ? Infinity : Math.max(...settled)
    const verdicts = {
      no_failed_requests: failures === 0,
      edge_fds_back_to_baseline: last.edge_fds <= first.edge_fds + 8,
      edge_rss_flat: last.edge_rss_mib <= edgePeak * 1.25,
      agent_rss_flat: last.churned || last.agent_rss_mib <= agentPeak * 1.25,
    }
    mkdirSync('bench/results', { recursive: true })
    writeFileSync('bench/results/soak.json', JSON.stringify({ node: process.version, rounds, round_seconds: roundSeconds, connections, churn_every: churnEvery, samples, verdicts }, null, 2) + '\n')
    process.stdout.write(`verdicts: ${JSON.stringify(verdicts)}\n`)
    if (!Object.values(verdicts).every(Boolean)) process.exitCode = 1
  } finally {
    for (const c of children) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
