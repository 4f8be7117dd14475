/**
 * Edge shield per-hostname limits end to end (SPEC.md §11.1, §11.5): maxBodyBytes by Content-Length
 * (without inviting the body with 100 Continue) and on a chunked body that grows past it,
 * maxHeaderCount / maxHeaderBytes, originTimeoutMs. A real edge with a policy file, a real agent and
 * an origin that records every request, how many body bytes it got and whether the body completed.
 * Requests with framing undici would not send are written on raw sockets.
 */
import t, { type Test } from 'tap'
import type { Handler } from '../helpers/servers.js'
import { visit, waitFor } from '../helpers/servers.js'
import { Conn, shielded, type Answer } from './shield-wire.js'

const MAX_BODY = 1024

const POLICY = `
hosts:
  app.localhost:
    maxBodyBytes: ${MAX_BODY}
    maxHeaderCount: 20
    maxHeaderBytes: 2048
    originTimeoutMs: 500
`

interface Upload {
  url: string
  headers: Record<string, unknown>
  bytes: number
  /** The whole body arrived (the request ended normally). */
  complete: boolean
  /** The exchange is over at the origin (answered or aborted). */
  closed: boolean
}

/**
 * An origin that records each upload. `/slow` never answers; `/early` starts its response before
 * reading the body; every other path answers {url, bytes} once the body is complete.
 */
function uploadOrigin (uploads: Upload[]): Handler {
  return (req, res) => {
    const u: Upload = { url: req.url!, headers: req.headers, bytes: 0, complete: false, closed: false }
    uploads.push(u)
    req.on('error', () => {})
    res.on('close', () => { u.complete = req.complete; u.closed = true })
    if (req.url === '/slow') {
      req.resume()
      return
    }
    if (req.url === '/early') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('started\n')
    }
    req.on('data', (chunk: Buffer) => { u.bytes += chunk.length })
    req.on('end', () => {
      if (!res.headersSent) res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ url: req.url, bytes: u.bytes }))
    })
  }
}

function rejected (t: Test, res: Answer, status: number, code: string): void {
  t.equal(res.status, status, `status ${status}`)
  t.equal(res.headers['burrow-error'], code, code)
  t.equal(res.headers['cache-control'], 'no-store')
}

/** `total` bytes as chunks of `size`, with the last-chunk terminator. */
function chunked (total: number, size: number): string {
  let out = ''
  for (let sent = 0; sent < total; sent += size) {
    const n = Math.min(size, total - sent)
    out += `${n.toString(16)}\r\n${'b'.repeat(n)}\r\n`
  }
  return out + '0\r\n\r\n'
}

t.test('§11.1 maxBodyBytes: a Content-Length over the limit is 413 before the body is read; the origin sees nothing', async (t) => {
  const uploads: Upload[] = []
  const { origin, edge } = await shielded(t, POLICY, { handler: uploadOrigin(uploads) })
  const big = await Conn.open(t, edge.base)
  const fits = await Conn.open(t, edge.base)
  // The head alone: the answer cannot depend on how much of the body the edge happened to receive.
  big.send('POST', '/up', 'app.localhost', [['Content-Type', 'text/plain'], ['Content-Length', String(MAX_BODY + 1)]])
  const [over, ok] = await Promise.all([
    big.response('POST'),
    fits.request('POST', '/fits', 'app.localhost', [['Content-Type', 'text/plain']], 'y'.repeat(MAX_BODY)),
  ])
  rejected(t, over, 413, 'BURROW_ERR_BODY_TOO_LARGE')
  t.equal(over.headers.connection, 'close', 'the unread body is never parsed as a request: the connection closes')
  await big.waitClosed()
  t.equal(ok.status, 200, 'a body of exactly maxBodyBytes passes')
  t.same(JSON.parse(ok.text), { url: '/fits', bytes: MAX_BODY })
  t.same(origin.received.map((r) => r.url), ['/fits'], 'the oversized request never reached the origin')
  t.same(edge.edge.shieldStats(), { BURROW_ERR_BODY_TOO_LARGE: 1 })
})

t.test('§11.1 maxBodyBytes with Expect: 100-continue: 413 without a 100 Continue first; a body within the limit is invited and forwarded', async (t) => {
  const uploads: Upload[] = []
  const { origin, edge } = await shielded(t, POLICY, { handler: uploadOrigin(uploads) })

  const refused = await Conn.open(t, edge.base)
  refused.send('POST', '/up', 'app.localhost', [['Content-Length', '5000'], ['Expect', '100-continue']])
  const first = await refused.response('POST')
  rejected(t, first, 413, 'BURROW_ERR_BODY_TOO_LARGE')
  await refused.waitClosed()
  t.notOk(/HTTP\/1\.1 100/.test(refused.wire), 'no 100 Continue was ever sent on that connection')
  t.ok(refused.wire.startsWith('HTTP/1.1 413 '), 'the first bytes on the wire are the 413')

  const invited = await Conn.open(t, edge.base)
  invited.send('POST', '/fits', 'app.localhost', [['Content-Length', '10'], ['Expect', '100-continue']])
  const cont = await invited.response('POST')
  t.equal(cont.status, 100, 'a request within every limit gets 100 Continue')
  invited.write('0123456789')
  const ok = await invited.response('POST')
  t.equal(ok.status, 200)
  t.same(JSON.parse(ok.text), { url: '/fits', bytes: 10 })
  t.same(origin.received.map((r) => r.url), ['/fits'], 'the refused request never reached the origin')
  t.equal(uploads[0]?.headers.expect, undefined, 'the edge answered the expectation; the origin does not see it')
})

t.test('§11.1 maxBodyBytes on a chunked body: cut when it grows past the limit, 413 before the response started, a reset after; the origin never gets the whole body', async (t) => {
  const uploads: Upload[] = []
  const { edge } = await shielded(t, POLICY, { handler: uploadOrigin(uploads) })

  const cut = await Conn.open(t, edge.base)
  cut.send('POST', '/up', 'app.localhost', [['Transfer-Encoding', 'chunked']])
  // Three chunks past the limit and no last chunk: the edge stops reading a body that has not ended.
  cut.write(chunked(3 * 512, 512).slice(0, -'0\r\n\r\n'.length))
  const res = await cut.response('POST')
  rejected(t, res, 413, 'BURROW_ERR_BODY_TOO_LARGE')
  t.equal(res.headers.connection, 'close', 'the rest of the body is never parsed as a request: the connection closes')
  await cut.waitClosed()

  // A chunked body within the limit, after it on another connection, is forwarded whole.
  const fits = await Conn.open(t, edge.base)
  fits.send('POST', '/fits', 'app.localhost', [['Transfer-Encoding', 'chunked']])
  fits.write(chunked(MAX_BODY, 300))
  const ok = await fits.response('POST')
  t.equal(ok.status, 200)
  t.same(JSON.parse(ok.text), { url: '/fits', bytes: MAX_BODY })

  // The origin's response already started: the visitor's connection is broken, the body cut.
  const early = await Conn.open(t, edge.base)
  early.send('POST', '/early', 'app.localhost', [['Transfer-Encoding', 'chunked']])
  // A first chunk within the limit: the agent's origin request goes out with its first body bytes.
  early.write(`100\r\n${'b'.repeat(256)}\r\n`)
  await early.until(() => (early.wire.includes('started') ? true : undefined), 5_000, 'the early response')
  early.write(chunked(4 * 512, 512))
  const broken = await early.response('POST')
  t.equal(broken.status, 200, 'the response had started')
  t.equal(broken.complete, false, 'and ends broken, not short and looking complete')
  await early.waitClosed()

  await waitFor(() => ['/fits', '/early'].every((url) => uploads.find((u) => u.url === url)?.closed === true), 5_000)
  const byUrl = Object.fromEntries(uploads.map((u) => [u.url, u]))
  // /up may never reach the origin (the stream can be cancelled before the agent opens the origin
  // request); when it does, its body must end incomplete.
  t.notOk(byUrl['/up']?.complete === true, 'the origin never saw /up complete')
  t.equal(byUrl['/early']?.complete, false, 'the origin saw /early end incomplete')
  t.ok((byUrl['/early']?.bytes ?? 0) <= MAX_BODY, 'and got no more than the limit of it')
  t.equal(byUrl['/fits']?.complete, true)
  for (const u of uploads) t.ok(!u.complete || u.bytes <= MAX_BODY, `${u.url}: no complete body over ${MAX_BODY} bytes at the origin (${u.bytes} bytes, complete ${String(u.complete)})`)
  t.same(edge.edge.shieldStats(), { BURROW_ERR_BODY_TOO_LARGE: 2 }, 'both cut bodies are counted as rejections')
})

t.test('§11.1 maxHeaderCount and maxHeaderBytes: 431 BURROW_ERR_HEADERS_TOO_LARGE; the origin sees nothing of it', async (t) => {
  const { origin, edge } = await shielded(t, POLICY)
  const many: Record<string, string> = {}
  for (let i = 0; i < 25; i++) many[`x-field-${i}`] = String(i)
  const few: Record<string, string> = {}
  for (let i = 0; i < 5; i++) few[`x-field-${i}`] = String(i)
  const [count, bytes, ok] = await Promise.all([
    visit(edge.base, '/count', { headers: many }),
    visit(edge.base, '/bytes', { headers: { 'x-big': 'a'.repeat(3000) } }),
    visit(edge.base, '/ok', { headers: few }),
  ])
  rejected(t, count, 431, 'BURROW_ERR_HEADERS_TOO_LARGE')
  rejected(t, bytes, 431, 'BURROW_ERR_HEADERS_TOO_LARGE')
  t.equal(ok.status, 200, 'a request within both limits passes')
  t.same(origin.received.map((r) => r.url), ['/ok'])
  t.same(edge.edge.shieldStats(), { BURROW_ERR_HEADERS_TOO_LARGE: 2 })
})

t.test('§11.1 originTimeoutMs: a slow origin gives 504 BURROW_ERR_ORIGIN_TIMEOUT and its request is cancelled; a fast one is served meanwhile', async (t) => {
  const uploads: Upload[] = []
  const { edge } = await shielded(t, POLICY, { handler: uploadOrigin(uploads) })
  const [slow, fast] = await Promise.all([visit(edge.base, '/slow'), visit(edge.base, '/fast')])
  rejected(t, slow, 504, 'BURROW_ERR_ORIGIN_TIMEOUT')
  t.equal(fast.status, 200)
  t.same(JSON.parse(fast.text), { url: '/fast', bytes: 0 })
  t.ok(uploads.some((u) => u.url === '/slow'), 'the slow request did reach the origin (the origin is what was slow)')
  await waitFor(() => uploads.find((u) => u.url === '/slow')?.closed === true, 5_000)
  t.pass('the origin request of the timed-out exchange was cancelled')
})
