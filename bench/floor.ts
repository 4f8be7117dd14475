/**
 * How much of the tunnel's cost is Node's own: runs, in one invocation and with the same
 * autocannon settings, (1) the plain origin directly, (2) the bare Node pipeline of
 * bench/floor-peer.ts (HTTP/1 server -> http2 client over TLS -> http2 server that answers itself,
 * no origin hop, no Burrow code), and prints req/s, ratio to direct and CPU per 1,000 requests.
 *
 *   npx tsx bench/floor.ts [--duration SECONDS] [--connections N]
 *
 * Writes bench/results/floor.json. Loopback only; every child is stopped at the end.
 */
import autocannon from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { freePort } from './ports.js'
import { join } from 'node:path'
import { ensureEdgePki } from '../src/edge/pki.js'

const argv = process.argv.slice(2)
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(name)
  return i === -1 ? fallback : Number(argv[i + 1])
}
const durationS = arg('--duration', 10)
const connections = arg('--connections', 100)
const children: ChildProcess[] = []

function start (args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  return child
}

function cpuMs (pid: number | undefined): number {
  const fields = readFileSync(`/proc/${String(pid)}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10 // utime + stime, 100 ticks per second
}

async function load (port: number): Promise<{ rps: number, requests: number, errors: number, p99: number }> {
  const result = await autocannon({ url: `http://127.0.0.1:${port}/tiny`, connections, duration: durationS, verifyBody: (b: string) => b === 'ok' })
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    errors: result.errors + result.non2xx + (result.mismatches ?? 0), // autocannon's errors include timeouts
    p99: result.latency.p99,
  }
}

async function waitUntilServing (port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/tiny`).then((r) => r.ok, () => false)
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`nothing serving on ${port} after 10 s`)
}

async function main (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-floor-'))
  try {
    await ensureEdgePki(dir)
    const origin = start(['bench/origin.ts'])
    const [line] = await once(origin.stdout!, 'data') as [Buffer]
    const originPort = (JSON.parse(line.toString().split('\n')[0]!) as { port: number }).port
    const [publicPort, tunnelPort] = [await freePort(), await freePort()]
    const edge = start(['bench/floor-peer.ts', 'edge', String(publicPort), String(tunnelPort), dir])
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const agent = start(['bench/floor-peer.ts', 'agent', String(tunnelPort), dir])
    await waitUntilServing(publicPort)
    await load(publicPort) // warm-up at the same settings
    const direct = await load(originPort)
    const [e0, a0] = [cpuMs(edge.pid), cpuMs(agent.pid)]
    const floor = await load(publicPort)
    const [e1, a1] = [cpuMs(edge.pid), cpuMs(agent.pid)]
    const out = {
      node: process.version,
      duration_s: durationS,
      connections,
      direct: { rps: Math.round(direct.rps), p99_ms: direct.p99, errors: direct.errors },
      node_floor: {
        rps: Math.round(floor.rps),
        p99_ms: floor.p99,
        errors: floor.errors,
        ratio_to_direct: Number((floor.rps / direct.rps).toFixed(3)),
        cpu_ms_per_1k: { edge: Number(((e1 - e0) / (floor.requests / 1000)).toFixed(1)), agent: Number(((a1 - a0) / (floor.requests / 1000)).toFixed(1)) },
      },
    }
    mkdirSync('bench/results', { recursive: true })
    writeFileSync('bench/results/floor.json', JSON.stringify(out, null, 2) + '\n')
    process.stdout.write(`direct      ${out.direct.rps} req/s\nnode floor  ${out.node_floor.rps} req/s  ratio ${out.node_floor.ratio_to_direct}  ` +
      `cpu/1k edge ${out.node_floor.cpu_ms_per_1k.edge} ms, agent ${out.node_floor.cpu_ms_per_1k.agent} ms  errors ${floor.errors}\n`)
    if (direct.errors + floor.errors > 0) process.exitCode = 1
  } finally {
    for (const c of children) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
