/**
 * The agent's readiness endpoint (issue #5, "Agent HA"): a small node:http server answering
 * GET/HEAD /ready with 200 while at least one tunnel connection is registered and the agent is not
 * stopping, 503 otherwise, so an orchestrator (Kubernetes readinessProbe, a load balancer health
 * check, a deploy script) can tell whether this agent serves traffic.
 *
 *   200 {"status":"ready","readyConnections":N,"connections":M,"agentId":"…"}
 *   503 {"status":"not-ready","readyConnections":0,"connections":M,"agentId":"…"}
 *   404 {"error":"not found"} for any other path; 405 (Allow: GET, HEAD) for other methods on /ready.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from 'pino'
import { silentLogger } from '../observability/logger.js'

/** What /ready reports; Agent.status() returns a superset of it. */
export interface ReadyStatus {
  agentId: string
  ready: boolean
  readyConnections: number
  connections: readonly unknown[]
}

export interface ReadyServerOptions {
  host: string
  /** 0 for any free port. */
  port: number
  /**
   * Ports to try, in order, when `port` is taken (EADDRINUSE); after them any free port. Without
   * this option a taken port rejects with the EADDRINUSE error.
   */
  fallbackPorts?: readonly number[]
  status: () => ReadyStatus
  logger?: Logger
}

export interface ReadyServer {
  /** The address bound (after any fallback). */
  address: { host: string, port: number }
  /** The readiness URL, e.g. http://127.0.0.1:20241/ready. */
  url: string
  /** Stops listening and destroys open connections. Idempotent. */
  close: () => Promise<void>
}

const HEADERS_TIMEOUT_MS = 5_000
const REQUEST_TIMEOUT_MS = 5_000
const KEEP_ALIVE_TIMEOUT_MS = 1_000

/** Starts the readiness server; resolves once it listens. */
export async function startReadyServer (options: ReadyServerOptions): Promise<ReadyServer> {
  const logger = (options.logger ?? silentLogger).child({ component: 'ready' })
  const sockets = new Set<Socket>()
  const server = http.createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
    handle(req, res, options.status, logger)
  })
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  const candidates = options.fallbackPorts === undefined || options.port === 0
    ? [options.port]
    : [options.port, ...options.fallbackPorts.filter((p) => p !== options.port), 0]
  let bound: AddressInfo | undefined
  for (let i = 0; i < candidates.length && bound === undefined; i++) {
    try {
      bound = await listen(server, options.host, candidates[i]!)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i === candidates.length - 1) throw err
      logger.debug({ host: options.host, port: candidates[i] }, 'readiness port taken; trying the next')
    }
  }
  const address = { host: options.host, port: bound!.port }
  const url = `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}/ready`
  logger.info({ ready: url, host: address.host, port: address.port, ...(address.port === options.port ? {} : { requestedPort: options.port }) }, 'readiness endpoint listening')

  let closing: Promise<void> | undefined
  return {
    address,
    url,
    close: async () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      await closing
    },
  }
}

/** Listens once on host:port; rejects with the listen error (the server can listen again after). */
async function listen (server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return await new Promise<AddressInfo>((resolve, reject) => {
    const onError = (err: Error): void => { server.off('listening', onListening); reject(err) }
    const onListening = (): void => { server.off('error', onError); resolve(server.address() as AddressInfo) }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen({ host, port })
  })
}

function handle (req: IncomingMessage, res: ServerResponse, status: () => ReadyStatus, logger: Logger): void {
  const path = (req.url ?? '/').split('?')[0]
  if (path !== '/ready') {
    send(res, req.method === 'HEAD', 404, { error: 'not found' })
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, false, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' })
    return
  }
  let s: ReadyStatus
  try {
    s = status()
  } catch (err) {
    // Never throw from a request handler: an agent that cannot say it is ready is not ready.
    logger.error({ err }, 'readiness status failed')
    send(res, req.method === 'HEAD', 503, { status: 'not-ready', error: 'status unavailable' })
    return
  }
  send(res, req.method === 'HEAD', s.ready ? 200 : 503, {
    status: s.ready ? 'ready' : 'not-ready',
    readyConnections: s.readyConnections,
    connections: s.connections.length,
    agentId: s.agentId,
  })
}

function send (res: ServerResponse, head: boolean, code: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extra,
  })
  res.end(head ? undefined : text)
}
