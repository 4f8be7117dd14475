/**
 * The bare Node.js pipeline Burrow is built on, with none of Burrow in it: an HTTP/1.1 server whose
 * handler opens an http2 stream over TLS on a connection the peer dialed, and a peer that serves
 * HTTP/2 on that socket (performServerHandshake) and answers every stream itself with "ok".
 * bench/floor.ts runs it beside the direct origin to show what Node's own layers cost.
 *
 *   floor-peer.ts edge  <public port> <tunnel port> <cert dir>
 *   floor-peer.ts agent <tunnel port> <cert dir>
 */
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const [role, ...args] = process.argv.slice(2)
const windows = { initialWindowSize: 1 << 20 }

if (role === 'edge') {
  const [publicPort, tunnelPort, dir] = args as [string, string, string]
  let session: http2.ClientHttp2Session | undefined
  const tunnel = tls.createServer({ cert: readFileSync(join(dir, 'edge.pem')), key: readFileSync(join(dir, 'edge-key.pem')), ALPNProtocols: ['burrow/1'], noDelay: true }, (socket) => {
    session = http2.connect('https://floor', { createConnection: () => socket, settings: { ...windows, enablePush: false } })
    session.on('error', () => {})
  })
  tunnel.listen(Number(tunnelPort), '127.0.0.1')
  http.createServer((req, res) => {
    if (session === undefined) { res.writeHead(503).end(); return }
    const stream = session.request({ ':path': req.url, ':method': req.method, ':authority': 'floor' }, { endStream: true })
    stream.on('error', () => {})
    stream.once('response', (headers) => {
      res.writeHead(Number(headers[':status']), ['content-type', 'text/plain'])
      stream.on('data', (chunk: Buffer) => res.write(chunk))
      stream.once('end', () => res.end())
    })
  }).listen(Number(publicPort), '127.0.0.1')
} else if (role === 'agent') {
  const [tunnelPort, dir] = args as [string, string]
  const tcp = net.connect({ host: '127.0.0.1', port: Number(tunnelPort), noDelay: true })
  const socket = tls.connect({ socket: tcp, ca: readFileSync(join(dir, 'ca.pem')), ALPNProtocols: ['burrow/1'], servername: 'localhost' })
  socket.once('secureConnect', () => {
    const session = http2.performServerHandshake(socket, { settings: { ...windows, maxConcurrentStreams: 1024 } })
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' })
      stream.end('ok')
    })
  })
} else {
  process.stderr.write('usage: floor-peer.ts edge <public port> <tunnel port> <dir> | agent <tunnel port> <dir>\n')
  process.exit(2)
}
