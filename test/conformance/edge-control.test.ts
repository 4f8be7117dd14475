/**
 * Conformance of the edge, control messages (SPEC.md §2.3-§4, §7): framing, ordering, registration,
 * heartbeat, unregister, drain. A scripted fake agent drives a real edge.
 */
import t, { type Test } from 'tap'
import protobuf from 'protobufjs'
import { startEdge, startOrigin, startAgent, visit, waitFor, identityFor, type StartedEdge } from '../helpers/servers.js'
import { issueIdentity } from '../helpers/identity.js'
import { encodeFrame, Frame } from '../../src/protocol/codec.js'
import { burrow } from '../../src/protocol/generated/tunnel.js'
import { ensureCa } from '../../src/edge/pki.js'
import type { AgentIdentity } from '../../src/agent/enrollment.js'
import { FakeAgent, H2, credentials, registerFrame, within, type RequestStream } from './fake-agent.js'

async function fakeOn (t: Test, edge: StartedEdge): Promise<FakeAgent> {
  return await FakeAgent.connect(t, { ...await credentials(edge) })
}

/** A fake agent presenting `identity` (another account, or another certificate of the same one). */
async function fakeAs (t: Test, edge: StartedEdge, identity: AgentIdentity): Promise<FakeAgent> {
  return await FakeAgent.connect(t, { tunnel: edge.tunnel, ca: edge.edge.caCertPem, cert: identity.certPem, key: identity.keyPem })
}

/** A fake agent with no client certificate at all. */
async function anonymousOn (t: Test, edge: StartedEdge): Promise<FakeAgent> {
  return await FakeAgent.connect(t, { tunnel: edge.tunnel, ca: edge.edge.caCertPem })
}

/**
 * A certificate from the edge CA for account 'other' with zone localhost, which overlaps the test
 * account's zone. The edge never issues such a pair (§4.3 zones of accounts do not overlap), so it
 * is made directly with the CA: the only way two accounts can compete for one hostname.
 */
async function overlappingAccount (edge: StartedEdge): Promise<AgentIdentity> {
  return await issueIdentity(await ensureCa(edge.stateDir), { account: 'other', zones: [{ zone: 'localhost', wildcard: false }] })
}

/** A length prefix for `payload`. */
function prefixed (payload: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + payload.length)
  out.writeUInt32BE(payload.length, 0)
  out.set(payload, 4)
  return out
}

/** Waits until the edge has processed everything sent before: a Heartbeat round trip (§3.8). */
async function sync (fake: FakeAgent, seq: number): Promise<void> {
  await fake.send({ heartbeat: { seq, reply: false } })
  const frames = await fake.frames()
  const reply = await frames.nextOf('heartbeat')
  if (String(reply.heartbeat?.seq) !== String(seq)) throw new Error(`heartbeat ${String(reply.heartbeat?.seq)} answered instead of ${seq}`)
}

/** Asserts the SPEC.md §2.4 protocol-error close: ProtocolError{code} frame, GOAWAY PROTOCOL_ERROR, socket gone. */
async function assertProtocolClose (t: Test, fake: FakeAgent, code = 'BURROW_ERR_PROTOCOL'): Promise<void> {
  const frames = await fake.frames()
  const frame = await frames.nextOf('protocolError')
  t.equal(frame.protocolError?.code, code, `ProtocolError{code: ${code}}`)
  const closed = await within(fake.closed, 3_000, 'connection close')
  t.equal(closed.goawayCode, H2.PROTOCOL_ERROR, 'GOAWAY PROTOCOL_ERROR')
}

t.test('§2.3 a frame split across several DATA frames is reassembled', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  const bytes = encodeFrame(registerFrame())
  await fake.sendRaw(bytes.subarray(0, 2)) // half a length prefix
  await fake.flush() // the edge acknowledged a PING sent after it: those bytes are on the wire alone
  await fake.sendRaw(bytes.subarray(2, 9))
  await fake.flush()
  await fake.sendRaw(bytes.subarray(9))
  const answer = await fake.nextFrame()
  t.equal(answer.msg, 'registerAccepted')
})

t.test('§2.3 several frames in one DATA frame are all handled, in order', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  await fake.sendRaw(Buffer.concat([
    encodeFrame(registerFrame()),
    encodeFrame({ heartbeat: { seq: 1, reply: false } }),
    encodeFrame({ heartbeat: { seq: 2, reply: false } }),
  ]))
  t.equal((await fake.nextFrame()).msg, 'registerAccepted')
  const h1 = await fake.nextFrame()
  const h2 = await fake.nextFrame()
  t.same([String(h1.heartbeat?.seq), h1.heartbeat?.reply], ['1', true])
  t.same([String(h2.heartbeat?.seq), h2.heartbeat?.reply], ['2', true])
})

t.test('§2.3 a frame of exactly MAX_FRAME_BYTES (65536) is accepted', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register()).msg, 'registerAccepted')
  // A reserved RouteUpdate (ignored after registration, §3.5) padded to exactly 65536 bytes.
  const payload = Frame.encode({ routeUpdate: { addHostnames: ['a'.repeat(65528)] } }).finish()
  t.equal(payload.length, 65536)
  await fake.sendRaw(prefixed(payload))
  await sync(fake, 5)
  t.equal(fake.goawayCode, undefined, 'the connection is still up')
  t.equal((await visit(edge.base, '/')).status, 200)
})

t.test('§2.3 a length prefix of 65537 is a protocol error detected before any payload is sent', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register()).msg, 'registerAccepted')
  await fake.sendRaw(Buffer.from('00010001', 'hex')) // the prefix only: no payload follows
  await assertProtocolClose(t, fake)
  await waitFor(() => edge.edge.connectionCount === 0, 2_000)
})

t.test('§2.3 §2.4 undecodable payload: ProtocolError, GOAWAY PROTOCOL_ERROR, close; another real tunnel keeps serving', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, origin, { hostnames: ['real.localhost'] })
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register(['fake.localhost'])).msg, 'registerAccepted')
  // A valid length prefix, then bytes that are not a protobuf Frame (field 0 / truncated varint).
  await fake.sendRaw(Buffer.from('00000004ffffffff', 'hex'))
  await assertProtocolClose(t, fake)
  const gone = await visit(edge.base, '/', { host: 'fake.localhost' })
  t.equal(gone.status, 503, 'the broken tunnel is no longer routed')
  const res = await visit(edge.base, '/still', { host: 'real.localhost' })
  t.equal(res.status, 200, 'the other tunnel still serves')
  t.equal(JSON.parse(res.text).url, '/still')
})

t.test('§3.3 a first frame other than Register is a protocol error', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  await fake.send({ heartbeat: { seq: 1, reply: false } })
  await assertProtocolClose(t, fake)
})

t.test('§3.3 §3.5 an empty Frame (N = 0) as first frame is a protocol error', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  await fake.sendRaw(Buffer.from('00000000', 'hex'))
  await assertProtocolClose(t, fake)
})

t.test('§3.3 a first frame with only an unknown member is a protocol error', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  await fake.sendRaw(prefixed(Buffer.from('a20100', 'hex'))) // field 20, empty bytes: a newer peer's message
  await assertProtocolClose(t, fake)
})

t.test('§3.7 Register is accepted with RegisterAccepted carrying ids, normalised hostnames, features and version 1', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  const answer = await fake.register(['App.LOCALHOST.', 'api.localhost:8443', 'bücher.localhost'], {
    client: { agentId: 'a1', version: '9.9.9', arch: 'linux_x64', features: ['x-from-the-future'] },
  })
  t.equal(answer.msg, 'registerAccepted')
  const a = answer.registerAccepted!
  t.ok(a.connectionId !== '', 'connection_id set')
  t.equal(a.edgeId, edge.edge.id, 'edge_id is the edge id')
  t.same(a.hostnames, ['app.localhost', 'api.localhost', 'xn--bcher-kva.localhost'], 'normalised: case, trailing dot, port, punycode')
  t.same(a.features, [], '§7.3 an unknown feature is ignored: the intersection is empty')
  t.equal(a.protocolVersion, 1)
})

t.test('§3.7 §5.1 after RegisterAccepted the hostname is routable: a visitor request arrives as a stream and the response goes back', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register(['App.Localhost'])).msg, 'registerAccepted')
  fake.onRequest = (stream) => {
    stream.respond({ ':status': 201, 'burrow-response-source': 'origin', 'x-from': 'fake' })
    stream.end('created')
  }
  const res = await visit(edge.base, '/things?id=3', { host: 'APP.localhost:9999' })
  t.equal(res.status, 201)
  t.equal(res.headers['x-from'], 'fake')
  t.equal(res.text, 'created')
  const req = fake.requests[0]!
  t.match(req.headers, { ':method': 'GET', ':path': '/things?id=3', ':authority': 'APP.localhost:9999', ':scheme': 'http' })
})

t.test('§3.2 unknown protobuf fields inside a known message are skipped', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  const register = burrow.v1.Register.encode(registerFrame().register!).finish()
  // Field 100, varint 1: unknown to v1, appended inside the Register message.
  const withUnknown = Buffer.concat([register, Buffer.from([0xa0, 0x06, 0x01])])
  const frame = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(withUnknown).finish()
  await fake.sendRaw(prefixed(frame))
  const answer = await fake.nextFrame()
  t.equal(answer.msg, 'registerAccepted')
  t.same(answer.registerAccepted?.hostnames, ['app.localhost'])
})

t.test('§3.3 a second Register on the same connection is a protocol error', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register()).msg, 'registerAccepted')
  await fake.send(registerFrame(['second.localhost']))
  await assertProtocolClose(t, fake)
  t.equal((await visit(edge.base, '/', { host: 'second.localhost' })).status, 404, 'nothing of the second Register was registered')
})

t.test('§3.6 a connection without Register within registrationTimeoutMs gets REGISTRATION_TIMEOUT and is closed', async (t) => {
  const edge = await startEdge(t, { registrationTimeoutMs: 200 })
  const started = Date.now()
  const fake = await fakeOn(t, edge)
  const frames = await fake.frames()
  const frame = await frames.nextOf('protocolError', 3_000)
  const elapsed = Date.now() - started
  t.equal(frame.protocolError?.code, 'BURROW_ERR_REGISTRATION_TIMEOUT')
  t.ok(elapsed >= 150, `not before the deadline (${elapsed} ms)`)
  await within(fake.closed, 3_000, 'close')
  t.pass('the edge closed the connection')
  await waitFor(() => edge.edge.connectionCount === 0, 2_000)
})

t.test('§3.6 the deadline also closes a connection whose agent never answered the control stream', async (t) => {
  const edge = await startEdge(t, { registrationTimeoutMs: 200 })
  const fake = await FakeAgent.connect(t, { ...await credentials(edge), answerControl: false })
  await fake.control()
  await within(fake.closed, 3_000, 'close')
  t.pass('the edge closed the connection')
  await waitFor(() => edge.edge.connectionCount === 0, 2_000)
})

t.test('§2.2 a control stream the agent resets before answering it closes the connection at once, not at the deadline', async (t) => {
  const edge = await startEdge(t) // default 10 s registration deadline
  const fake = await FakeAgent.connect(t, { ...await credentials(edge), answerControl: false })
  const control = await fake.control()
  const started = Date.now()
  control.close(H2.CANCEL)
  await within(fake.closed, 3_000, 'close')
  t.ok(Date.now() - started < 2_000, `closed after ${Date.now() - started} ms`)
  await waitFor(() => edge.edge.connectionCount === 0, 2_000)
})

t.test('§3.8 Heartbeat{seq, reply: false} is answered with the same seq and reply: true; a reply is not answered', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register()).msg, 'registerAccepted')
  await fake.send({ heartbeat: { seq: 41, reply: true } }) // must not be answered
  await fake.send({ heartbeat: { seq: 42, reply: false } })
  const answer = await fake.nextFrame()
  t.equal(answer.msg, 'heartbeat')
  t.equal(String(answer.heartbeat?.seq), '42', 'the first frame back answers 42: 41 (a reply) got no answer')
  t.equal(answer.heartbeat?.reply, true)
  await fake.send({ heartbeat: { seq: '18446744073709551615' as unknown as number, reply: false } })
  const big = await fake.nextFrame()
  t.equal(String(big.heartbeat?.seq), '18446744073709551615', 'seq is a full uint64')
})

t.test('§3.5 after registration, empty frames, unknown members, RouteUpdate and ConfigPush are ignored', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register()).msg, 'registerAccepted')
  await fake.sendRaw(Buffer.from('00000000', 'hex'))
  await fake.sendRaw(prefixed(Buffer.from('a20100', 'hex')))
  await fake.send({ routeUpdate: { addHostnames: ['extra.localhost'], removeHostnames: ['app.localhost'] } })
  await fake.send({ configPush: { version: 2, config: Buffer.from('x') } })
  await sync(fake, 9)
  t.equal(fake.goawayCode, undefined, 'no GOAWAY')
  t.equal((await visit(edge.base, '/')).status, 200, 'the connection keeps serving its hostname')
  t.equal((await visit(edge.base, '/', { host: 'extra.localhost' })).status, 404, 'RouteUpdate changed nothing')
})

t.test('§3.9 after Unregister new requests get 503 NO_TUNNEL while a request in flight completes', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register()).msg, 'registerAccepted')
  const held: RequestStream[] = []
  fake.onRequest = (stream, headers) => { held.push({ stream, headers, flags: 0 }) }
  const inflight = visit(edge.base, '/slow')
  await fake.nextRequest()
  await fake.send({ unregister: { reason: 'test' } })
  await sync(fake, 1)
  const refused = await visit(edge.base, '/new')
  t.equal(refused.status, 503)
  t.equal(refused.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')
  t.equal(fake.requests.length, 1, 'the new request never reached the unregistered connection')
  held[0]!.stream.respond({ ':status': 200, 'burrow-response-source': 'origin' })
  held[0]!.stream.end('finished')
  const done = await inflight
  t.equal(done.status, 200)
  t.equal(done.text, 'finished')
})

t.test('§3.10 on shutdown the edge sends Drain{deadline_ms, reason}, then GOAWAY', async (t) => {
  const edge = await startEdge(t, { drainTimeoutMs: 1_500 })
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register()).msg, 'registerAccepted')
  const closing = edge.edge.close()
  const drain = await (await fake.frames()).nextOf('drain')
  t.equal(drain.drain?.deadlineMs, 1_500)
  t.ok((drain.drain?.reason ?? '') !== '', 'with a reason')
  await waitFor(() => fake.goawayCode !== undefined, 2_000)
  t.equal(fake.goawayCode, H2.NO_ERROR)
  ;(await fake.control()).end() // a conforming agent closes; the edge then finishes closing
  await within(closing, 3_000, 'edge close')
  await within(fake.closed, 3_000, 'close')
})

t.test('§7.2 protocol_version 2 is rejected with UNSUPPORTED_VERSION, permanent', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  const answer = await fake.register(['app.localhost'], { protocolVersion: 2 })
  t.equal(answer.msg, 'registerRejected')
  t.match(answer.registerRejected, { code: 'BURROW_ERR_UNSUPPORTED_VERSION', permanent: true, retryAfterMs: 0 })
})

t.test('§7.2 protocol_version 0 is rejected with UNSUPPORTED_VERSION, permanent', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  const answer = await fake.register(['app.localhost'], { protocolVersion: 0 })
  t.match(answer.registerRejected, { code: 'BURROW_ERR_UNSUPPORTED_VERSION', permanent: true })
})

t.test('§3.3 after RegisterRejected the edge closes the connection with GOAWAY NO_ERROR', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  const answer = await fake.register(['app.example.com']) // outside the zone localhost: HOSTNAME_FORBIDDEN
  t.equal(answer.msg, 'registerRejected')
  const closed = await within(fake.closed, 3_000, 'close')
  t.equal(closed.goawayCode, H2.NO_ERROR, 'GOAWAY NO_ERROR')
  t.equal((await fake.frames()).frames.length, 1, 'nothing but the rejection was sent')
  t.equal((await visit(edge.base, '/')).status, 404, 'nothing was registered')
})

t.test('§3.4 the reserved field 2 (auth of the v1 drafts) is skipped: it neither grants nor spoils an identity', async (t) => {
  const edge = await startEdge(t)
  // Register{protocol_version: 1, auth (field 2): {bearer_token: "s3cret"}, hostnames: ["app.localhost"]}
  const withAuth = Buffer.from('0000001d' + '0a1b0801' + '12080a06733363726574' + '1a0d6170702e6c6f63616c686f7374', 'hex')
  const enrolled = await fakeOn(t, edge)
  await enrolled.sendRaw(withAuth)
  const accepted = await enrolled.nextFrame()
  t.equal(accepted.msg, 'registerAccepted', 'with a client certificate: accepted, field 2 ignored')
  t.same(accepted.registerAccepted?.hostnames, ['app.localhost'])
  const anonymous = await anonymousOn(t, edge)
  await anonymous.sendRaw(withAuth)
  const rejected = await anonymous.nextFrame()
  t.match(rejected.registerRejected, { code: 'BURROW_ERR_CERT_REQUIRED', permanent: true, retryAfterMs: 0 }, 'without one: a token in field 2 is no credential')
})

t.test('§4.1 identity is checked before hostname ownership: a peer without a certificate gets CERT_REQUIRED for an owned name, not HOSTNAME_TAKEN', async (t) => {
  const edge = await startEdge(t)
  const owner = await fakeOn(t, edge)
  t.equal((await owner.register(['owned.localhost'])).msg, 'registerAccepted')
  const intruder = await anonymousOn(t, edge)
  const answer = await intruder.register(['owned.localhost'])
  t.match(answer.registerRejected, { code: 'BURROW_ERR_CERT_REQUIRED', permanent: true }, 'a peer without an accepted identity learns nothing about the name')
  const invalid = await anonymousOn(t, edge)
  const answer2 = await invalid.register(['bad_name.localhost'])
  t.equal(answer2.registerRejected?.code, 'BURROW_ERR_CERT_REQUIRED', 'nor about hostname validity')
})

t.test('§4.3 a hostname held live by another account is rejected with HOSTNAME_TAKEN, retryable after 5000 ms; all or nothing', async (t) => {
  const edge = await startEdge(t)
  const owner = await fakeOn(t, edge)
  t.equal((await owner.register(['owned.localhost'])).msg, 'registerAccepted')
  const other = await fakeAs(t, edge, await overlappingAccount(edge))
  const answer = await other.register(['free.localhost', 'owned.localhost'])
  t.match(answer.registerRejected, { code: 'BURROW_ERR_HOSTNAME_TAKEN', permanent: false, retryAfterMs: 5000 })
  t.equal((await visit(edge.base, '/', { host: 'free.localhost' })).status, 404, 'the free hostname of that Register was not registered')
  t.equal((await visit(edge.base, '/', { host: 'owned.localhost' })).text, 'fake agent', 'the owner keeps serving')
})

t.test('§4.3 another certificate of the same account joins as a replica; ownership is released when the last connection closes', async (t) => {
  const edge = await startEdge(t)
  const a = await fakeOn(t, edge)
  const b = await fakeAs(t, edge, await identityFor(edge)) // a second enrollment of account test
  t.equal((await a.register()).msg, 'registerAccepted')
  t.equal((await b.register()).msg, 'registerAccepted', 'the ownership key is the account, not the certificate')
  a.destroy()
  b.destroy()
  await waitFor(() => edge.edge.connectionCount === 0, 2_000)
  const res = await visit(edge.base, '/')
  t.equal(res.status, 503, '§4.3 a known hostname without connections: NO_TUNNEL')
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_NO_TUNNEL')
  const c = await fakeAs(t, edge, await overlappingAccount(edge))
  t.equal((await c.register(['app.localhost'])).msg, 'registerAccepted', 'another account may take the released name')
})

t.test('§3.4 §4.4 invalid hostnames, no hostname and more than 64 hostnames are rejected with HOSTNAME_INVALID, permanent', async (t) => {
  const edge = await startEdge(t)
  const cases: Array<[string, string[]]> = [
    ['underscore', ['bad_name.localhost']],
    ['leading hyphen label', ['-app.localhost']],
    ['empty label', ['app..localhost']],
    ['label of 64 characters', [`${'a'.repeat(64)}.localhost`]],
    ['none', []],
    ['65 hostnames', Array.from({ length: 65 }, (_, i) => `h${i}.localhost`)],
  ]
  for (const [name, hostnames] of cases) {
    const fake = await fakeOn(t, edge)
    const answer = await fake.register(hostnames)
    t.match(answer.registerRejected, { code: 'BURROW_ERR_HOSTNAME_INVALID', permanent: true }, name)
    fake.destroy()
  }
  const ok = await fakeOn(t, edge)
  const answer = await ok.register(Array.from({ length: 64 }, (_, i) => `h${i}.localhost`))
  t.equal(answer.msg, 'registerAccepted', '64 hostnames are allowed')
})

t.test('§3.11 the wire example: exact Register bytes (identity in the TLS handshake) are accepted and Heartbeat{seq: 7} gets the exact reply bytes', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge) // presents the client certificate of account test (zone localhost)
  await fake.sendRaw(Buffer.from('00000013' + '0a110801' + '1a0d6170702e6c6f63616c686f7374', 'hex'))
  const accepted = await fake.nextFrame()
  t.equal(accepted.msg, 'registerAccepted')
  t.same(accepted.registerAccepted?.hostnames, ['app.localhost'])
  t.equal(accepted.registerAccepted?.protocolVersion, 1)
  const frames = await fake.frames()
  const before = frames.raw().length
  await fake.sendRaw(Buffer.from('0000000422020807', 'hex'))
  await fake.nextFrame()
  t.equal(frames.raw().subarray(before).toString('hex'), '0000000622040807' + '1001', 'Heartbeat{seq: 7, reply: true}')
})

t.test('§2.4 an edge receiving ProtocolError treats the connection as closed', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  t.equal((await fake.register()).msg, 'registerAccepted')
  await fake.send({ protocolError: { code: 'BURROW_ERR_PROTOCOL', message: 'scripted' } })
  await within(fake.closed, 3_000, 'edge closing the connection')
  t.pass('the edge closed the connection')
  const res = await visit(edge.base, '/')
  t.equal(res.status, 503, 'and no longer routes to it')
})

t.test('§3.3 the edge opens no request stream before RegisterAccepted', async (t) => {
  const edge = await startEdge(t)
  const fake = await fakeOn(t, edge)
  await fake.control()
  const res = await visit(edge.base, '/')
  t.equal(res.status, 404, 'the hostname is not routable yet')
  t.equal(fake.streams.length, 1, 'only the control stream was opened')
  t.equal((await fake.register()).msg, 'registerAccepted')
  t.equal((await visit(edge.base, '/')).status, 200)
  t.equal(fake.streams.length, 2, 'the request stream came after registration')
})

t.test('§3.7 a Register arriving while the edge shuts down is rejected with EDGE_DRAINING, retryable after 1000 ms', async (t) => {
  const edge = await startEdge(t, { drainTimeoutMs: 1_500 })
  const fake = await fakeOn(t, edge)
  await fake.control()
  const closing = edge.edge.close()
  const answer = await fake.register()
  t.equal(answer.msg, 'registerRejected', '§3.3 the answer to Register is its first frame')
  t.match(answer.registerRejected, { code: 'BURROW_ERR_EDGE_DRAINING', permanent: false, retryAfterMs: 1000 })
  fake.destroy()
  await within(closing, 3_000, 'edge close')
})
