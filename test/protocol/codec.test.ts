// Control-stream framing (SPEC.md §2.3): encodeFrame / FrameDecoder, by example and by property.
import t from 'tap'
import fc from 'fast-check'
import assert from 'node:assert/strict'
import Long from 'long'
import { encodeFrame, Frame, FrameDecoder, frameKind, type DecodedFrame, type FrameInit } from '../../src/protocol/codec.js'
import { isBurrowError } from '../../src/protocol/errors.js'
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../../src/protocol/constants.js'

/** tap's test object, as handed to a t.test callback. */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]
/** Property runs are bounded in count and in time (STYLE.md: time-box fuzzing). */
const PROPERTY = { numRuns: 300, interruptAfterTimeLimit: 5_000 } as const

/** A decoded message as plain data: own fields only, 64-bit integers as decimal strings, bytes as hex. */
function plain (value: unknown): unknown {
  if (Long.isLong(value)) return (value as Long).toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex')
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) out[key] = plain((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

function decodeAll (bytes: Buffer): DecodedFrame[] {
  return new FrameDecoder().push(bytes)
}

function decodeOne (bytes: Buffer): DecodedFrame {
  const frames = decodeAll(bytes)
  assert.equal(frames.length, 1)
  return frames[0]!
}

function expectProtocolError (t: Tap, fn: () => unknown, msg: string): unknown {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  t.ok(isBurrowError(caught), `${msg}: throws a BurrowError`)
  t.equal((caught as { code?: unknown } | undefined)?.code, 'BURROW_ERR_PROTOCOL', `${msg}: code BURROW_ERR_PROTOCOL`)
  return caught
}

// One example of every Frame member (SPEC.md §3.1), with every field set to a non-default value.
const examples: Array<{ kind: string, frame: FrameInit, expected: unknown }> = [
  {
    kind: 'register',
    frame: {
      register: {
        protocolVersion: 1,
        hostnames: ['app.localhost', 'api.localhost'],
        labels: { release: 'canary', zone: 'a' },
        client: { agentId: 'agent-1', version: '0.1.0', arch: 'linux_x64', features: ['f1', 'f2'] },
        connIndex: 3,
        previousAttempts: 7,
      },
    },
    expected: {
      protocolVersion: 1,
      hostnames: ['app.localhost', 'api.localhost'],
      labels: { release: 'canary', zone: 'a' },
      client: { agentId: 'agent-1', version: '0.1.0', arch: 'linux_x64', features: ['f1', 'f2'] },
      connIndex: 3,
      previousAttempts: 7,
    },
  },
  {
    kind: 'registerAccepted',
    frame: { registerAccepted: { connectionId: 'c1', edgeId: 'e1', hostnames: ['app.localhost'], features: ['x'], protocolVersion: 1 } },
    expected: { connectionId: 'c1', edgeId: 'e1', hostnames: ['app.localhost'], features: ['x'], protocolVersion: 1 },
  },
  {
    kind: 'registerRejected',
    frame: { registerRejected: { code: 'BURROW_ERR_HOSTNAME_TAKEN', message: 'taken', retryAfterMs: 5000, permanent: true } },
    expected: { code: 'BURROW_ERR_HOSTNAME_TAKEN', message: 'taken', retryAfterMs: 5000, permanent: true },
  },
  {
    kind: 'heartbeat',
    frame: { heartbeat: { seq: Long.fromString('18446744073709551615', true), reply: true } },
    expected: { seq: '18446744073709551615', reply: true },
  },
  {
    kind: 'drain',
    frame: { drain: { deadlineMs: 4294967295, reason: 'shutting down' } },
    expected: { deadlineMs: 4294967295, reason: 'shutting down' },
  },
  {
    kind: 'unregister',
    frame: { unregister: { reason: 'SIGTERM' } },
    expected: { reason: 'SIGTERM' },
  },
  {
    kind: 'routeUpdate',
    frame: { routeUpdate: { addHostnames: ['a.localhost'], removeHostnames: ['b.localhost'] } },
    expected: { addHostnames: ['a.localhost'], removeHostnames: ['b.localhost'] },
  },
  {
    kind: 'configPush',
    frame: { configPush: { version: 42, config: Buffer.from([0, 1, 2, 255]) } },
    expected: { version: '42', config: '000102ff' },
  },
  {
    kind: 'protocolError',
    frame: { protocolError: { code: 'BURROW_ERR_PROTOCOL', message: 'bad frame' } },
    expected: { code: 'BURROW_ERR_PROTOCOL', message: 'bad frame' },
  },
  {
    kind: 'enrollRequest',
    frame: { enrollRequest: { token: 'burrow1.x', csr: Buffer.from([48, 130, 1, 2]), client: { agentId: 'a', version: '1', arch: 'linux_x64', features: ['f'] } } },
    expected: { token: 'burrow1.x', csr: '30820102', client: { agentId: 'a', version: '1', arch: 'linux_x64', features: ['f'] } },
  },
  {
    kind: 'enrollResponse',
    frame: { enrollResponse: { certificate: 'CERT', ca: 'CA', account: 'acme', zones: [{ zone: 'acme.localhost', wildcard: true }], serial: '7f01', notAfterMs: 1_800_000_000_000 } },
    expected: { certificate: 'CERT', ca: 'CA', account: 'acme', zones: [{ zone: 'acme.localhost', wildcard: true }], serial: '7f01', notAfterMs: '1800000000000' },
  },
  {
    kind: 'enrollRejected',
    frame: { enrollRejected: { code: 'BURROW_ERR_ENROLLMENT_USED', message: 'used' } },
    expected: { code: 'BURROW_ERR_ENROLLMENT_USED', message: 'used' },
  },
]

t.test('every Frame member survives encodeFrame -> FrameDecoder (SPEC.md §3.1)', async (t) => {
  t.equal(examples.length, 12, 'one example per Frame member')
  for (const { kind, frame, expected } of examples) {
    const bytes = encodeFrame(frame)
    t.equal(bytes.readUInt32BE(0), bytes.length - FRAME_HEADER_BYTES, `${kind}: prefix is the payload length`)
    const decoded = decodeOne(bytes)
    t.equal(frameKind(decoded), kind, `${kind}: frameKind`)
    t.same(plain((decoded as unknown as Record<string, unknown>)[kind]), expected, `${kind}: fields`)
  }
})

t.test('encodeFrame produces the SPEC.md §3.11 wire example byte for byte', async (t) => {
  const cases: Array<[string, FrameInit, string]> = [
    ['Register', { register: { protocolVersion: 1, hostnames: ['app.localhost'] } },
      '00000013' + '0a110801' + '1a0d6170702e6c6f63616c686f7374'],
    ['RegisterAccepted', { registerAccepted: { connectionId: 'c1', edgeId: 'e1', hostnames: ['app.localhost'], protocolVersion: 1 } },
      '0000001b' + '12190a02633112026531' + '1a0d6170702e6c6f63616c686f7374' + '2801'],
    ['Heartbeat', { heartbeat: { seq: 7 } }, '00000004' + '22020807'],
    ['Heartbeat reply', { heartbeat: { seq: 7, reply: true } }, '00000006' + '220408071001'],
  ]
  for (const [name, frame, hex] of cases) {
    t.equal(encodeFrame(frame).toString('hex'), hex, name)
    t.ok(frameKind(decodeOne(Buffer.from(hex, 'hex'))), `${name}: the SPEC bytes decode`)
  }
})

t.test('an empty frame (N = 0) decodes to a frame with no member (SPEC.md §2.3, §3.5)', async (t) => {
  const frames = decodeAll(Buffer.from('00000000', 'hex'))
  t.equal(frames.length, 1)
  t.equal(frameKind(frames[0]!), undefined)
  t.same(encodeFrame({}), Buffer.from('00000000', 'hex'), 'encodeFrame({}) is the 4-byte zero prefix')
})

t.test('a length prefix above MAX_FRAME_BYTES fails from the prefix alone (SPEC.md §2.3)', async (t) => {
  t.equal(MAX_FRAME_BYTES, 65536)
  const decoder = new FrameDecoder()
  const first = expectProtocolError(t, () => decoder.push(Buffer.from('00010001', 'hex')), '65537 prefix')
  const second = expectProtocolError(t, () => decoder.push(encodeFrame({ heartbeat: { seq: 1 } })), 'push after failure')
  t.equal(second, first, 'the decoder stays poisoned with the same error')

  // The same check when the prefix arrives one byte at a time.
  const slow = new FrameDecoder()
  t.same(slow.push(Buffer.from([0xff])), [])
  t.same(slow.push(Buffer.from([0xff, 0xff])), [])
  expectProtocolError(t, () => slow.push(Buffer.from([0xff])), '0xffffffff prefix byte by byte')

  // A decoder built with a smaller limit enforces that limit.
  const small = new FrameDecoder(16)
  expectProtocolError(t, () => small.push(Buffer.from('00000011', 'hex')), '17 bytes with a 16-byte limit')
})

t.test('a frame of exactly MAX_FRAME_BYTES is allowed; one byte more is refused by encodeFrame', async (t) => {
  // Frame{unregister{reason}}: 1 tag + 3 varint + (1 tag + 3 varint + n) bytes.
  const exact: FrameInit = { unregister: { reason: 'x'.repeat(MAX_FRAME_BYTES - 8) } }
  t.equal(Frame.encode(exact).finish().length, MAX_FRAME_BYTES, 'payload is exactly 65536 bytes')
  const bytes = encodeFrame(exact)
  t.equal(bytes.readUInt32BE(0), MAX_FRAME_BYTES)
  const decoded = decodeOne(bytes)
  t.equal(decoded.unregister?.reason?.length, MAX_FRAME_BYTES - 8, 'the decoder accepts it')

  const over: FrameInit = { unregister: { reason: 'x'.repeat(MAX_FRAME_BYTES - 7) } }
  t.equal(Frame.encode(over).finish().length, MAX_FRAME_BYTES + 1)
  expectProtocolError(t, () => encodeFrame(over), 'encodeFrame of 65537 bytes')
})

t.test('a frame split after 1, 2 or 3 header bytes decodes whole; midFrame tracks the partial frame', async (t) => {
  const bytes = encodeFrame({ drain: { deadlineMs: 1234, reason: 'bye' } })
  for (const cut of [1, 2, 3, FRAME_HEADER_BYTES, bytes.length - 1]) {
    const decoder = new FrameDecoder()
    t.equal(decoder.midFrame, false, `cut ${cut}: not mid-frame before any byte`)
    t.same(decoder.push(bytes.subarray(0, cut)), [], `cut ${cut}: nothing yet`)
    t.equal(decoder.midFrame, true, `cut ${cut}: midFrame after a partial frame`)
    const frames = decoder.push(bytes.subarray(cut))
    t.equal(frames.length, 1, `cut ${cut}: one frame`)
    t.same(plain(frames[0]!.drain), { deadlineMs: 1234, reason: 'bye' }, `cut ${cut}: content`)
    t.equal(decoder.midFrame, false, `cut ${cut}: no partial frame left`)
  }
})

t.test('several frames in one chunk decode in order, a trailing partial frame waits', async (t) => {
  const a = encodeFrame({ heartbeat: { seq: 1 } })
  const b = encodeFrame({ heartbeat: { seq: 2, reply: true } })
  const c = encodeFrame({ unregister: { reason: 'done' } })
  const decoder = new FrameDecoder()
  const first = decoder.push(Buffer.concat([a, b, c.subarray(0, 5)]))
  t.same(first.map((f) => plain(f.heartbeat)), [{ seq: '1' }, { seq: '2', reply: true }])
  t.equal(decoder.midFrame, true)
  const rest = decoder.push(c.subarray(5))
  t.equal(rest.length, 1)
  t.equal(rest[0]!.unregister?.reason, 'done')
  t.equal(decoder.midFrame, false)
})

t.test('undecodable payload bytes are a protocol error (SPEC.md §2.3)', async (t) => {
  // Field 1 (register), length-delimited, claiming 5 bytes when only 1 follows inside a 3-byte payload.
  const decoder = new FrameDecoder()
  const err = expectProtocolError(t, () => decoder.push(Buffer.from('000000030a05ff', 'hex')), 'truncated submessage')
  t.ok((err as Error).cause !== undefined, 'the protobuf error is kept as the cause')
  t.equal(expectProtocolError(t, () => decoder.push(Buffer.alloc(0)), 'push after failure'), err)
})

// ---- properties -------------------------------------------------------------------------------

const str = fc.string({ unit: 'grapheme', maxLength: 24 })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
// '__proto__' as a map key cannot round-trip through a plain JS object (protobufjs assigns m.labels[k]).
const labelKey = str.filter((k) => k !== '__proto__')

const registerArb = fc.record({
  protocolVersion: u32,
  hostnames: fc.array(str, { maxLength: 8 }),
  labels: fc.dictionary(labelKey, str, { maxKeys: 5, noNullPrototype: true }),
  client: fc.option(fc.record({ agentId: str, version: str, arch: str, features: fc.array(str, { maxLength: 4 }) }), { nil: null }),
  connIndex: u32,
  previousAttempts: u32,
})
const heartbeatArb = fc.record({ seq: u64, reply: fc.boolean() })
const rejectedArb = fc.record({ code: str, message: str, retryAfterMs: u32, permanent: fc.boolean() })
const drainArb = fc.record({ deadlineMs: u32, reason: str })

type RegisterIn = typeof registerArb extends fc.Arbitrary<infer R> ? R : never
type HeartbeatIn = typeof heartbeatArb extends fc.Arbitrary<infer R> ? R : never

/** proto3 view of a Register: what a receiver can observe, defaults filled in. */
function registerView (r: Partial<Record<keyof RegisterIn, unknown>> | null | undefined): unknown {
  const v = (r ?? {}) as Record<string, any>
  return {
    protocolVersion: v.protocolVersion ?? 0,
    hostnames: [...(v.hostnames ?? [])],
    labels: { ...v.labels },
    client: v.client == null
      ? null
      : { agentId: v.client.agentId ?? '', version: v.client.version ?? '', arch: v.client.arch ?? '', features: [...(v.client.features ?? [])] },
    connIndex: v.connIndex ?? 0,
    previousAttempts: v.previousAttempts ?? 0,
  }
}

function toFrame (x: HeartbeatIn): FrameInit {
  return { heartbeat: { seq: Long.fromString(x.seq.toString(), true), reply: x.reply } }
}

const frameArb: fc.Arbitrary<FrameInit> = fc.oneof(
  registerArb.map((register): FrameInit => ({ register })),
  heartbeatArb.map(toFrame),
  rejectedArb.map((registerRejected): FrameInit => ({ registerRejected })),
  drainArb.map((drain): FrameInit => ({ drain })),
  fc.constant<FrameInit>({}),
)

function checkProperty<T> (t: Tap, name: string, prop: fc.IProperty<T>): void {
  const out = fc.check(prop, PROPERTY)
  t.equal(out.failed, false, out.failed ? (fc.defaultReportMessage(out) ?? name) : name)
  t.ok(out.numRuns > 0, `${name}: ${out.numRuns} runs`)
}

t.test('property: decode(encode(x)) gives x back', async (t) => {
  checkProperty(t, 'Register', fc.property(registerArb, (register) => {
    const decoded = decodeOne(encodeFrame({ register }))
    assert.equal(frameKind(decoded), 'register')
    assert.deepEqual(registerView(decoded.register as never), registerView(register))
  }))
  checkProperty(t, 'Heartbeat', fc.property(heartbeatArb, (hb) => {
    const decoded = decodeOne(encodeFrame(toFrame(hb)))
    assert.equal(frameKind(decoded), 'heartbeat')
    assert.equal(String(decoded.heartbeat?.seq), hb.seq.toString())
    assert.equal(decoded.heartbeat?.reply, hb.reply)
  }))
  checkProperty(t, 'RegisterRejected', fc.property(rejectedArb, (registerRejected) => {
    const decoded = decodeOne(encodeFrame({ registerRejected }))
    assert.equal(frameKind(decoded), 'registerRejected')
    const r = decoded.registerRejected!
    assert.deepEqual({ code: r.code, message: r.message, retryAfterMs: r.retryAfterMs, permanent: r.permanent }, { ...registerRejected })
  }))
  checkProperty(t, 'Drain', fc.property(drainArb, (drain) => {
    const decoded = decodeOne(encodeFrame({ drain }))
    assert.equal(frameKind(decoded), 'drain')
    assert.deepEqual({ deadlineMs: decoded.drain!.deadlineMs, reason: decoded.drain!.reason }, { ...drain })
  }))
})

t.test('property: random chunk boundaries give the same frames in order', async (t) => {
  checkProperty(t, 'chunked stream', fc.property(
    fc.array(frameArb, { minLength: 1, maxLength: 6 }),
    fc.array(fc.nat(), { maxLength: 12 }),
    (frames, cutSeeds) => {
      const encoded = frames.map((f) => encodeFrame(f))
      const stream = Buffer.concat(encoded)
      const cuts = [...new Set(cutSeeds.map((s) => s % (stream.length + 1)))].sort((a, b) => a - b)
      const decoder = new FrameDecoder()
      const got: DecodedFrame[] = []
      let from = 0
      for (const cut of [...cuts, stream.length]) {
        got.push(...decoder.push(stream.subarray(from, cut)))
        from = cut
      }
      assert.equal(decoder.midFrame, false)
      assert.deepEqual(got.map((f) => frameKind(f)), encoded.map((b) => frameKind(decodeOne(b))))
      assert.deepEqual(got.map(plain), encoded.map((b) => plain(decodeOne(b))))
    },
  ))
})

t.test('property: random bytes never crash or hang; they decode or fail with BURROW_ERR_PROTOCOL', async (t) => {
  // Half the cases are pure noise (mostly oversized prefixes); half carry a correct prefix around a
  // random payload, so the protobuf decoder itself sees garbage.
  const noise = fc.uint8Array({ maxLength: 200 })
  const framedNoise = fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 4 }).map((payloads) =>
    Buffer.concat(payloads.map((p) => {
      const head = Buffer.alloc(FRAME_HEADER_BYTES)
      head.writeUInt32BE(p.length, 0)
      return Buffer.concat([head, p])
    })))
  checkProperty(t, 'random bytes', fc.property(
    fc.oneof(noise.map((b) => Buffer.from(b)), framedNoise),
    fc.array(fc.nat(), { maxLength: 6 }),
    (bytes, cutSeeds) => {
      const cuts = [...new Set(cutSeeds.map((s) => s % (bytes.length + 1)))].sort((a, b) => a - b)
      const decoder = new FrameDecoder()
      let from = 0
      let failure: unknown
      for (const cut of [...cuts, bytes.length]) {
        try {
          for (const frame of decoder.push(bytes.subarray(from, cut))) assert.equal(typeof frame, 'object')
        } catch (err) {
          failure = err
          break
        }
        from = cut
      }
      if (failure === undefined) return
      assert.ok(isBurrowError(failure), `not a BurrowError: ${String(failure)}`)
      assert.equal((failure as { code: string }).code, 'BURROW_ERR_PROTOCOL')
      // Poisoned: even a valid frame is refused with the same error.
      assert.throws(() => decoder.push(encodeFrame({ heartbeat: { seq: 1 } })), (err) => err === failure)
    },
  ))
})
