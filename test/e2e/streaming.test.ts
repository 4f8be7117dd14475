/**
 * Bodies stream through the tunnel and are never buffered whole (SPEC.md §5.7 "No party buffers a
 * whole request or response body", §1.5: the windows bound memory per tunnel).
 *
 * The edge and the agent run in this process, so process.memoryUsage() sampled every 50 ms during a
 * 50 MiB transfer shows whether either of them holds the body. The visitor and the origin hash as
 * they go and never keep more than a chunk either.
 *
 * What is measured, and why: each sample first forces a full GC, so it sees the memory that is
 * *retained* at that moment. Raw (un-collected) peaks were measured too and are reported by
 * t.comment: they reach ~30 MiB external and ~40-60 MiB rss for a 50 MiB body, and the same for a
 * 200 or 400 MiB body — it is per-chunk garbage V8 collects lazily (its external-memory GC trigger)
 * plus allocator high water, not the body. rss never shrinks after a GC, so it is reported, not
 * asserted; the retained external memory (every Buffer and native allocation) is asserted.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { request, Agent as UndiciAgent } from 'undici'
import { startOrigin, startEdge, startAgent, visit, waitFor } from '../helpers/servers.js'

const MiB = 1024 * 1024
const BODY = 50 * MiB
const CHUNK = 64 * 1024
/**
 * Allowed growth of retained external memory (every Buffer, every native allocation) during a
 * 50 MiB transfer. Measured on Node 20 / 2 cores: 0.4-3 MiB (the 1 MiB stream window, socket
 * reads, chunks in hand). A tunnel that held the body would retain tens of MiB.
 */
const MAX_RETAINED = 8 * MiB
/**
 * How far a producer may get ahead of a stalled consumer. Measured ~10-12 MiB, nearly all of it in
 * kernel socket buffers of the two plain TCP hops (origin-agent, edge-visitor); the tunnel hop
 * holds at most its 1 MiB stream window (SPEC.md §1.5).
 */
const MAX_AHEAD = 25 * MiB
/** Stall the consumer after every this many bytes. */
const STALL_EVERY = 8 * MiB

// gc() for the retained-memory samples (the flag must be set before the function is created).
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** A full collection, including the ArrayBuffer backing stores V8 frees after the first pass. */
async function fullGc (): Promise<void> {
  gc()
  await new Promise((resolve) => setImmediate(resolve))
  gc()
}

/** A 64 KiB block from a seeded xorshift32, the basis of every chunk. */
const BLOCK = (() => {
  const b = Buffer.allocUnsafe(CHUNK)
  let x = 0x9e3779b9
  for (let i = 0; i < CHUNK; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    b.writeUInt32BE(x >>> 0, i)
  }
  return b
})()

/** Chunk `index` of the deterministic body: the block with the index stamped in, so order matters. */
function chunkAt (index: number, size: number): Buffer {
  const c = Buffer.allocUnsafe(size)
  BLOCK.copy(c, 0, 0, size)
  if (size >= 4) c.writeUInt32BE(index, 0)
  return c
}

/** The sha256 of the whole deterministic body of `total` bytes, computed chunk by chunk. */
function expectedHash (total: number): string {
  const h = createHash('sha256')
  for (let i = 0, sent = 0; sent < total; i++) {
    const n = Math.min(CHUNK, total - sent)
    h.update(chunkAt(i, n))
    sent += n
  }
  return h.digest('hex')
}

/**
 * A Readable producing the deterministic body on demand (it never holds more than its
 * highWaterMark); `onChunk` sees each chunk as it is produced (a 'data' listener would start the
 * flow before the request reads it).
 */
function bodyStream (total: number, onChunk: (chunk: Buffer) => void): Readable {
  let sent = 0
  let i = 0
  return new Readable({
    highWaterMark: CHUNK,
    read () {
      if (sent >= total) { this.push(null); return }
      const n = Math.min(CHUNK, total - sent)
      sent += n
      const chunk = chunkAt(i++, n)
      onChunk(chunk)
      this.push(chunk)
    },
  })
}

/** An origin handler that streams the deterministic body, honouring backpressure; `written` counts bytes handed to the socket. */
function streamingBody (total: number, progress: { written: number }) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) })
    let i = 0
    const pump = (): void => {
      while (progress.written < total) {
        const n = Math.min(CHUNK, total - progress.written)
        progress.written += n
        if (!res.write(chunkAt(i++, n))) { res.once('drain', pump); return }
      }
      res.end()
    }
    pump()
  }
}

/** Resolves once `value()` has not changed for 5 polls 20 ms apart (the producer is blocked). */
async function untilSteady (value: () => number, done: () => boolean): Promise<void> {
  let last = -1
  let steady = 0
  await waitFor(() => {
    steady = value() === last ? steady + 1 : 0
    last = value()
    return steady >= 5 || done()
  }, 10_000, 20)
}

interface Growth {
  /** Peak growth of external memory / rss seen right after a full GC. */
  retainedExternal: number
  retainedRss: number
  /** Peak growth without collecting first (garbage included); reported only. */
  rawExternal: number
  rawRss: number
}

/**
 * Samples memory every 50 ms until stop(): each sample reads the raw numbers, then collects and
 * reads the retained ones. Bounded to 2000 samples (100 s).
 */
async function sampleMemory (): Promise<{ stop: () => Promise<Growth> }> {
  await fullGc()
  const base = process.memoryUsage()
  const g: Growth = { retainedExternal: 0, retainedRss: 0, rawExternal: 0, rawRss: 0 }
  let stopped = false
  const loop = (async () => {
    for (let i = 0; i < 2000 && !stopped; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      const raw = process.memoryUsage()
      g.rawExternal = Math.max(g.rawExternal, raw.external - base.external)
      g.rawRss = Math.max(g.rawRss, raw.rss - base.rss)
      await fullGc()
      const m = process.memoryUsage() // external includes arrayBuffers, i.e. every Buffer
      g.retainedExternal = Math.max(g.retainedExternal, m.external - base.external)
      g.retainedRss = Math.max(g.retainedRss, m.rss - base.rss)
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
      return g
    },
  }
}

const mib = (n: number): string => (n / MiB).toFixed(1)
const report = (g: Growth): string =>
  `retained external +${mib(g.retainedExternal)} MiB, rss +${mib(g.retainedRss)} MiB; raw external +${mib(g.rawExternal)} MiB, rss +${mib(g.rawRss)} MiB`

const dispatcher = new UndiciAgent({ connections: 8 })
t.teardown(async () => { await dispatcher.close() })

const expected50 = expectedHash(BODY)

/** An origin answering the sha256 and length of the body it streamed through (never holding it). */
function hashingOrigin (onData?: (req: IncomingMessage, before: number, after: number) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const h = createHash('sha256')
    let bytes = 0
    req.on('data', (c: Buffer) => {
      h.update(c)
      bytes += c.length
      onData?.(req, bytes - c.length, bytes)
    })
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ sha256: h.digest('hex'), bytes }))
    })
  }
}

t.test('a 50 MiB upload streams to the origin byte-exact without buffering (SPEC.md §5.7)', async (t) => {
  const origin = await startOrigin(t, hashingOrigin())
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  t.equal((await visit(edge.base, '/warmup')).status, 200, 'warm-up request')

  const visitorHash = createHash('sha256')
  const body = bodyStream(BODY, (c) => visitorHash.update(c))
  const mem = await sampleMemory()
  const res = await visit(edge.base, '/upload', {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(BODY) },
    body,
  })
  const growth = await mem.stop()
  t.comment(`upload: ${report(growth)}`)

  t.equal(res.status, 200)
  const answer = JSON.parse(res.text) as { sha256: string, bytes: number }
  t.equal(answer.bytes, BODY, 'the origin received every byte')
  const mine = visitorHash.digest('hex')
  t.equal(mine, expected50, 'the visitor sent the deterministic body')
  t.equal(answer.sha256, mine, "the origin's sha256 equals the visitor's")
  t.equal(origin.received[1]?.headers['content-length'], String(BODY), 'content-length passed through')
  t.ok(growth.retainedExternal < MAX_RETAINED,
    `retained external memory grew ${mib(growth.retainedExternal)} MiB (< ${mib(MAX_RETAINED)} MiB for a ${mib(BODY)} MiB body)`)
})

t.test('a 50 MiB download streams to the visitor byte-exact without buffering (SPEC.md §5.7)', async (t) => {
  const progress = { written: 0 }
  const origin = await startOrigin(t, streamingBody(BODY, progress))
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)

  const mem = await sampleMemory()
  const res = await request(`${edge.base}/download`, { headers: { host: 'app.localhost' }, dispatcher })
  const h = createHash('sha256')
  let bytes = 0
  for await (const chunk of res.body) {
    h.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  const growth = await mem.stop()
  t.comment(`download: ${report(growth)}`)

  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-length'], String(BODY))
  t.equal(bytes, BODY, 'every byte arrived')
  t.equal(h.digest('hex'), expected50, 'the body is byte-exact')
  t.ok(growth.retainedExternal < MAX_RETAINED,
    `retained external memory grew ${mib(growth.retainedExternal)} MiB (< ${mib(MAX_RETAINED)} MiB for a ${mib(BODY)} MiB body)`)
})

t.test('a slow visitor reader stops the origin and still gets every byte (backpressure, SPEC.md §5.7)', async (t) => {
  const progress = { written: 0 }
  const origin = await startOrigin(t, streamingBody(BODY, progress))
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)

  const mem = await sampleMemory()
  const res = await request(`${edge.base}/slow`, { headers: { host: 'app.localhost' }, dispatcher })
  t.equal(res.statusCode, 200)
  const h = createHash('sha256')
  let bytes = 0
  let stalls = 0
  let maxAhead = 0
  for await (const chunk of res.body) {
    h.update(chunk as Buffer)
    const before = Math.floor(bytes / STALL_EVERY)
    bytes += (chunk as Buffer).length
    if (Math.floor(bytes / STALL_EVERY) !== before && bytes < BODY) {
      // Stop reading until the origin is blocked: its written count stops growing once the
      // windows and socket buffers between it and this reader are full.
      stalls++
      await untilSteady(() => progress.written, () => progress.written >= BODY)
      maxAhead = Math.max(maxAhead, progress.written - bytes)
    }
  }
  const growth = await mem.stop()
  t.comment(`slow reader: origin at most ${mib(maxAhead)} MiB ahead; ${report(growth)}`)

  t.equal(stalls, Math.floor((BODY - 1) / STALL_EVERY), 'the reader stalled after every 8 MiB')
  t.equal(bytes, BODY, 'every byte arrived')
  t.equal(h.digest('hex'), expected50, 'the body is byte-exact')
  t.ok(maxAhead < MAX_AHEAD, `while the reader stalled the origin was blocked, at most ${mib(maxAhead)} MiB ahead (< ${mib(MAX_AHEAD)} MiB)`)
  t.ok(growth.retainedExternal < MAX_RETAINED,
    `retained external memory grew ${mib(growth.retainedExternal)} MiB (< ${mib(MAX_RETAINED)} MiB)`)
})

t.test('a slow origin reader stops the visitor upload and still gets every byte (backpressure, SPEC.md §5.7)', async (t) => {
  let produced = 0
  let stalls = 0
  let maxAhead = 0
  const origin = await startOrigin(t, hashingOrigin((req, before, bytes) => {
    if (Math.floor(bytes / STALL_EVERY) === Math.floor(before / STALL_EVERY) || bytes >= BODY) return
    // Crossed an 8 MiB mark: stop reading until the visitor cannot produce more.
    req.pause()
    stalls++
    untilSteady(() => produced, () => produced >= BODY).finally(() => {
      maxAhead = Math.max(maxAhead, produced - bytes)
      req.resume()
    }).catch(() => {})
  }))
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)

  const visitorHash = createHash('sha256')
  const body = bodyStream(BODY, (c) => { produced += c.length; visitorHash.update(c) })
  const mem = await sampleMemory()
  const res = await visit(edge.base, '/slow-upload', {
    method: 'PUT',
    headers: { 'content-length': String(BODY) },
    body,
  })
  const growth = await mem.stop()
  t.comment(`slow origin: visitor at most ${mib(maxAhead)} MiB ahead; ${report(growth)}`)

  t.equal(res.status, 200)
  const answer = JSON.parse(res.text) as { sha256: string, bytes: number }
  t.equal(answer.bytes, BODY, 'every byte arrived')
  t.equal(answer.sha256, visitorHash.digest('hex'), 'the body is byte-exact')
  t.equal(stalls, Math.floor((BODY - 1) / STALL_EVERY), 'the origin stalled after every 8 MiB')
  t.ok(maxAhead < MAX_AHEAD, `while the origin stalled the visitor was blocked, at most ${mib(maxAhead)} MiB ahead (< ${mib(MAX_AHEAD)} MiB)`)
  t.ok(growth.retainedExternal < MAX_RETAINED,
    `retained external memory grew ${mib(growth.retainedExternal)} MiB (< ${mib(MAX_RETAINED)} MiB)`)
})

t.test('a streamed response reaches the visitor chunk by chunk, not buffered (SPEC.md §5.7)', async (t) => {
  let firstReceivedAt = 0
  let secondWrittenAt = 0
  let visitorHasFirst = false
  const origin = await startOrigin(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }) // chunked: no content-length
    res.write('first chunk\n')
    // The second chunk waits until the visitor has the first (at most 2 s; then the test fails).
    waitFor(() => visitorHasFirst, 2_000, 10).catch(() => {}).finally(() => {
      secondWrittenAt = performance.now()
      res.end('second chunk\n')
    })
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)

  const res = await request(`${edge.base}/stream`, { headers: { host: 'app.localhost' }, dispatcher })
  t.equal(res.statusCode, 200)
  let text = ''
  for await (const chunk of res.body) {
    if (firstReceivedAt === 0) {
      firstReceivedAt = performance.now()
      t.equal((chunk as Buffer).toString(), 'first chunk\n', 'the first chunk arrives on its own')
      visitorHasFirst = true
    }
    text += (chunk as Buffer).toString()
  }
  t.equal(text, 'first chunk\nsecond chunk\n', 'the whole body arrived')
  t.ok(secondWrittenAt > 0, 'the origin wrote the second chunk')
  t.ok(firstReceivedAt < secondWrittenAt, 'the visitor had the first chunk before the origin wrote the second')
})
