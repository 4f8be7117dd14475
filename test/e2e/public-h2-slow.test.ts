/**
 * The body idle timeout over HTTP/2 (SPEC.md §11.5, §6.1; README "Visitors over HTTP/2"): an h2c
 * visitor whose upload stalls while the edge is reading it gets 408 BURROW_ERR_REQUEST_TIMEOUT (or a
 * RST_STREAM CANCEL once a response started), only that stream closes, the session keeps serving
 * its other streams, and the origin sees an aborted request, never a short body that looks complete.
 * Uploads that are slow but steady, complete uploads waiting on a slow origin, and uploads the edge
 * itself holds back (a slow-reading origin, a policy check still running) are not cut. Real edge, agent and recording origin;
 * Node's http2 client with prior knowledge.
 */
import t, { type Test } from 'tap'
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { startOrigin, startEdge, startAgent, tempDir, waitFor } from '../helpers/servers.js'

const REQUEST_ID = /^[0-9a-f]{32}$/
const IDLE_MS = 500
const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

interface Seen {
  url: string
  /** Body bytes received (latin1), at most the first 4096. */
  body: string
  bytes: number
  /** The whole body arrived (the request ended normally). */
  complete: boolean
  /** The origin's request is over (ended or aborted). */
  closed: boolean
}

/**
 * An origin that records each request on arrival (so an aborted one shows too) and answers JSON
 * once the body ended. `?delay=ms` delays that answer; a path starting /early sends its response
 * head and a first chunk before reading the body; /pause-read stops reading the body for 1.5 s.
 */
async function recordingOrigin (t: Test): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const origin = await startOrigin(t, (req, res) => {
    const rec: Seen = { url: req.url!, body: '', bytes: 0, complete: false, closed: false }
    seen.push(rec)
    const early = req.url!.startsWith('/early')
    if (early) {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('early ')
    }
    const delay = Number(/[?&]delay=(\d+)/.exec(req.url!)?.[1] ?? 0)
    req.on('data', (chunk: Buffer) => {
      if (rec.bytes < 4096) rec.body += chunk.subarray(0, 4096 - rec.bytes).toString('latin1')
      rec.bytes += chunk.length
    })
    if (req.url!.startsWith('/pause-read')) {
      req.pause()
      setTimeout(() => req.resume(), 1_500)
    }
    req.on('close', () => { rec.closed = true })
    req.on('end', () => {
      rec.complete = true
      setTimeout(() => {
        if (early) {
          res.end('done')
          return
        }
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ url: req.url, bytes: rec.bytes, body: rec.body }))
      }, delay)
    })
  })
  return { url: origin.url, seen }
}

interface Outcome {
  status: number | undefined
  headers: IncomingHttpHeaders
  body: string
  /** RST_STREAM code the stream closed with (0 for a clean end or NO_ERROR). */
  rstCode: number
  /** Date.now() when the response head arrived, and when the stream closed. */
  respondedAt: number
  closedAt: number
}

/**
 * Opens a request stream on `session` (a POST whose body is left open, unless `endStream`) and
 * collects its outcome; the client cancels the stream after `timeoutMs`, so nothing waits unbounded.
 */
function open (session: ClientHttp2Session, headers: OutgoingHttpHeaders, options: { endStream?: boolean, timeoutMs?: number } = {}): { stream: ClientHttp2Stream, outcome: Promise<Outcome> } {
  const timeoutMs = options.timeoutMs ?? 6_000
  const stream = session.request({ ':authority': 'app.localhost', ':method': 'POST', ...headers }, { endStream: options.endStream ?? false })
  const out: Outcome = { status: undefined, headers: {}, body: '', rstCode: 0, respondedAt: 0, closedAt: 0 }
  stream.on('response', (h: IncomingHttpHeaders) => {
    out.status = Number(h[':status'])
    out.headers = h
    out.respondedAt = Date.now()
  })
  stream.setEncoding('latin1')
  stream.on('data', (chunk: string) => { out.body += chunk })
  stream.on('error', () => {}) // a reset shows in rstCode
  const timer = setTimeout(() => stream.close(NGHTTP2_CANCEL), timeoutMs)
  const outcome = new Promise<Outcome>((resolve) => stream.once('close', () => {
    clearTimeout(timer)
    out.rstCode = stream.rstCode ?? 0
    out.closedAt = Date.now()
    resolve(out)
  }))
  return { stream, outcome }
}

/** The origin's JSON answer, or undefined for anything else (e.g. an edge error's text). */
function json (body: string): { url?: string, body?: string, bytes?: number } | undefined {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

async function write (stream: ClientHttp2Stream, data: string | Buffer): Promise<void> {
  await new Promise<void>((resolve) => stream.write(data, () => resolve()))
}

/** A plain GET on `session`: 200 from the origin, with the path echoed. */
async function assertServed (t: Test, session: ClientHttp2Session, path: string, what: string): Promise<void> {
  const { outcome } = open(session, { ':method': 'GET', ':path': path }, { endStream: true })
  const res = await outcome
  t.equal(res.status, 200, `${what}: 200`)
  t.equal(json(res.body)?.url, path, `${what}: answered by the origin`)
}

t.test('§11.5 HTTP/2 body idle timeout (bodyIdleTimeoutMs 500, h2c)', async (t) => {
  const origin = await recordingOrigin(t)
  const edge = await startEdge(t, { bodyIdleTimeoutMs: IDLE_MS })
  await startAgent(t, edge, origin.url)
  const seenUnder = (prefix: string): Seen[] => origin.seen.filter((s) => s.url.startsWith(prefix))
  const connect = async (): Promise<{ session: ClientHttp2Session, goaways: () => number }> => {
    const session = http2.connect(`http://127.0.0.1:${edge.edge.publicAddress.port}`)
    session.on('error', () => {})
    let goaways = 0
    session.on('goaway', () => { goaways++ })
    t.teardown(() => session.destroy())
    await once(session, 'connect')
    return { session, goaways: () => goaways }
  }

  await t.test('a stalled upload: 408 BURROW_ERR_REQUEST_TIMEOUT, the stream closed, the origin saw it aborted; the session serves other streams', async (t) => {
    const { session, goaways } = await connect()
    const byLength = open(session, { ':path': '/stall/cl', 'content-length': '10' })
    const unframed = open(session, { ':path': '/stall/open' })
    await Promise.all([write(byLength.stream, 'abc'), write(unframed.stream, 'abc')])
    const lastWrite = Date.now()
    await assertServed(t, session, '/during', 'a second stream on the same session while the uploads stall')
    for (const [what, res] of [['content-length 10, 3 bytes sent', await byLength.outcome], ['no content-length', await unframed.outcome]] as const) {
      t.equal(res.status, 408, `${what}: 408`)
      t.equal(res.headers['burrow-error'], 'BURROW_ERR_REQUEST_TIMEOUT', `${what}: burrow-error`)
      t.match(res.headers['burrow-request-id'], REQUEST_ID, `${what}: a request id`)
      t.match(res.body, /BURROW_ERR_REQUEST_TIMEOUT/, `${what}: the coded body`)
      const after = res.respondedAt - lastWrite
      t.ok(res.respondedAt > 0 && after >= IDLE_MS - 50 && after < 2_000, `${what}: answered ${res.respondedAt > 0 ? after : 'never'} ms after the last DATA (idle timeout ${IDLE_MS} ms)`)
      t.equal(res.rstCode, NGHTTP2_NO_ERROR, `${what}: then the edge closed the stream (RST_STREAM NO_ERROR), though the client never ended its upload`)
      t.ok(res.respondedAt > 0 && res.closedAt - res.respondedAt < 1_000, `${what}: closed right after the answer`)
    }
    await waitFor(() => seenUnder('/stall/').length === 2 && seenUnder('/stall/').every((s) => s.closed), 3_000)
    t.same(seenUnder('/stall/').map((s) => [s.url, s.body, s.complete]).sort(), [['/stall/cl', 'abc', false], ['/stall/open', 'abc', false]],
      'the origin got both requests aborted after the bytes sent, never a short body that looks complete')
    t.notOk(session.destroyed || session.closed, 'the session is still open')
    t.equal(goaways(), 0, 'no GOAWAY')
    await assertServed(t, session, '/after', 'a new stream on the same session after the cut')
  })

  await t.test('a stall after the response started: the stream is reset with CANCEL, no 408 inside the response', async (t) => {
    const { session, goaways } = await connect()
    const early = open(session, { ':path': '/early/stall' })
    await write(early.stream, 'abc')
    const res = await early.outcome
    t.equal(res.status, 200, 'the origin\'s early 200')
    t.equal(res.body, 'early ', 'its first chunk, and nothing after it')
    t.equal(res.rstCode, NGHTTP2_CANCEL, 'RST_STREAM CANCEL: the response is visibly cut')
    t.ok(res.closedAt - res.respondedAt >= IDLE_MS - 50, `reset ${res.closedAt - res.respondedAt} ms after the response started`)
    await waitFor(() => seenUnder('/early/stall').length === 1 && seenUnder('/early/stall')[0]!.closed, 3_000)
    t.same(seenUnder('/early/stall').map((s) => [s.body, s.complete]), [['abc', false]], 'the origin saw the request aborted')
    t.notOk(session.destroyed || session.closed, 'the session is still open')
    t.equal(goaways(), 0, 'no GOAWAY')
    await assertServed(t, session, '/after-reset', 'a new stream on the same session after the reset')
  })

  await t.test('not cut: a slow but steady upload, a complete upload to a slow origin, an upload the edge holds back', async (t) => {
    const { session } = await connect()
    const steadyRun = (async () => {
      const steady = open(session, { ':path': '/steady' })
      const chunks = 'abcdefghij'
      for (const c of chunks) { // one chunk every 150 ms for 1.5 s, with a 500 ms idle timeout
        await write(steady.stream, c)
        await sleep(150)
      }
      steady.stream.end()
      return await steady.outcome
    })()
    const slowOrigin = open(session, { ':path': '/slow-origin?delay=1200' })
    slowOrigin.stream.end('abc')
    const [steady, slow] = await Promise.all([steadyRun, slowOrigin.outcome])
    t.equal(steady.status, 200, 'steady: 200')
    t.equal(steady.rstCode, NGHTTP2_NO_ERROR, 'steady: a clean end')
    t.equal(json(steady.body)?.body, 'abcdefghij', 'steady: the whole body reached the origin')
    t.equal(slow.status, 200, 'a 1.2 s origin behind a complete body: 200')
    t.equal(json(slow.body)?.body, 'abc', 'slow origin: the body reached it')
    t.same(seenUnder('/steady').concat(seenUnder('/slow-origin')).map((s) => s.complete), [true, true], 'the origin got both bodies complete')

    // 32 MiB as fast as the windows allow, to an origin that stops reading for 1.5 s: the edge stops
    // reading the visitor (backpressure through the tunnel), which is not the visitor's stall.
    const size = 32 * 1024 * 1024
    const big = open(session, { ':path': '/pause-read' }, { timeoutMs: 20_000 })
    big.stream.end(Buffer.alloc(size, 0x61))
    const res = await big.outcome
    t.equal(res.status, 200, 'a large body held back by a slow origin for 1.5 s: 200')
    t.equal(json(res.body)?.bytes, size, 'every byte reached the origin')
  })
})

t.test('§11.5 HTTP/2 body idle timeout: a body the edge does not read yet, while a policy check runs longer than the timeout, is not cut', async (t) => {
  // The JWT's keys come from a JWK set URL that answers after 1.5 s: the request waits in the shield's
  // check that long, with its upload unread.
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const jwks = JSON.stringify({ keys: [{ ...await exportJWK(publicKey), kid: 'k1', alg: 'ES256', use: 'sig' }] })
  const keys = await startOrigin(t, (_req, res) => {
    setTimeout(() => {
      res.setHeader('content-type', 'application/json')
      res.end(jwks)
    }, 1_500)
  })
  const dir = await tempDir(t, 'burrow-h2-slow-')
  const config = join(dir, 'edge.yaml')
  const issuer = 'https://issuer.test/'
  await writeFile(config, `hosts:\n  app.localhost:\n    auth:\n      jwt: { jwksUrl: "${keys.url}/jwks", issuer: "${issuer}", audience: burrow }\n`)
  const origin = await recordingOrigin(t)
  const edge = await startEdge(t, { bodyIdleTimeoutMs: IDLE_MS, config })
  await startAgent(t, edge, origin.url)
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(issuer).setSubject('user-1')
    .setAudience('burrow').setIssuedAt().setExpirationTime('5m').sign(privateKey)

  const session = http2.connect(`http://127.0.0.1:${edge.edge.publicAddress.port}`)
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  await once(session, 'connect')
  const gated = open(session, { ':path': '/gated', authorization: `Bearer ${token}` })
  const started = Date.now()
  await write(gated.stream, 'abc')
  // Nothing more until the check is over (1.5 s, three idle timeouts), then the rest within one.
  await sleep(1_200)
  t.equal(keys.received.length, 1, 'the policy check is fetching the keys')
  t.same(origin.seen, [], 'the request is still in the policy check')
  await sleep(500)
  gated.stream.end('def')
  const res = await gated.outcome
  t.equal(res.status, 200, `the upload idle for 1.7 s while the check ran: 200 (answered after ${res.respondedAt - started} ms)`)
  t.equal(json(res.body)?.body, 'abcdef', 'the whole body reached the origin')
  t.same(origin.seen.map((s) => [s.url, s.complete]), [['/gated', true]], 'the origin got it complete')
})
