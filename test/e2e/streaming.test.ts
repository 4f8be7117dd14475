/**
 * Bodies stream through the tunnel and are never buffered whole (SPEC.md §5.7 "No party buffers a
 * whole request or response body", §1.5 windows bound memory per tunnel).
 *
 * The edge and the agent run in this process, so process.memoryUsage() sampled every 50 ms during a
 * 50 MiB transfer shows whether either of them holds the body: growth must stay far below the body
 * size. The visitor and the origin never keep more than one chunk either: both sides hash as they go.
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
 * Allowed growth of rss and of external memory (Buffers live there) over the baseline, for a 50 MiB
 * body. Measured on Node 20 / 2 cores: a few MiB (the 1 MiB stream window, socket buffers, chunks
 * not yet collected). A tunnel that buffered the body would grow by at least 50 MiB.
 */
const MAX_GROWTH = 25 * MiB

// A gc() for steady baselines (the flag must be set before the function is created).
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

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

/** Chunk `index` of a deterministic body: the block with the index stamped in, so order matters. */
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

interface Growth { rss: number, external: number }

/** Samples memory every 50 ms from now until stop(); returns peak growth over the baseline. */
function sampleMemory (): { stop: () => Growth } {
  gc()
  const base = process.memoryUsage()
  let rss = base.rss
  let external = base.external // includes arrayBuffers, i.e. every Buffer
  const sample = (): void => {
    if (process.env.LIVE === '1') gc()
    const m = process.memoryUsage()
    if (m.rss > rss) rss = m.rss
    if (m.external > external) external = m.external
  }
  const timer = setInterval(sample, 50)
  return {
    stop: () => {
      sample()
      clearInterval(timer)
      return { rss: rss - base.rss, external: external - base.external }
    },
  }
}

const mib = (n: number): string => (n / MiB).toFixed(1)

const dispatcher = new UndiciAgent({ connections: 8 })
t.teardown(async () => { await dispatcher.close() })

const expected50 = expectedHash(BODY)

t.test('a 50 MiB upload streams to the origin byte-exact without buffering (SPEC.md §5.7)', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    const h = createHash('sha256')
    let bytes = 0
    req.on('data', (c: Buffer) => { h.update(c); bytes += c.length })
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ sha256: h.digest('hex'), bytes }))
    })
  })
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)
  t.equal((await visit(edge.base, '/warmup')).status, 200, 'warm-up request')

  const visitorHash = createHash('sha256')
  const body = bodyStream(BODY, (c) => visitorHash.update(c))
  const mem = sampleMemory()
  const res = await visit(edge.base, '/upload', {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(BODY) },
    body,
  })
  const growth = mem.stop()
  t.comment(`upload: peak rss +${mib(growth.rss)} MiB, external +${mib(growth.external)} MiB`)

  t.equal(res.status, 200)
  const answer = JSON.parse(res.text) as { sha256: string, bytes: number }
  t.equal(answer.bytes, BODY, 'the origin received every byte')
  const mine = visitorHash.digest('hex')
  t.equal(mine, expected50, 'the visitor sent the deterministic body')
  t.equal(answer.sha256, mine, "the origin's sha256 equals the visitor's")
  t.equal(origin.received[1]?.headers['content-length'], String(BODY), 'content-length passed through')
  t.ok(growth.rss < MAX_GROWTH, `rss grew ${mib(growth.rss)} MiB (< ${mib(MAX_GROWTH)} MiB)`)
  t.ok(growth.external < MAX_GROWTH, `external memory grew ${mib(growth.external)} MiB (< ${mib(MAX_GROWTH)} MiB)`)
})

t.test('a 50 MiB download streams to the visitor byte-exact without buffering (SPEC.md §5.7)', async (t) => {
  const progress = { written: 0 }
  const origin = await startOrigin(t, streamingBody(BODY, progress))
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)

  const mem = sampleMemory()
  const res = await request(`${edge.base}/download`, { headers: { host: 'app.localhost' }, dispatcher })
  const h = createHash('sha256')
  let bytes = 0
  for await (const chunk of res.body) {
    h.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  const growth = mem.stop()
  t.comment(`download: peak rss +${mib(growth.rss)} MiB, external +${mib(growth.external)} MiB`)

  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-length'], String(BODY))
  t.equal(bytes, BODY, 'every byte arrived')
  t.equal(h.digest('hex'), expected50, 'the body is byte-exact')
  t.ok(growth.rss < MAX_GROWTH, `rss grew ${mib(growth.rss)} MiB (< ${mib(MAX_GROWTH)} MiB)`)
  t.ok(growth.external < MAX_GROWTH, `external memory grew ${mib(growth.external)} MiB (< ${mib(MAX_GROWTH)} MiB)`)
})

t.test('a stalled visitor reader stops the origin: backpressure end to end (SPEC.md §5.7)', async (t) => {
  const progress = { written: 0 }
  const origin = await startOrigin(t, streamingBody(BODY, progress))
  const edge = await startEdge(t)
  await startAgent(t, edge, origin)

  const mem = sampleMemory()
  const res = await request(`${edge.base}/slow`, { headers: { host: 'app.localhost' }, dispatcher })
  t.equal(res.statusCode, 200)
  const h = createHash('sha256')
  let bytes = 0
  let stalls = 0
  let maxAhead = 0
  const iterator = res.body[Symbol.asyncIterator]()
  for (;;) {
    const next = await iterator.next()
    if (next.done === true) break
    const chunk = next.value as Buffer
    h.update(chunk)
    const before = Math.floor(bytes / (8 * MiB))
    bytes += chunk.length
    if (Math.floor(bytes / (8 * MiB)) !== before && bytes < BODY) {
      // Stop reading after every 8 MiB until the origin is blocked: its written count stops
      // growing once the windows and socket buffers between it and this reader are full.
      stalls++
      let last = -1
      let steady = 0
      await waitFor(() => {
        steady = progress.written === last ? steady + 1 : 0
        last = progress.written
        return steady >= 5 || progress.written >= BODY
      }, 10_000, 20)
      maxAhead = Math.max(maxAhead, progress.written - bytes)
    }
  }
  const growth = mem.stop()
  t.comment(`slow reader: origin at most ${mib(maxAhead)} MiB ahead; peak rss +${mib(growth.rss)} MiB, external +${mib(growth.external)} MiB`)

  t.equal(stalls, 6, 'the reader stalled six times')
  t.equal(bytes, BODY, 'every byte arrived')
  t.equal(h.digest('hex'), expected50, 'the body is byte-exact')
  t.ok(maxAhead < MAX_GROWTH, `while the reader stalled, the origin was at most ${mib(maxAhead)} MiB ahead of it (< ${mib(MAX_GROWTH)} MiB)`)
  t.ok(growth.rss < MAX_GROWTH, `rss grew ${mib(growth.rss)} MiB (< ${mib(MAX_GROWTH)} MiB)`)
  t.ok(growth.external < MAX_GROWTH, `external memory grew ${mib(growth.external)} MiB (< ${mib(MAX_GROWTH)} MiB)`)
})

t.test('a streamed response reaches the visitor chunk by chunk, not buffered (SPEC.md §5.7)', async (t) => {
  let firstReceivedAt = 0
  let secondWrittenAt = 0
  let visitorHasFirst = false
  const origin = await startOrigin(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }) // chunked: no content-length
    res.write('first chunk\n')
    // Write the second chunk only once the visitor has the first (or after 2 s, which fails the test).
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
      t.equal((chunk as Buffer).toString(), 'first chunk\n', 'the first chunk arrives alone')
      visitorHasFirst = true
    }
    text += (chunk as Buffer).toString()
  }
  t.equal(text, 'first chunk\nsecond chunk\n')
  t.ok(firstReceivedAt > 0 && secondWrittenAt > 0)
  t.ok(firstReceivedAt < secondWrittenAt, 'the visitor had the first chunk before the origin wrote the second')
})
