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
