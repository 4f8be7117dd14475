/**
 * A TCP relay on loopback between an agent and the edge's tunnel port. freeze() black-holes every
 * connection it carries at that moment: bytes stop flowing both ways, with no FIN and no RST, as
 * when a NAT or a network path silently drops a connection. New connections are relayed normally.
 */
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'
import type { T } from './servers.js'

export interface Relay {
  /** 127.0.0.1:<port>, for AgentOptions.edge */
  address: string
  /** Connections relayed so far. */
  readonly accepted: number
  freeze: () => void
  /** While true, new connections are accepted and closed at once (the edge looks unreachable). */
  refuseNew: (on: boolean) => void
}

export async function startRelay (t: T, target: string): Promise<Relay> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))]
  const live = new Set<{ a: net.Socket, b: net.Socket }>()
  let accepted = 0
  let refusing = false
  const server = net.createServer((a) => {
    accepted++
    if (refusing) {
      a.destroy()
      return
    }
    const b = net.connect(port, host)
    const pair = { a, b }
    live.add(pair)
    a.pipe(b)
    b.pipe(a)
    const drop = (): void => { a.destroy(); b.destroy(); live.delete(pair) }
    a.on('error', drop)
    b.on('error', drop)
    a.on('close', drop)
    b.on('close', drop)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const frozen: net.Socket[] = []
  t.teardown(async () => {
    for (const s of frozen) s.destroy()
    for (const { a, b } of live) { a.destroy(); b.destroy() }
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get accepted () { return accepted },
    refuseNew: (on: boolean) => { refusing = on },
    freeze: () => {
      for (const pair of live) {
        pair.a.unpipe(pair.b)
        pair.b.unpipe(pair.a)
        pair.a.pause()
        pair.b.pause()
        frozen.push(pair.a, pair.b)
      }
      live.clear()
    },
  }
}

export type GateMode = 'refuse' | 'hold' | 'pass'

export interface GateRelay {
  /** 127.0.0.1:<port>, for AgentOptions.edge */
  address: string
  /** Every tunnel connection held so far (released or not), in order. */
  readonly held: readonly net.Socket[]
  /** From now on every new tunnel connection gets `mode`. */
  mode: (mode: GateMode) => void
  /** Forwards every held connection. */
  release: () => void
}

/**
 * A relay in front of an edge's tunnel port that tells the two kinds of connection apart by the ALPN
 * in the ClientHello: enrollment connections (burrow-enroll/1) always pass; the n-th tunnel connection
 * (1-based) is refused, held (no byte forwarded until release()) or passed, as `decide(n)` says.
 */
export async function startGateRelay (t: T, target: string, decide: (n: number) => GateMode = () => 'pass'): Promise<GateRelay> {
  const port = Number(target.slice(target.lastIndexOf(':') + 1))
  const sockets = new Set<net.Socket>()
  const held: net.Socket[] = []
  const pending: Array<() => void> = []
  let tunnels = 0
  const forward = (a: net.Socket, first: Buffer): void => {
    if (a.destroyed) return
    const b = net.connect(port, '127.0.0.1')
    sockets.add(b)
    b.write(first)
    a.pipe(b)
    b.pipe(a)
    a.resume()
    const drop = (): void => { a.destroy(); b.destroy() }
    a.on('close', drop)
    b.on('close', drop)
    b.on('error', drop)
  }
  const server = net.createServer((a) => {
    sockets.add(a)
    a.on('error', () => a.destroy())
    a.once('data', (first: Buffer) => {
      a.pause()
      const mode = first.includes('burrow-enroll/1') ? 'pass' : decide(++tunnels)
      if (mode === 'pass') {
        forward(a, first)
      } else if (mode === 'refuse') {
        a.destroy()
      } else {
        held.push(a)
        pending.push(() => forward(a, first))
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    mode: (mode) => { decide = () => mode },
    release: () => { for (const go of pending.splice(0)) go() },
  }
}
