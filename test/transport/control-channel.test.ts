// ControlChannel over a real TCP socket pair on 127.0.0.1 (SPEC.md §2: framing, §2.2 lifetime, §2.4 errors).
import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { ControlChannel, sendProtocolError } from '../../src/transport/control-channel.js'
import { BurrowError as ChannelBurrowError } from '../../src/protocol/errors.js'
import { encodeFrame, frameKind, type DecodedFrame } from '../../src/protocol/codec.js'
import { isBurrowError, type BurrowError } from '../../src/protocol/errors.js'
import { waitFor } from '../helpers/servers.js'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** A connected socket pair; both ends and the server are destroyed at teardown. */
async function socketPair (t: Tap): Promise<{ client: net.Socket, server: net.Socket }> {
  const listener = net.createServer()
  t.teardown(() => { listener.close() })
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  const { port } = listener.address() as AddressInfo
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>
  const client = net.connect(port, '127.0.0.1')
  t.teardown(() => { client.destroy() })
  const [[server]] = await Promise.all([accepted, once(client, 'connect')])
  t.teardown(() => { server.destroy() })
  client.setNoDelay(true)
  server.setNoDelay(true)
  return { client, server }
}

/** Records every event of a channel. */
function record (channel: ControlChannel): { frames: DecodedFrame[], errors: BurrowError[], ends: number } {
  const seen = { frames: [] as DecodedFrame[], errors: [] as BurrowError[], ends: 0 }
  channel.on('frame', (f) => seen.frames.push(f))
  channel.on('protocolError', (e) => seen.errors.push(e))
  channel.on('end', () => { seen.ends++ })
  return seen
}

async function written (socket: net.Socket, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())))
}

t.test('frames sent on one end arrive in order on the other, in both directions', async (t) => {
  const { client, server } = await socketPair(t)
  const agent = new ControlChannel(client)
  const edge = new ControlChannel(server)
  const atEdge = record(edge)
  const atAgent = record(agent)

  t.equal(agent.send({ register: { protocolVersion: 1, hostnames: ['app.localhost'] } }), true)
  for (let seq = 1; seq <= 20; seq++) t.equal(agent.send({ heartbeat: { seq } }), true, `send heartbeat ${seq}`)
  await waitFor(() => atEdge.frames.length === 21, 2_000)
  t.equal(frameKind(atEdge.frames[0]!), 'register')
  t.same(atEdge.frames[0]!.register?.hostnames, ['app.localhost'])
  t.same(atEdge.frames.slice(1).map((f) => Number(f.heartbeat?.seq)), Array.from({ length: 20 }, (_, i) => i + 1), 'heartbeats in order')

  t.equal(edge.send({ registerAccepted: { connectionId: 'c1', edgeId: 'e1', hostnames: ['app.localhost'], protocolVersion: 1 } }), true)
  t.equal(edge.send({ drain: { deadlineMs: 50, reason: 'bye' } }), true)
  await waitFor(() => atAgent.frames.length === 2, 2_000)
  t.same(atAgent.frames.map((f) => frameKind(f)), ['registerAccepted', 'drain'])
  t.equal(atAgent.frames[0]!.registerAccepted?.connectionId, 'c1')
  t.same([atEdge.errors.length, atAgent.errors.length, atEdge.ends, atAgent.ends], [0, 0, 0, 0], 'no errors, no end')
})

t.test('a frame split across writes arrives whole, once the last byte is in', async (t) => {
  const { client, server } = await socketPair(t)
  const seen = record(new ControlChannel(server))
  const bytes = encodeFrame({ unregister: { reason: 'split across three writes' } })

  for (const [from, to] of [[0, 2], [2, 9]] as const) {
    const arrived = once(server, 'data') // registered after the channel's own listener, so it runs second
    await written(client, bytes.subarray(from, to))
    await arrived
    t.equal(seen.frames.length, 0, `no frame after bytes ${from}..${to}`)
  }
  await written(client, bytes.subarray(9))
  await waitFor(() => seen.frames.length === 1, 2_000)
  t.equal(seen.frames[0]!.unregister?.reason, 'split across three writes')
  t.equal(seen.errors.length, 0)
})

t.test('garbage emits protocolError once with BURROW_ERR_PROTOCOL, and no frame after it (SPEC.md §2.4)', async (t) => {
  const { client, server } = await socketPair(t)
  const channel = new ControlChannel(server)
  const seen = record(channel)
  const atPeer = record(new ControlChannel(client)) // what the misbehaving peer reads back

  // A valid frame, then a length prefix above MAX_FRAME_BYTES (detected from the prefix alone), then a valid frame.
  await written(client, encodeFrame({ heartbeat: { seq: 1 } }))
  await waitFor(() => seen.frames.length === 1, 2_000)
  await written(client, Buffer.concat([Buffer.from('00010001', 'hex'), encodeFrame({ heartbeat: { seq: 2 } })]))
  await waitFor(() => seen.errors.length === 1, 2_000)
  t.ok(isBurrowError(seen.errors[0]), 'a BurrowError')
  t.equal(seen.errors[0]!.code, 'BURROW_ERR_PROTOCOL')
  t.equal(server.isPaused(), true, 'the channel stops reading')

  // More bytes arrive anyway (the owner has not torn the stream down yet): still nothing.
  const arrived = once(server, 'data')
  await written(client, Buffer.concat([encodeFrame({ heartbeat: { seq: 3 } }), Buffer.from('ffffffff', 'hex')]))
  server.resume()
  await arrived
  t.equal(seen.frames.length, 1, 'no frame event after the error')
  t.equal(seen.errors.length, 1, 'protocolError emitted exactly once')

  // SPEC.md §2.4: the detecting side can still tell the peer why before it closes the session.
  sendProtocolError(channel, seen.errors[0]!)
  await waitFor(() => atPeer.frames.length === 1, 2_000)
  t.equal(frameKind(atPeer.frames[0]!), 'protocolError', 'the peer receives Frame{protocol_error}')
  t.equal(atPeer.frames[0]!.protocolError?.code, 'BURROW_ERR_PROTOCOL')

  // After a protocol error the owner tears down; the channel reports no 'end' on top of the error.
  const closed = new Promise((resolve) => server.once('close', resolve))
  server.destroy()
  await closed
  t.equal(seen.ends, 0, "no 'end' after 'protocolError'")
  t.equal(channel.send({ heartbeat: { seq: 9 } }), false, 'send() on a destroyed stream returns false')
})

t.test('undecodable payload bytes are a protocol error too', async (t) => {
  const { client, server } = await socketPair(t)
  const seen = record(new ControlChannel(server))
  await written(client, Buffer.from('000000030a05ff', 'hex')) // register submessage claims 5 bytes, has 1
  await waitFor(() => seen.errors.length === 1, 2_000)
  t.equal(seen.errors[0]!.code, 'BURROW_ERR_PROTOCOL')
  t.equal(seen.frames.length, 0)
})

t.test("the peer ending emits 'end' once; send() afterwards returns false", async (t) => {
  const { client, server } = await socketPair(t)
  const channel = new ControlChannel(server)
  const seen = record(channel)
  await written(client, encodeFrame({ unregister: { reason: 'last words' } }))
  client.end()
  await once(server, 'close') // 'end' and then 'close' both reach the channel
  t.equal(seen.frames.length, 1, 'the frame before the end is delivered')
  t.equal(seen.frames[0]!.unregister?.reason, 'last words')
  t.equal(seen.ends, 1, "'end' emitted exactly once")
  t.equal(seen.errors.length, 0)
  t.equal(channel.send({ heartbeat: { seq: 1 } }), false, 'send() after end returns false')
})

t.test("the stream being destroyed emits 'end' once", async (t) => {
  const { client, server } = await socketPair(t)
  const channel = new ControlChannel(server)
  const seen = record(channel)
  // An 'error' without a listener of the owner's would throw; the channel listens, so it only ends.
  const closed = new Promise((resolve) => server.once('close', resolve))
  server.destroy(new Error('reset by owner'))
  await closed
  t.equal(seen.ends, 1)
  t.equal(channel.send({ heartbeat: { seq: 1 } }), false)
  await once(client, 'close')
})

t.test('close() ends our half: the peer sees the end, and we can no longer send', async (t) => {
  const { client, server } = await socketPair(t)
  const local = new ControlChannel(server)
  const peer = new ControlChannel(client)
  const atPeer = record(peer)
  t.equal(local.send({ heartbeat: { seq: 5 } }), true)
  local.close()
  t.equal(server.writableEnded, true, 'our writable side is ended')
  t.equal(local.send({ heartbeat: { seq: 6 } }), false, 'send() after close() returns false')
  await waitFor(() => atPeer.ends === 1, 2_000)
  t.same(atPeer.frames.map((f) => Number(f.heartbeat?.seq)), [5], 'the frame sent before close() arrived, nothing after')
  local.close() // idempotent
  t.equal(atPeer.errors.length, 0)
})

t.test('sendProtocolError sends Frame{protocol_error{code, message}} before teardown (SPEC.md §2.4)', async (t) => {
  const { client, server } = await socketPair(t)
  const local = new ControlChannel(server)
  const atPeer = record(new ControlChannel(client))
  sendProtocolError(local, new ChannelBurrowError('BURROW_ERR_PROTOCOL', 'frame length 65537 exceeds the maximum'))
  sendProtocolError(undefined, new ChannelBurrowError('BURROW_ERR_PROTOCOL')) // no channel yet: nothing to do, no throw
  await waitFor(() => atPeer.frames.length === 1, 2_000)
  t.equal(frameKind(atPeer.frames[0]!), 'protocolError')
  t.equal(atPeer.frames[0]!.protocolError?.code, 'BURROW_ERR_PROTOCOL')
  t.equal(atPeer.frames[0]!.protocolError?.message, 'frame length 65537 exceeds the maximum')
  local.close()
  sendProtocolError(local, new ChannelBurrowError('BURROW_ERR_PROTOCOL')) // best effort: silently dropped after close
  await waitFor(() => atPeer.ends === 1, 2_000)
  t.equal(atPeer.frames.length, 1, 'nothing sent after close()')
})
