/**
 * Real servers on port 0 for end-to-end tests: a recording origin, an edge and an agent.
 * Each start* registers its own teardown on `t`, so a test cannot leak a server.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo, Socket } from 'node:net'
import { request as undiciRequest, Agent as UndiciAgent } from 'undici'
import { pino, type Logger } from 'pino'
import { Edge, type EdgeOptions } from '../../src/edge/edge.js'
import { Agent, type AgentOptions } from '../../src/agent/agent.js'
import { enroll, type AgentIdentity } from '../../src/agent/enrollment.js'
import type { ZoneGrant } from '../../src/protocol/identity.js'

/** The subset of tap's Test these helpers use. */
export interface T {
  teardown: (fn: () => unknown) => void
}

/** The account test agents enroll as, and its zone: every *.localhost name. */
export const ACCOUNT = 'test'
export const ACCOUNT_ZONES: ZoneGrant[] = [{ zone: 'localhost', wildcard: false }]

/** A logger for tests: silent unless BURROW_TEST_LOG=debug|info… is set. */
export function testLogger (): Logger {
  return pino({ level: process.env.BURROW_TEST_LOG ?? 'silent' })
}

export async function tempDir (t: T, prefix = 'burrow-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

export interface Received {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
  body: Buffer
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void

export interface Origin {
  port: number
  url: string
  /** Every request the origin saw, in arrival order (body collected only by the default handler). */
  received: Received[]
  server: http.Server
  close: () => Promise<void>
}

/**
 * An origin that records what it receives. The default handler echoes the request as JSON
 * ({method, url, headers, body}) after reading the whole body; pass `handler` to do anything else
 * (the request is still recorded, without body).
 */
export async function startOrigin (t: T, handler?: Handler): Promise<Origin> {
  const received: Received[] = []
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => {
    if (handler !== undefined) {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0) })
      handler(req, res)
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      received.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body })
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: body.toString() }))
    })
  })
  server.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)
  return { port, url: `http://127.0.0.1:${port}`, received, server, close }
}

export interface StartedEdge {
  edge: Edge
  /** http://127.0.0.1:<public port> */
  base: string
  /** 127.0.0.1:<tunnel port>, for AgentOptions.edge */
  tunnel: string
  stateDir: string
  close: () => Promise<void>
}

export async function startEdge (t: T, options: Partial<EdgeOptions> = {}): Promise<StartedEdge> {
  const stateDir = options.stateDir ?? await tempDir(t)
  const edge = new Edge({
    stateDir,
    listen: { host: '127.0.0.1', port: 0 },
    tunnelListen: { host: '127.0.0.1', port: 0 },
    drainTimeoutMs: 2_000,
    logger: testLogger(),
    ...options,
  })
  await edge.start()
  const close = async (): Promise<void> => { await edge.close() }
  t.teardown(close)
  return {
    edge,
    base: `http://127.0.0.1:${edge.publicAddress.port}`,
    tunnel: `127.0.0.1:${edge.tunnelAddress.port}`,
    stateDir,
    close,
  }
}

/**
 * Enrolls a fresh identity for `account` on `edge` over a real enrollment connection (SPEC.md §4.5),
 * creating the account with `zones` first if it does not exist.
 */
export async function identityFor (edge: StartedEdge, account = ACCOUNT, zones: ZoneGrant[] = ACCOUNT_ZONES): Promise<AgentIdentity> {
  if (edge.edge.identity.account(account) === undefined) await edge.edge.identity.addAccount(account, zones)
  const token = await edge.edge.createEnrollmentToken(account, 60_000)
  return await enroll({ host: '127.0.0.1', port: edge.edge.tunnelAddress.port, token, ca: edge.edge.caCertPem })
}

/** Starts an agent against `edge` and waits for its registration (unless `wait: false`). */
export async function startAgent (
  t: T,
  edge: StartedEdge,
  origin: Origin | string,
  options: Partial<AgentOptions> & { wait?: boolean } = {},
): Promise<Agent> {
  const { wait = true, ...rest } = options
  const agent = new Agent({
    edge: edge.tunnel,
    identity: rest.identity ?? await identityFor(edge),
    hostnames: ['app.localhost'],
    origin: typeof origin === 'string' ? origin : origin.url,
    retryBaseMs: 50,
    retryMaxDelayMs: 500,
    haConnections: 1,
    gracePeriodMs: 2_000,
    logger: testLogger(),
    ...rest,
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  if (wait) await agent.start()
  else agent.start().catch(() => {})
  return agent
}

/** One undici dispatcher for all visitor requests in a test file; allows a Host override. */
const visitorDispatcher = new UndiciAgent({ connections: 256, pipelining: 1 })

export interface VisitorResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  text: string
}

/**
 * A visitor request through the edge with a chosen Host (fetch cannot set Host).
 * Reads the whole response body.
 */
export async function visit (
  base: string,
  path: string,
  options: { host?: string, method?: string, headers?: Record<string, string | string[]>, body?: string | Buffer | NodeJS.ReadableStream } = {},
): Promise<VisitorResponse> {
  const res = await undiciRequest(base + path, {
    method: (options.method ?? 'GET') as 'GET',
    headers: { host: options.host ?? 'app.localhost', ...(options.headers ?? {}) },
    dispatcher: visitorDispatcher,
    ...(options.body === undefined ? {} : { body: options.body as string | Buffer }),
  })
  const body = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers, body, text: body.toString() }
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes (then throws). */
export async function waitFor (check: () => boolean | Promise<boolean>, timeoutMs = 5_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/**
 * A copy of an edge's state directory (CA, serving certificate, identity.json) for a second edge of
 * the same deployment: agents enrolled on one are accepted by both. The lock and admin socket stay.
 */
export async function cloneStateDir (t: T, from: string): Promise<string> {
  const to = await tempDir(t, 'burrow-edge-b-')
  const skip = new Set(['admin.sock', 'identity.lock'])
  for (const name of await readdir(from)) {
    if (!skip.has(name)) await cp(join(from, name), join(to, name), { recursive: true })
  }
  return to
}
