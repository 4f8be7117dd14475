/**
 * Conformance of the edge, transport and control stream (SPEC.md §1, §2): a scripted fake agent
 * drives a real edge over TLS + HTTP/2.
 */
import t from 'tap'
import net from 'node:net'
import tls from 'node:tls'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startEdge, visit, waitFor } from '../helpers/servers.js'
import { encodeFrame } from '../../src/protocol/codec.js'
import { FakeAgent, registerFrame, resetStream, credentials } from './fake-agent.js'
import { makePki } from './fake-edge.js'

/** Dials the tunnel port with TLS and reports what came back before the socket closed. */
async function rawTls (options: tls.ConnectionOptions): Promise<{ secure: boolean, alpn: string | false | null, error: Error | undefined, bytes: number }> {
  return await new Promise((resolve) => {
    let secure = false
    let alpn: string | false | null = null
    let error: Error | undefined
    let bytes = 0
    const socket = tls.connect(options)
    socket.once('secureConnect', () => { secure = true; alpn = socket.alpnProtocol ?? false })
    socket.on('data', (c: Buffer) => { bytes += c.length })
    socket.on('error', (err) => { error = err })
    socket.once('close', () => resolve({ secure, alpn, error, bytes }))
    setTimeout(() => socket.destroy(new Error('still open after 3 s')), 3_000).unref()
  })
}

function hostPort (tunnel: string): { host: string, port: number } {
  const [host, port] = tunnel.split(':')
  return { host: host!, port: Number(port) }
}

t.test('§1.2 a TLS client offering no ALPN is disconnected without any HTTP/2 being served', async (t) => {
  const edge = await startEdge(t)
  const res = await rawTls({ ...hostPort(edge.tunnel), ca: edge.edge.caCertPem })
  t.equal(res.secure, true, 'the TLS handshake itself completes')
  t.equal(res.alpn, false, 'no protocol was negotiated')
  t.equal(res.bytes, 0, 'the edge sent no application data (no HTTP/2 preface or SETTINGS)')
  t.notOk(res.error?.message.includes('still open'), 'the edge closed the connection')
  t.equal(edge.edge.connectionCount, 0)
})

t.test('§1.2 a TLS client offering only another ALPN (h2) is refused', async (t) => {
  const edge = await startEdge(t)
  const res = await rawTls({ ...hostPort(edge.tunnel), ca: edge.edge.caCertPem, ALPNProtocols: ['h2'] })
  t.not(res.alpn, 'h2', 'the edge did not select h2')
  t.not(res.alpn, 'burrow/1')
  t.equal(res.bytes, 0, 'no HTTP/2 served')
  t.notOk(res.error?.message.includes('still open'), 'the connection was closed by the edge')
  t.equal(edge.edge.connectionCount, 0)
})

t.test('§1.1 plaintext bytes to the tunnel port are rejected (no plaintext mode, no HTTP/1 fallback)', async (t) => {
  const edge = await startEdge(t)
  const { host, port } = hostPort(edge.tunnel)
  const reply = await new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = []
    const socket = net.connect(port, host, () => {
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
      socket.write('GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n')
    })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => {})
    socket.once('close', () => resolve(Buffer.concat(chunks)))
    setTimeout(() => socket.destroy(), 3_000).unref()
  })
  t.notOk(reply.toString('latin1').includes('HTTP/'), 'no HTTP answer in plaintext')
  t.ok(reply.length === 0 || reply[0] === 0x15, 'at most a TLS alert record came back')
  t.equal(edge.edge.connectionCount, 0)
})

t.test('§1.1 the reference edge requires TLS 1.3: a TLS 1.2 client is refused', async (t) => {
  const edge = await startEdge(t)
  const res = await rawTls({ ...hostPort(edge.tunnel), ca: edge.edge.caCertPem, ALPNProtocols: ['burrow/1'], maxVersion: 'TLSv1.2' })
  t.equal(res.secure, false, 'no TLS 1.2 session')
  t.ok(res.error, 'the handshake failed')
  t.equal(edge.edge.connectionCount, 0)
})

t.test('§1.3 the edge certificate chains to <state-dir>/ca.pem and not to another CA', async (t) => {
  const edge = await startEdge(t)
  const caPem = await readFile(join(edge.stateDir, 'ca.pem'), 'utf8')
  const fake = await FakeAgent.connect(t, { tunnel: edge.tunnel, ca: caPem })
  t.equal(fake.socket.authorized, true, 'verified against ca.pem')
  t.equal(fake.socket.alpnProtocol, 'burrow/1', 'the edge selected burrow/1')
  const other = await makePki(t)
  const res = await rawTls({ ...hostPort(edge.tunnel), ca: other.caCertPem, ALPNProtocols: ['burrow/1'] })
  t.equal(res.secure, false, 'a client trusting another CA cannot complete the handshake')
})

t.test('§1.4 after TLS the edge is the HTTP/2 client: it opens stream 1, and no other stream before registration', async (t) => {
  const edge = await startEdge(t)
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  const control = await fake.control()
  t.equal(control.id, 1, 'the first stream is client-initiated stream 1')
  t.equal(fake.streams.length, 1)
})

t.test('§1.5 the edge sends ENABLE_PUSH 0, a 1 MiB stream window, a 64 KiB header list and a 16 MiB connection window', async (t) => {
  const edge = await startEdge(t)
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  await fake.control()
  await fake.flush()
  const s = fake.session.remoteSettings
  t.equal(s.enablePush, false, 'SETTINGS_ENABLE_PUSH 0')
  t.equal(s.initialWindowSize, 1048576, 'SETTINGS_INITIAL_WINDOW_SIZE 1 MiB')
  t.equal(s.maxHeaderListSize, 65536, 'SETTINGS_MAX_HEADER_LIST_SIZE 65536')
  // Nothing sent on the connection yet, so our send window is exactly what the edge granted.
  await waitFor(() => fake.session.state.remoteWindowSize === 16777216, 2_000)
  t.equal(fake.session.state.remoteWindowSize, 16777216, 'connection window raised to 16 MiB by WINDOW_UPDATE on stream 0')
})

t.test('§1.6 the edge sends an HTTP/2 PING every heartbeat interval', async (t) => {
  const edge = await startEdge(t, { heartbeatIntervalMs: 40 })
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  t.equal((await fake.register()).msg, 'registerAccepted')
  await waitFor(() => fake.pings >= 3, 3_000)
  t.ok(fake.pings >= 3, `received ${fake.pings} PINGs`)
})

t.test('§2.1 the edge opens the control stream first, with the documented pseudo-headers and burrow-stream-type: control', async (t) => {
  const edge = await startEdge(t)
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  await fake.control()
  const first = fake.streams[0]!
  t.equal(first.id, 1, 'stream id 1')
  t.match(first.headers, {
    ':method': 'POST',
    ':scheme': 'https',
    ':authority': 'burrow.control',
    ':path': '/burrow/v1/control',
    'burrow-stream-type': 'control',
  })
  t.equal(first.flags & 0x1, 0, 'the request is not ended: edge-to-agent frames follow in its body')
})

t.test('§2.1 edge frames travel in the control request body, agent frames in the response body', async (t) => {
  const edge = await startEdge(t)
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  const control = await fake.control()
  control.write(encodeFrame(registerFrame()))
  const answer = await fake.nextFrame()
  t.equal(answer.msg, 'registerAccepted', 'the Register written into our response body was read, the answer came in the request body')
})

t.test('§2.2 when the agent ends the control stream, the edge closes the session and stops routing', async (t) => {
  const edge = await startEdge(t)
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  t.equal((await fake.register()).msg, 'registerAccepted')
  t.equal((await visit(edge.base, '/')).status, 200)
  ;(await fake.control()).end()
  await fake.closed
  t.pass('the edge closed the connection')
  await waitFor(() => edge.edge.connectionCount === 0, 2_000)
  const res = await visit(edge.base, '/')
  t.equal(res.status, 503)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')
})

t.test('§2.2 when the agent resets the control stream (RST_STREAM), the edge closes the session', async (t) => {
  const edge = await startEdge(t)
  const fake = await FakeAgent.connect(t, { ...await credentials(edge) })
  t.equal((await fake.register()).msg, 'registerAccepted')
  resetStream(await fake.control())
  await fake.closed
  t.pass('the edge closed the connection')
  await waitFor(() => edge.edge.connectionCount === 0, 2_000)
  t.equal((await visit(edge.base, '/')).status, 503)
})
