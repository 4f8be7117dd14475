/**
 * A request with a body reaches the origin as soon as its head arrives, before any body byte
 * (SPEC.md §5.7: bodies move as they arrive; nothing waits on the body to start the request). An
 * origin that answers from the headers alone (an upload endpoint refusing with 401/413, a
 * long-poll that starts streaming at once) must be able to, and its answer must reach the visitor
 * while the visitor has not started sending the body.
 *
 * The visitor is a raw socket: it sends the request head with `Transfer-Encoding: chunked` and then
 * nothing until the test says so.
 */
import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { startOrigin, startEdge, startAgent, waitFor, type T } from '../helpers/servers.js'

/** How long the origin may take to see a request whose body has not started. Bounds the wait, not a speed claim. */
const SEE_REQUEST_MS = 2_000

/** A raw visitor connection: write what you want, read what came back so far. */
async function rawVisitor (t: T, base: string): Promise<{ socket: net.Socket, received: () => string }> {
  const url = new URL(base)
  const socket = net.connect(Number(url.port), url.hostname)
  t.teardown(() => { socket.destroy() })
  let buf = ''
  socket.setEncoding('latin1')
  socket.on('data', (s: string) => { buf += s })
  socket.on('error', () => {})
  await once(socket, 'connect')
  return { socket, received: () => buf }
}

const HEAD = 'POST /upload HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n'

t.test('§5.7 a request whose body has not started reaches the origin, and its early answer reaches the visitor', async (t) => {
  let seenBodyBytes = -1
  const origin = await startOrigin(t, (req: IncomingMessage, res: ServerResponse) => {
    // Answer from the headers alone; count what body arrived by the time of the answer.
    seenBodyBytes = req.readableLength
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('early')
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)

  const visitor = await rawVisitor(t, edge.base)
  visitor.socket.write(HEAD)

  await waitFor(() => origin.received.length === 1, SEE_REQUEST_MS)
  t.equal(origin.received[0]!.method, 'POST')
  t.equal(origin.received[0]!.url, '/upload')
  t.equal(seenBodyBytes, 0, 'the origin answered before any body byte existed')

  // The visitor has still sent no body byte: the early answer arrives anyway.
  await waitFor(() => /\r\n\r\n[\s\S]*early/.test(visitor.received()), 5_000)
  const text = visitor.received()
  t.match(text, /^HTTP\/1\.1 200 /, 'status line from the origin')
  t.match(text, /early/, 'the early body')
})

t.test('§5.7 a body sent after the origin saw the head is delivered whole', async (t) => {
  const chunks: string[] = []
  let ended = false
  const origin = await startOrigin(t, (req: IncomingMessage, res: ServerResponse) => {
    req.setEncoding('utf8')
    req.on('data', (c: string) => chunks.push(c))
    req.on('end', () => {
      ended = true
      res.end(`got ${chunks.join('')}`)
    })
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)

  const visitor = await rawVisitor(t, edge.base)
  visitor.socket.write(HEAD)
  await waitFor(() => origin.received.length === 1, SEE_REQUEST_MS)
  t.equal(ended, false, 'the origin is waiting for the body')

  visitor.socket.write('5\r\nhello\r\n')
  await waitFor(() => chunks.join('') === 'hello', 5_000)
  t.equal(ended, false, 'a partial body does not look complete')
  visitor.socket.write('6\r\n world\r\n0\r\n\r\n')
  await waitFor(() => visitor.received().includes('got hello world'), 5_000)
  t.match(visitor.received(), /^HTTP\/1\.1 200 /)
  t.equal(ended, true)
})
