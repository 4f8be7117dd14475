/** A free loopback port: bind port 0, read the port, release it (bench/floor.ts, bench/soak.ts). */
import net, { type AddressInfo } from 'node:net'
import { once } from 'node:events'

export async function freePort (): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
