/**
 * The public HTTP/1.1 listener as a shield (issue #4, design-shield.md "Public listener hardening";
 * SPEC.md §5.1, §5.3, §6, §6.1): request smuggling, Host confusion, header sanitation, slow
 * clients and Expect: 100-continue, each sent byte for byte on raw sockets through a real edge and
 * two real agents (app.localhost and other.localhost, each with its own recording origin). Every
 * case asserts what the origins received, and a well-behaved visitor keeps getting 200 on the same
 * tunnel while the abuse goes on.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import type { IncomingHttpHeaders } from 'node:http'
import { startOrigin, startEdge, startAgent, visit, waitFor, type StartedEdge } from '../helpers/servers.js'
import { rawRequest, header } from '../helpers/raw-http.js'
import type { EdgeOptions } from '../../src/edge/edge.js'

const REQUEST_ID = /^[0-9a-f]{32}$/
const HOST = 'Host: app.localhost\r\n'
/** A complete request hidden where a body should be: it must never reach any origin as a request. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: app.localhost\r\n\r\n'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// Recording origins and the two-tunnel fixture
// ---------------------------------------------------------------------------------------------

interface Seen {
  method: string
  url: string
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  /** Body bytes as latin1, whatever arrived. */
  body: string
  /** The whole body arrived (the request ended normally). */
  complete: boolean
  /** The origin's request is over (ended or aborted). */
  closed: boolean
}

interface RecordingOrigin { name: string, seen: Seen[] }

/**
 * An origin that records each request on arrival (so an aborted one is visible too) and answers
 * JSON once the body ended. `?delay=ms` delays the answer; a path starting /early sends its
 * response head and a first chunk before reading the body; one starting /pause-read stops reading
 * the body for 1.5 s.
 */
async function recordingOrigin (t: Test, name: string): Promise<RecordingOrigin & { url: string }> {
  const seen: Seen[] = []
  const origin = await startOrigin(t, (req, res) => {
    const rec: Seen = { method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: '', complete: false, closed: false }
    seen.push(rec)
    const early = req.url!.startsWith('/early')
    if (early) {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('early ')
    }
    const delay = Number(/[?&]delay=(\d+)/.exec(req.url!)?.[1] ?? 0)
    req.setEncoding('latin1')
    req.on('data', (chunk: string) => { rec.body += chunk })
    if (req.url!.startsWith('/pause-read')) {
      // A slow origin: stops reading the body for a while, so the edge stops reading the visitor's.
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
        res.end(JSON.stringify({ origin: name, method: req.method, url: req.url, bytes: rec.body.length, body: rec.body.slice(0, 4096) }))
      }, delay)
    })
  })
  return { name, seen, url: origin.url }
}

interface Fixture {
  edge: StartedEdge
  port: number
  app: RecordingOrigin
  other: RecordingOrigin
  /** Registrations after the first one of each agent: a broken tunnel session shows up here. */
  reRegistrations: () => number
}

/** An edge with two tunnels: app.localhost → origin "app", other.localhost → origin "other". */
async function twoTunnels (t: Test, options: Partial<EdgeOptions> = {}): Promise<Fixture> {
  const app = await recordingOrigin(t, 'app')
  const other = await recordingOrigin(t, 'other')
  const edge = await startEdge(t, options)
  const agents = [
    await startAgent(t, edge, app.url),
    await startAgent(t, edge, other.url, { hostnames: ['other.localhost'] }),
  ]
  let again = 0
  for (const agent of agents) agent.on('registered', () => { again++ })
  return { edge, port: edge.edge.publicAddress.port, app, other, reRegistrations: () => again }
}

/** Requests an origin saw whose path starts with `prefix`. */
function seenUnder (origin: RecordingOrigin, prefix: string): Seen[] {
  return origin.seen.filter((s) => s.url.startsWith(prefix))
}

/** Lower-cased header names as the origin received them. */
function rawNames (s: Seen): string[] {
  const out: string[] = []
  for (let i = 0; i < s.rawHeaders.length; i += 2) out.push(s.rawHeaders[i]!.toLowerCase())
  return out
}

function rawValues (s: Seen, name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < s.rawHeaders.length; i += 2) if (s.rawHeaders[i]!.toLowerCase() === name) out.push(s.rawHeaders[i + 1]!)
  return out
}

/** Neither origin ever received the smuggled request (nor a GPOST-style method glued to one). */
function assertNothingSmuggled (t: Test, f: Fixture): void {
  for (const origin of [f.app, f.other]) {
    const smuggled = origin.seen.filter((s) => s.url.includes('smuggled') || !/^[A-Z]+$/.test(s.method) || (s.method !== 'GET' && s.method !== 'POST'))
    t.same(smuggled.map((s) => `${s.method} ${s.url}`), [], `origin ${origin.name} never received a smuggled request`)
  }
}

/**
 * Runs `abuse` while a well-behaved visitor sends GETs to app.localhost through the same tunnel in
 * a loop; every one of them must get 200 from the app origin. Bounded in count; at least one is
 * answered before the abuse starts and at least three in all.
 */
async function whileServing<R> (t: Test, f: Fixture, abuse: () => Promise<R>): Promise<R> {
  const statuses: number[] = []
  const wrong: string[] = []
  let stop = false
  const loop = (async () => {
    for (let i = 0; i < 5_000 && (!stop || statuses.length < 3); i++) {
      const res = await visit(f.edge.base, `/good/${i}`)
      statuses.push(res.status)
      if (res.status !== 200 || JSON.parse(res.text).origin !== 'app') wrong.push(`${res.status} ${res.text.slice(0, 120)}`)
      await sleep(5)
    }
  })()
  await waitFor(() => statuses.length >= 1, 5_000)
  try {
    return await abuse()
  } finally {
    stop = true
    await loop
    t.ok(statuses.length >= 3, `${statuses.length} well-behaved requests were served alongside`)
    t.same(wrong, [], 'every well-behaved request got 200 from its own origin')
  }
}

// ---------------------------------------------------------------------------------------------
// Raw socket conversations
// ---------------------------------------------------------------------------------------------

interface Conversation {
  /** Everything the edge sent, latin1. */
  text: string
  /** The edge closed the connection (we did not). */
  closedByEdge: boolean
  /** Milliseconds from the last write to the edge's close (when it closed). */
  closedAfterMs: number
}

/**
 * Writes `parts` (latin1, `gapMs` apart) on one fresh connection, then reads until the edge closes
 * it, `until(text)` holds, or `waitMs` passes. Bounded in time; never throws on resets.
 */
async function converse (port: number, parts: Array<string | Buffer>, opts: { gapMs?: number, waitMs?: number, until?: (text: string) => boolean } = {}): Promise<Conversation> {
  const socket = net.connect(port, '127.0.0.1')
  let text = ''
  let closed = false
  let closedAt = 0
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.on('close', () => { closed = true; closedAt = Date.now() })
  socket.on('error', () => {})
  for (const part of parts) {
    if (closed) break
    socket.write(typeof part === 'string' ? Buffer.from(part, 'latin1') : part)
    if (opts.gapMs !== undefined) await sleep(opts.gapMs)
  }
  const lastWrite = Date.now()
  const deadline = lastWrite + (opts.waitMs ?? 3_000)
  while (!closed && Date.now() < deadline && !(opts.until?.(text) ?? false)) await sleep(10)
  const closedByEdge = closed
  socket.destroy()
  return { text, closedByEdge, closedAfterMs: closedByEdge ? closedAt - lastWrite : -1 }
}

/**
 * Status codes of the responses in `text`, in order, read by their framing (1xx and bodiless
 * heads, Content-Length, chunked, else up to the end). Bounded by the text's length.
 */
function statuses (text: string): number[] {
  const out: number[] = []
  let at = 0
  while (at < text.length && out.length < 100) {
    const end = text.indexOf('\r\n\r\n', at)
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(text.slice(at, at + 13))
    if (end === -1 || m === null) break
    const status = Number(m[1])
    out.push(status)
    const head = text.slice(at, end).toLowerCase()
    at = end + 4
    if (status < 200 || status === 204 || status === 304) continue
    const cl = /\r\ncontent-length: *(\d+)/.exec(head)
    if (cl !== null) {
      at += Number(cl[1])
    } else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      for (let guard = 0; guard < 10_000; guard++) {
        const eol = text.indexOf('\r\n', at)
        if (eol === -1) return out
        const size = parseInt(text.slice(at, eol), 16)
        if (Number.isNaN(size)) return out
        at = eol + 2 + size + 2
        if (size === 0) break
      }
    } else {
      break
    }
  }
  return out
}

/** A header of the first response head in `text` (case-insensitive name), if present. */
function firstHeader (text: string, name: string): string | undefined {
  const head = text.slice(0, text.indexOf('\r\n\r\n'))
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim()
  }
  return undefined
}

/** The edge's coded 400 for a request its parser or proxy refused, then the connection closes. */
function assertRejected (t: Test, c: Conversation, what: string, status = 400, code = 'BURROW_ERR_BAD_REQUEST'): void {
  t.same(statuses(c.text), [status], `${what}: one ${status}, nothing else`)
  t.equal(firstHeader(c.text, 'burrow-error'), code, `${what}: ${code}`)
  t.equal(firstHeader(c.text, 'cache-control'), 'no-store', `${what}: no-store`)
  t.ok(c.closedByEdge, `${what}: the edge closed the connection`)
}

// ---------------------------------------------------------------------------------------------
// Framing and request smuggling
// ---------------------------------------------------------------------------------------------

t.test('§6.1 ambiguous framing (CL+TE, two Content-Length, obfuscated TE, obs-fold) gets 400 BURROW_ERR_BAD_REQUEST and a closed connection; no origin sees the request or what it hides', async (t) => {
  const f = await twoTunnels(t)
  const te = (value: string, path: string): string => `POST ${path} HTTP/1.1\r\n${HOST}Transfer-Encoding: ${value}\r\n\r\n3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`
  const cases: Array<[string, string]> = [
    ['CL.TE: Content-Length 4 + chunked, a request after the last chunk', `POST /f/clte HTTP/1.1\r\n${HOST}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['TE.CL: chunked + Content-Length 3, a request inside the chunk', `POST /f/tecl HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`],
    ['Content-Length + Transfer-Encoding hidden behind a tab', `POST /f/cltab HTTP/1.1\r\n${HOST}Content-Length: 3\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['two different Content-Length values', `POST /f/cl2 HTTP/1.1\r\n${HOST}Content-Length: 3\r\nContent-Length: ${3 + SMUGGLED.length}\r\n\r\nabc${SMUGGLED}`],
    ['two equal Content-Length values', `POST /f/cl2eq HTTP/1.1\r\n${HOST}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc${SMUGGLED}`],
    ['a Content-Length list "3, 3"', `POST /f/cllist HTTP/1.1\r\n${HOST}Content-Length: 3, 3\r\n\r\nabc${SMUGGLED}`],
    ['Content-Length "+3"', `POST /f/clplus HTTP/1.1\r\n${HOST}Content-Length: +3\r\n\r\nabc${SMUGGLED}`],
    ['Transfer-Encoding: chunked, identity', te('chunked, identity', '/f/te-ci')],
    ['Transfer-Encoding: xchunked', te('xchunked', '/f/te-x')],
    ['Transfer-Encoding: identity', te('identity', '/f/te-id')],
    ['two Transfer-Encoding fields (chunked, then identity)', `POST /f/te2 HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    ['"Transfer-Encoding : chunked" (space before the colon)', `POST /f/te-sp HTTP/1.1\r\n${HOST}Transfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    ['"Transfer-Encoding\\t: chunked" (tab before the colon)', `POST /f/te-tab HTTP/1.1\r\n${HOST}Transfer-Encoding\t: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding with a vertical tab before chunked', te('\x0bchunked', '/f/te-vt')],
    ['obs-fold continuing an ordinary field', `GET /f/fold HTTP/1.1\r\n${HOST}X-A: one\r\n two\r\n\r\n${SMUGGLED}`],
    ['obs-fold continuing Transfer-Encoding', `POST /f/fold-te HTTP/1.1\r\n${HOST}Transfer-Encoding: identity\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    ['obs-fold continuing Host', `GET /f/fold-host HTTP/1.1\r\nHost: other.localhost\r\n app.localhost\r\n\r\n`],
  ]
  await whileServing(t, f, async () => {
    for (const [what, bytes] of cases) assertRejected(t, await converse(f.port, [bytes]), what)
  })
  t.same([...seenUnder(f.app, '/f/'), ...seenUnder(f.other, '/f/')].map((s) => s.url), [], 'the origins saw none of the refused requests')
  assertNothingSmuggled(t, f)
  t.equal(f.reRegistrations(), 0, 'no tunnel was re-established')
})

t.test('§6.1 broken chunked bodies (bad sizes, missing CRLF, LF-only lines, huge extensions) get 400 and a closed connection; the origin never gets a complete request or the one hidden behind', async (t) => {
  const f = await twoTunnels(t)
  const chunked = (path: string, body: string): string => `POST ${path} HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n${body}`
  const cases: Array<[string, string]> = [
    ['a chunk size that is not hex', chunked('/b/zz', `zz\r\nabc\r\n0\r\n\r\n${SMUGGLED}`)],
    ['a negative chunk size', chunked('/b/neg', `-3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`)],
    ['a 0x-prefixed chunk size', chunked('/b/0x', `0x3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`)],
    ['a chunk size overflowing 64 bits', chunked('/b/overflow', `fffffffffffffffff\r\nabc\r\n0\r\n\r\n${SMUGGLED}`)],
    ['chunk data without its CRLF', chunked('/b/nocrlf', `3\r\nabcX0\r\n\r\n${SMUGGLED}`)],
    ['chunk data longer than its size', chunked('/b/long', `3\r\nabcdef\r\n0\r\n\r\n${SMUGGLED}`)],
    ['LF-only chunk lines', chunked('/b/lf', `3\nabc\n0\n\n${SMUGGLED}`)],
    ['a 20 KB chunk extension', chunked('/b/ext', `3;${'x'.repeat(20_000)}\r\nabc\r\n0\r\n\r\n${SMUGGLED}`)],
  ]
  await whileServing(t, f, async () => {
    for (const [what, bytes] of cases) assertRejected(t, await converse(f.port, [bytes]), what)
    // The same, with the bad chunk arriving after the request was already forwarded.
    const split = await converse(f.port, [chunked('/b/split', '3\r\nabc\r\n'), `zz\r\n${SMUGGLED}`], { gapMs: 150 })
    assertRejected(t, split, 'a bad chunk size arriving after the request started')
  })
  await waitFor(() => seenUnder(f.app, '/b/').every((s) => s.closed), 3_000)
  const started = seenUnder(f.app, '/b/')
  t.same(started.filter((s) => s.complete).map((s) => s.url), [], 'no broken-body request reached the origin complete')
  t.ok(started.some((s) => s.url === '/b/split'), 'the split request had been forwarded before its body broke (streaming, not buffering)')
  t.same(seenUnder(f.other, '/'), [], 'the other origin saw nothing')
  assertNothingSmuggled(t, f)
  t.equal(f.reRegistrations(), 0, 'no tunnel was re-established')
})

t.test('§6.1 a body error after the origin\'s response started cuts that response; no 400 is written into it', async (t) => {
  const f = await twoTunnels(t)
  const c = await whileServing(t, f, async () => await converse(f.port, [
    `POST /early/body-error HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n`,
    `zz\r\n${SMUGGLED}`,
  ], { gapMs: 300 }))
  t.same(statuses(c.text), [200], 'only the origin\'s 200 head')
  t.notOk(c.text.includes('BURROW_ERR_BAD_REQUEST') || /HTTP\/1\.1 400/.test(c.text), 'no edge 400 written into the response body')
  t.ok(c.text.includes('early '), 'the first chunk of the response arrived')
  t.notOk(c.text.endsWith('0\r\n\r\n'), 'the chunked response has no last chunk: the visitor sees it cut')
  t.ok(c.closedByEdge, 'the edge closed the connection')
  await waitFor(() => seenUnder(f.app, '/early/').every((s) => s.closed), 3_000)
  t.same(seenUnder(f.app, '/early/').map((s) => [s.url, s.complete]), [['/early/body-error', false]], 'the origin saw the request aborted')
  assertNothingSmuggled(t, f)
})

t.test('§5.3 valid framing is re-framed: a request line inside a body stays data, a pipelined pair reaches the origin as exactly two well-formed requests', async (t) => {
  const f = await twoTunnels(t)
  await whileServing(t, f, async () => {
    // A Content-Length body that happens to contain a request: one POST, its body intact.
    const carrier = await converse(f.port, [`POST /r/carrier HTTP/1.1\r\n${HOST}Connection: close\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`])
    t.same(statuses(carrier.text), [200], 'a request line inside a body: 200')
    // A pipelined pair: a POST with a body immediately followed by a GET, in one write.
    const pair = await converse(f.port, [
      `POST /r/pipe-1 HTTP/1.1\r\n${HOST}Content-Length: 5\r\n\r\nhello` +
      `GET /r/pipe-2 HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    ])
    t.same(statuses(pair.text), [200, 200], 'the pipelined pair: two 200s')
    t.ok(pair.text.indexOf('"url":"/r/pipe-1"') < pair.text.indexOf('"url":"/r/pipe-2"'), 'answered in order')
    // A chunked body then a pipelined GET; a tab-prefixed and a capitalised chunked are plain chunked.
    const chunkedPair = await converse(f.port, [
      `POST /r/chunked HTTP/1.1\r\n${HOST}Transfer-Encoding:\tChunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n` +
      `GET /r/after-chunked HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    ])
    t.same(statuses(chunkedPair.text), [200, 200], 'chunked body + pipelined GET: two 200s')
    // HTTP/1.0 with Transfer-Encoding is faulty framing (RFC 9112 §6.1): answered, then closed.
    const old = await converse(f.port, [`POST /r/http10-te HTTP/1.0\r\n${HOST}Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`])
    t.same(statuses(old.text), [200], 'HTTP/1.0 + Transfer-Encoding: answered')
    t.equal(firstHeader(old.text, 'connection')?.toLowerCase(), 'close', 'HTTP/1.0 + Transfer-Encoding: connection: close')
    t.ok(old.closedByEdge, 'HTTP/1.0 + Transfer-Encoding: the edge closed the connection despite keep-alive')
  })
  const got = seenUnder(f.app, '/r/')
  t.same(got.map((s) => [s.method, s.url, s.body, s.complete]), [
    ['POST', '/r/carrier', SMUGGLED, true],
    ['POST', '/r/pipe-1', 'hello', true],
    ['GET', '/r/pipe-2', '', true],
    ['POST', '/r/chunked', 'abcde', true],
    ['GET', '/r/after-chunked', '', true],
    ['POST', '/r/http10-te', 'abc', true],
  ], 'the origin received exactly these requests, bodies intact')
  for (const s of got) {
    const cl = s.headers['content-length']
    const te = s.headers['transfer-encoding']
    t.notOk(cl !== undefined && te !== undefined, `${s.url}: never both Content-Length and Transfer-Encoding`)
    if (cl !== undefined) t.equal(Number(cl), Buffer.byteLength(s.body, 'latin1'), `${s.url}: Content-Length matches the body`)
    if (s.method === 'GET') t.ok(cl === undefined && te === undefined, `${s.url}: a bodiless GET carries no framing`)
    t.same(rawValues(s, 'host'), ['app.localhost'], `${s.url}: one Host`)
  }
  t.same(seenUnder(f.other, '/'), [], 'the other origin saw nothing')
  assertNothingSmuggled(t, f)
})

// ---------------------------------------------------------------------------------------------
// Host confusion
// ---------------------------------------------------------------------------------------------

t.test('§5.1 Host confusion: missing, doubled, disagreeing with the target, with userinfo, a path or a bad port → 400 BURROW_ERR_BAD_REQUEST, never routed to the other tunnel', async (t) => {
  const f = await twoTunnels(t)
  const cases: Array<{ what: string, path?: string, headers: Array<[string, string]>, version?: string, method?: string }> = [
    { what: 'no Host (HTTP/1.1)', headers: [] },
    { what: 'no Host (HTTP/1.0)', headers: [], version: 'HTTP/1.0' },
    { what: 'two Host headers, app then other', headers: [['Host', 'app.localhost'], ['Host', 'other.localhost']] },
    { what: 'two Host headers, other then app', headers: [['Host', 'other.localhost'], ['Host', 'app.localhost']] },
    { what: 'two Host headers differing in case only', headers: [['Host', 'app.localhost'], ['host', 'APP.localhost']] },
    { what: 'absolute-form naming other, Host app', path: 'http://other.localhost/h/abs', headers: [['Host', 'app.localhost']] },
    { what: 'absolute-form naming app, Host other', path: 'http://app.localhost/h/abs', headers: [['Host', 'other.localhost']] },
    { what: 'absolute-form https naming other, Host app', path: 'https://other.localhost/h/abs', headers: [['Host', 'app.localhost']] },
    { what: 'absolute-form with userinfo', path: 'http://other.localhost@app.localhost/h/abs', headers: [['Host', 'app.localhost']] },
    { what: 'absolute-form without any Host', path: 'http://app.localhost/h/abs', headers: [] },
    { what: 'userinfo in Host', headers: [['Host', 'a@app.localhost']] },
    { what: 'userinfo naming the other tunnel', headers: [['Host', 'app.localhost@other.localhost']] },
    { what: '"/" in Host', headers: [['Host', 'app.localhost/x']] },
    { what: 'a path walking to the other tunnel in Host', headers: [['Host', 'app.localhost/../other.localhost']] },
    { what: 'a backslash in Host', headers: [['Host', 'app.localhost\\other.localhost']] },
    { what: 'a non-numeric port', headers: [['Host', 'app.localhost:abc']] },
    { what: 'an empty port', headers: [['Host', 'app.localhost:']] },
    { what: 'two ports', headers: [['Host', 'app.localhost:80:80']] },
    { what: 'a negative port', headers: [['Host', 'app.localhost:-1']] },
    { what: 'a list of hosts', headers: [['Host', 'app.localhost, other.localhost']] },
    { what: 'a percent-encoded dot', headers: [['Host', 'app%2elocalhost']] },
  ]
  await whileServing(t, f, async () => {
    for (const c of cases) {
      const res = await rawRequest(`http://127.0.0.1:${f.port}`, {
        path: c.path ?? '/h/x',
        headers: [...c.headers, ['Accept', 'application/json']],
        ...(c.version === undefined ? {} : { version: c.version }),
      })
      t.equal(res.status, 400, `${c.what}: 400`)
      t.equal(header(res, 'burrow-error'), 'BURROW_ERR_BAD_REQUEST', `${c.what}: BURROW_ERR_BAD_REQUEST`)
      t.match(header(res, 'burrow-request-id'), REQUEST_ID, `${c.what}: a request id`)
      t.equal(JSON.parse(res.text).error.code, 'BURROW_ERR_BAD_REQUEST', `${c.what}: JSON body`)
    }
    // HTTP/0.9-style request line (no version, no headers): never routed to a default tunnel.
    const nine = await converse(f.port, ['GET /h/nine\r\n\r\n'])
    t.equal(statuses(nine.text)[0], 400, 'an HTTP/0.9-style request: 400')
    t.equal(firstHeader(nine.text, 'burrow-error'), 'BURROW_ERR_BAD_REQUEST')
    // CONNECT (authority-form): refused with a coded 400 rather than dropped unanswered.
    const connect = await converse(f.port, ['CONNECT other.localhost:80 HTTP/1.1\r\nHost: other.localhost:80\r\n\r\n'])
    assertRejected(t, connect, 'CONNECT other.localhost:80')
  })
  t.same(seenUnder(f.other, '/'), [], 'the other origin saw nothing at all')
  t.same(seenUnder(f.app, '/h/'), [], 'the app origin saw none of them either')

  // Accepted by the edge, but routed only to the tunnel the Host names: the same Host given twice
  // (SPEC.md §5.3.2 refuses only a second Host with another value) and a port beyond 65535.
  for (const [what, headers] of [
    ['the same Host twice', [['Host', 'other.localhost'], ['Host', 'other.localhost']]],
    ['a port beyond 65535', [['Host', 'other.localhost:99999']]],
  ] as Array<[string, Array<[string, string]>]>) {
    const res = await rawRequest(`http://127.0.0.1:${f.port}`, { path: `/h/${what.replaceAll(' ', '-')}`, headers })
    if (res.status === 200) {
      t.equal(JSON.parse(res.text).origin, 'other', `${what}: 200 from the tunnel it names`)
    } else {
      t.equal(res.status, 400, `${what}: 400 if not served`)
    }
  }
  t.same(seenUnder(f.app, '/h/'), [], 'nothing routed by Host other.localhost reached the app origin')
  for (const s of seenUnder(f.other, '/h/')) t.same(rawValues(s, 'host').length, 1, `${s.url}: the other origin got one Host`)
  t.equal(f.reRegistrations(), 0)
})

// ---------------------------------------------------------------------------------------------
// Header sanitation
// ---------------------------------------------------------------------------------------------

t.test('§5.3.2 invalid header names and values from a raw socket get 400 and never reach an origin; the tunnel session and requests in flight on it are unharmed', async (t) => {
  const f = await twoTunnels(t)
  const get = (path: string, line: string): string => `GET ${path} HTTP/1.1\r\n${HOST}${line}\r\n\r\n`
  const cases: Array<[string, string]> = [
    ['a parenthesis in a name', get('/s/paren', 'X(Y): 1')],
    ['a space in a name', get('/s/space', 'X Y: 1')],
    ['an empty name', get('/s/empty', ': 1')],
    ['a non-ASCII name', get('/s/latin', 'X\xe9: 1')],
    ['a slash in a name', get('/s/slash', 'X/Y: 1')],
    ['NUL in a value', get('/s/nul', 'X-A: a\x00b')],
    ['a control character in a value', get('/s/ctl', 'X-A: a\x01b')],
    ['DEL in a value', get('/s/del', 'X-A: a\x7fb')],
    ['a bare CR in a value', get('/s/cr', 'X-A: a\rX-Injected: 1')],
    ['a bare LF in a value', get('/s/lf', 'X-A: a\nX-Injected: 1')],
    ['a request line with a tab in the target', `GET /s/\ttab HTTP/1.1\r\n${HOST}\r\n`],
    ['a lower-case method', `get /s/lower HTTP/1.1\r\n${HOST}\r\n`],
  ]
  // A request in flight on the app tunnel while the bad ones arrive: it must complete.
  const inFlight = visit(f.edge.base, '/s/in-flight?delay=800')
  await waitFor(() => seenUnder(f.app, '/s/in-flight').length === 1, 3_000)
  await whileServing(t, f, async () => {
    await Promise.all(cases.map(async ([what, bytes]) => { assertRejected(t, await converse(f.port, [bytes]), what) }))
  })
  const slow = await inFlight
  t.equal(slow.status, 200, 'the request in flight on the same tunnel completed')
  t.equal(JSON.parse(slow.text).url, '/s/in-flight?delay=800')
  t.same(seenUnder(f.app, '/s/').map((s) => s.url), ['/s/in-flight?delay=800'], 'the origin saw none of the bad requests')
  t.same(f.other.seen.filter((s) => rawNames(s).includes('x-injected')), [], 'no injected header reached the other origin')
  t.equal(f.edge.edge.connectionCount, 2, 'both tunnel connections are still up')
  t.equal(f.reRegistrations(), 0, 'no tunnel was re-established')
  t.equal((await visit(f.edge.base, '/s/after', { host: 'other.localhost' })).status, 200, 'the other tunnel serves too')

  // What the parser lets through is forwarded as is, without harm: obs-text, __proto__.
  const odd = await converse(f.port, [`GET /s/odd HTTP/1.1\r\n${HOST}X-Latin: caf\xe9\r\n__proto__: x\r\nConnection: close\r\n\r\n`])
  t.same(statuses(odd.text), [200], 'obs-text and __proto__: 200')
  const oddSeen = seenUnder(f.app, '/s/odd')[0]!
  t.same(rawValues(oddSeen, 'x-latin'), ['caf\xe9'], 'an obs-text value arrives byte for byte')
  t.same(rawValues(oddSeen, '__proto__'), ['x'], '__proto__ arrives as an ordinary field')
})

t.test('§5.3.1 connection-specific headers (Connection listings, Keep-Alive, Proxy-Connection, TE, Upgrade h2c/websocket) never reach the origin; the edge\'s own fields survive a Connection listing', async (t) => {
  const f = await twoTunnels(t)
  await whileServing(t, f, async () => {
    const hop = await converse(f.port, [
      `GET /c/hop HTTP/1.1\r\n${HOST}` +
      'Connection: keep-alive, X-Secret, X-Forwarded-For, X-Forwarded-Host, Burrow-Request-Id\r\n' +
      'X-Secret: s3cret\r\nKeep-Alive: timeout=99, max=7\r\nProxy-Connection: keep-alive\r\nTE: trailers, deflate\r\n' +
      'X-Kept: yes\r\n\r\n' +
      `GET /c/te-gzip HTTP/1.1\r\n${HOST}TE: gzip\r\nConnection: close\r\n\r\n`,
    ])
    t.same(statuses(hop.text), [200, 200], 'hop-by-hop fields: both answered normally')
    // h2c upgrade (the h2c smuggling vector), then, once answered, a plain request on the same
    // connection: both answered as HTTP/1.1, no 101, no raw tunnel.
    const h2c = await converse(f.port, [
      `GET /c/h2c HTTP/1.1\r\n${HOST}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`,
      `GET /c/after-h2c HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    ], { gapMs: 300 })
    t.same(statuses(h2c.text), [200, 200], 'Upgrade: h2c: no 101, the next request on the connection is HTTP/1.1 again')
    const ws = await converse(f.port, [
      `GET /c/ws HTTP/1.1\r\n${HOST}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `GET /c/after-ws HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    ], { gapMs: 300 })
    t.same(statuses(ws.text), [200, 200], 'Upgrade: websocket: no 101, the next request on the connection is HTTP/1.1 again')
    // Bytes sent behind an upgrade request in the same packet (an HTTP/2 preface, or a request):
    // Node treats them as the upgraded protocol's and, with no upgrade taken, discards them.
    const behind = await converse(f.port, [
      `GET /c/h2c-pipelined HTTP/1.1\r\n${HOST}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n` +
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + `GET /c/smuggled-behind-h2c HTTP/1.1\r\n${HOST}\r\n\r\n`,
    ], { waitMs: 800 })
    t.same(statuses(behind.text), [200], 'an upgrade request with bytes behind it: one 200, no 101')
  })
  const got = seenUnder(f.app, '/c/')
  t.same(got.map((s) => s.url), ['/c/hop', '/c/te-gzip', '/c/h2c', '/c/after-h2c', '/c/ws', '/c/after-ws', '/c/h2c-pipelined'],
    'the origin received exactly these requests, nothing that was behind an upgrade request')
  for (const s of got) {
    const names = rawNames(s)
    for (const name of ['x-secret', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'http2-settings']) {
      t.notOk(names.includes(name), `${s.url}: no ${name}`)
    }
    for (const value of rawValues(s, 'connection')) t.equal(value.toLowerCase(), 'keep-alive', `${s.url}: only the agent's own Connection`)
    t.same(rawValues(s, 'x-forwarded-for'), ['127.0.0.1'], `${s.url}: the edge's X-Forwarded-For, not removed by a Connection listing`)
    t.same(rawValues(s, 'x-forwarded-host'), ['app.localhost'], `${s.url}: the edge's X-Forwarded-Host`)
    t.match(rawValues(s, 'burrow-request-id')[0], REQUEST_ID, `${s.url}: the edge's request id`)
  }
  t.same(rawValues(got[0]!, 'x-kept'), ['yes'], 'an ordinary field is kept')
  t.same(seenUnder(f.other, '/'), [], 'the other origin saw nothing')
})

// ---------------------------------------------------------------------------------------------
// Slow clients
// ---------------------------------------------------------------------------------------------

t.test('§6.1 slow clients: slowloris headers get 408 after the headers timeout, a stalled body is cut after the body idle timeout, idle keep-alive connections close; steady slow clients and slow origins are not cut', async (t) => {
  const f = await twoTunnels(t, { headersTimeoutMs: 600, bodyIdleTimeoutMs: 500, keepAliveTimeoutMs: 800 })

  await t.test('slowloris: headers dribbled byte by byte, ten connections at once', async (t) => {
    const dribble = async (i: number): Promise<Conversation & { bytes: number }> => {
      const socket = net.connect(f.port, '127.0.0.1')
      let text = ''
      let closed = false
      let bytes = 0
      socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
      socket.on('close', () => { closed = true })
      socket.on('error', () => {})
      const head = `GET /slowloris/${i} HTTP/1.1\r\nHost: app.localhost\r\nX-Drip: `
      const started = Date.now()
      for (let k = 0; k < 200 && !closed; k++) {
        socket.write(k < head.length ? head[k]! : 'a')
        bytes++
        await sleep(20)
      }
      const closedAfterMs = Date.now() - started
      socket.destroy()
      return { text, closedByEdge: closed, closedAfterMs, bytes }
    }
    const results = await whileServing(t, f, async () => await Promise.all(Array.from({ length: 10 }, async (_, i) => await dribble(i))))
    for (const r of results) {
      t.ok(r.closedByEdge, `closed by the edge after ${r.bytes} bytes in ${r.closedAfterMs} ms, still dribbling`)
      t.match(r.text, /^HTTP\/1\.1 408 /, 'a 408')
      t.match(r.text, /burrow-error: BURROW_ERR_REQUEST_TIMEOUT/)
    }
    t.same(seenUnder(f.app, '/slowloris'), [], 'the origin never saw them')
  })

  await t.test('a body that stalls mid-way: 408 BURROW_ERR_REQUEST_TIMEOUT, the origin sees the request aborted', async (t) => {
    const [byLength, byChunks] = await whileServing(t, f, async () => await Promise.all([
      converse(f.port, [`POST /stall/cl HTTP/1.1\r\n${HOST}Content-Length: 10\r\n\r\nabc`], { waitMs: 4_000 }),
      converse(f.port, [`POST /stall/chunked HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n`], { waitMs: 4_000 }),
    ]))
    for (const [what, c] of [['Content-Length body', byLength], ['chunked body', byChunks]] as const) {
      assertRejected(t, c, what, 408, 'BURROW_ERR_REQUEST_TIMEOUT')
      t.ok(c.closedAfterMs < 3_500, `${what}: cut ${c.closedAfterMs} ms after the last byte`)
    }
    await waitFor(() => seenUnder(f.app, '/stall/').length === 2 && seenUnder(f.app, '/stall/').every((s) => s.closed), 3_000)
    t.same(seenUnder(f.app, '/stall/').map((s) => [s.url, s.complete]).sort(), [['/stall/chunked', false], ['/stall/cl', false]],
      'the origin got both requests aborted, never a short body that looks complete')
  })

  await t.test('a body that stalls after the response started: the connection is cut', async (t) => {
    const c = await whileServing(t, f, async () => await converse(f.port, [`POST /early/stall HTTP/1.1\r\n${HOST}Content-Length: 10\r\n\r\nabc`], { waitMs: 4_000 }))
    t.same(statuses(c.text), [200], 'the origin\'s early 200')
    t.notOk(c.text.includes('BURROW_ERR_REQUEST_TIMEOUT'), 'no 408 written into the response body')
    t.ok(c.text.includes('early '), 'the first chunk arrived')
    t.notOk(c.text.endsWith('0\r\n\r\n'), 'the response is cut, not completed')
    t.ok(c.closedByEdge, `closed ${c.closedAfterMs} ms after the last byte`)
    await waitFor(() => seenUnder(f.app, '/early/stall').every((s) => s.closed), 3_000)
    t.equal(seenUnder(f.app, '/early/stall')[0]?.complete, false, 'the origin saw it aborted')
  })

  await t.test('a slow but steady body, and a complete body waiting on a slow origin, are not cut', async (t) => {
    const [steady, slowOrigin] = await Promise.all([
      converse(f.port, [`POST /steady HTTP/1.1\r\n${HOST}Connection: close\r\nContent-Length: 8\r\n\r\n`, ...'abcdefgh'], { gapMs: 150, waitMs: 4_000 }),
      converse(f.port, [`POST /slow-origin?delay=1200 HTTP/1.1\r\n${HOST}Connection: close\r\nContent-Length: 3\r\n\r\nabc`], { waitMs: 4_000 }),
    ])
    t.same(statuses(steady.text), [200], 'one byte every 150 ms over 1.2 s with a 500 ms idle timeout: 200')
    t.ok(steady.text.includes('"body":"abcdefgh"'), 'the whole slow body reached the origin')
    t.same(statuses(slowOrigin.text), [200], 'a 1.2 s origin behind a complete body: 200')
    t.ok(slowOrigin.text.includes('"origin":"app"'))
    // 32 MiB sent as fast as possible to an origin that stops reading for 1.5 s: the edge stops
    // reading the visitor (backpressure through the tunnel windows), which is not the visitor's stall.
    const size = 32 * 1024 * 1024
    const big = await rawRequest(`http://127.0.0.1:${f.port}`, { method: 'POST', path: '/pause-read', headers: [['Host', 'app.localhost']], body: Buffer.alloc(size, 0x61), timeoutMs: 15_000 })
    t.equal(big.status, 200, 'a large body held back by a slow origin for 1.5 s: 200')
    t.equal(JSON.parse(big.text).bytes, size, 'every byte reached the origin')
  })

  await t.test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async (t) => {
    const c = await converse(f.port, [`GET /ka HTTP/1.1\r\n${HOST}\r\n`], { waitMs: 4_000 })
    t.same(statuses(c.text), [200], 'answered, kept alive')
    t.ok(c.closedByEdge, `the edge closed the idle connection ${c.closedAfterMs} ms after the request`)
    t.ok(c.closedAfterMs < 3_500, 'within the keep-alive timeout plus slack')
  })
  t.equal(f.reRegistrations(), 0, 'no tunnel was re-established')
})

// ---------------------------------------------------------------------------------------------
// Expect: 100-continue
// ---------------------------------------------------------------------------------------------

t.test('§6 Expect: 100-continue: 100 only once the request passed the edge\'s checks, then the origin\'s answer; the origin never sees Expect', async (t) => {
  const f = await twoTunnels(t)
  await whileServing(t, f, async () => {
    const socket = net.connect(f.port, '127.0.0.1')
    let text = ''
    let closed = false
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
    socket.on('close', () => { closed = true })
    socket.on('error', () => {})
    socket.write(`POST /e/ok HTTP/1.1\r\n${HOST}Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`)
    await waitFor(() => text.length > 0 || closed, 3_000)
    t.equal(text, 'HTTP/1.1 100 Continue\r\n\r\n', 'the interim 100, and nothing else before the body')
    socket.write('hello')
    await waitFor(() => closed, 3_000)
    t.same(statuses(text), [100, 200], '100 then 200')
    t.ok(text.includes('"body":"hello"'), 'the origin echoed the body')

    // Refused before the body: no 100, the code, and the connection closes (the body is never read).
    for (const [what, host, status, code] of [
      ['an unknown host', 'nobody.localhost', 404, 'BURROW_ERR_UNKNOWN_HOST'],
      ['a Host with userinfo', 'a@other.localhost', 400, 'BURROW_ERR_BAD_REQUEST'],
    ] as const) {
      const c = await converse(f.port, [`POST /e/refused HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`])
      t.same(statuses(c.text), [status], `${what}: ${status} with no 100 before it`)
      t.equal(firstHeader(c.text, 'burrow-error'), code, `${what}: ${code}`)
      t.ok(c.closedByEdge, `${what}: the connection closes`)
    }
  })
  const got = seenUnder(f.app, '/e/')
  t.same(got.map((s) => [s.url, s.body, s.complete]), [['/e/ok', 'hello', true]], 'the origin received only the accepted request, body intact')
  t.notOk(rawNames(got[0]!).includes('expect'), 'no expect header at the origin')
  t.same(seenUnder(f.other, '/'), [], 'the other origin saw nothing')
})
