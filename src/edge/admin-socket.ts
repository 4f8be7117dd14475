/**
 * The edge's admin socket (README "Seeing the tunnels"): a small HTTP server on a unix domain socket,
 * `<stateDir>/admin.sock`, readable by the edge's user only (0600, in the 0700 state directory).
 * `burrow edge tunnels` asks it what a running edge serves: GET /tunnels → JSON. Nothing on it
 * changes the edge. Owns its server and every connection to it; `close()` is idempotent.
 */
import http from 'node:http'
import net, { type Socket } from 'node:net'
import { chmod, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'

/** File name of the admin socket inside the state directory. */
export const ADMIN_SOCKET_NAME = 'admin.sock'

/**
 * Longest socket path (bytes) that fits every platform's sockaddr_un (104 on macOS and the BSDs,
 * 108 on Linux, minus the terminating NUL and a margin).
 */
export const MAX_SOCKET_PATH_BYTES = 103

/** How long `fetchTunnels` waits for the edge's whole answer. */
export const ADMIN_CLIENT_TIMEOUT_MS = 2_000

/** One tunnel connection serving a hostname, as GET /tunnels lists it. */
export interface TunnelListing {
  /** The edge's connection id (RegisterAccepted.connection_id). */
  id: string
  agentId: string
  state: string
  /** Request streams open on the connection right now. */
  inflight: number
  labels: Record<string, string>
  /** The agent's address as the edge sees it, host:port. */
  remoteAddress: string
  /** The account of the agent's client certificate; null when the connection has none. */
  account: string | null
  /** The agent's connection slot (Register.conn_index). */
  connIndex: number
  /** When the edge accepted the Register, ISO 8601. */
  since: string
}

export interface TunnelsSnapshot {
  edgeId: string
  hostnames: Array<{ hostname: string, connections: TunnelListing[] }>
}

export interface AdminHandlers {
  tunnels: () => TunnelsSnapshot
}

export function adminSocketPath (stateDir: string): string {
  return join(stateDir, ADMIN_SOCKET_NAME)
}

/** Why a unix socket cannot live at `path` (too long for sockaddr_un), or undefined when it can. */
export function pathTooLong (path: string): string | undefined {
  return Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES
    ? `the admin socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the most a unix socket path may have: use a shorter --state-dir`
    : undefined
}

/**
 * Starts the admin socket, or logs a warning and returns undefined when the state directory's path is
 * too long for a unix socket (the edge runs; only `burrow edge tunnels` is unavailable). Other
 * failures, such as another edge running on the same state directory, reject.
 */
export async function startAdminSocket (stateDir: string, handlers: AdminHandlers, logger: Logger): Promise<AdminSocket | undefined> {
  const tooLong = pathTooLong(adminSocketPath(stateDir))
  if (tooLong !== undefined) {
    logger.warn({ stateDir }, `no admin socket: ${tooLong}`)
    return undefined
  }
  return await AdminSocket.start(stateDir, handlers, logger)
}

/** The edge behind a state directory does not run: no socket, or nobody answers on it. */
export class EdgeNotRunningError extends Error {
  constructor (readonly path: string) {
    super(`the edge is not running (no admin socket at ${path})`)
    this.name = 'EdgeNotRunningError'
  }
}

export class AdminSocket {
  private readonly sockets = new Set<Socket>()
  private closing: Promise<void> | undefined

  private constructor (
    readonly path: string,
    private readonly server: http.Server,
    /** The inode of the socket file we created: close() unlinks only that one. */
    private readonly ino: number,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
  }

  /**
   * Listens on `<stateDir>/admin.sock`. A socket file nobody answers on (an edge that crashed) is
   * replaced; when a live edge answers on it, this fails: two edges must not share a state directory.
   */
  static async start (stateDir: string, handlers: AdminHandlers, logger: Logger): Promise<AdminSocket> {
    const path = adminSocketPath(stateDir)
    const tooLong = pathTooLong(path)
    if (tooLong !== undefined) throw new Error(tooLong)
    const server = http.createServer({ headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 1_000 }, (req, res) => {
      answer(req, res, handlers, logger)
    })
    server.on('clientError', (_err, socket: Socket) => socket.destroy())
    try {
      await listen(server, path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
      if (await answers(path)) {
        throw new Error(`another edge is running with state dir ${stateDir} (its admin socket ${path} answers); stop it or use another --state-dir`)
      }
      // A leftover from an edge that did not close (crash, SIGKILL): nobody listens on it.
      logger.info({ path }, 'removing a stale admin socket')
      await unlink(path).catch(() => {})
      await listen(server, path)
    }
    let ino: number
    try {
      await chmod(path, 0o600)
      ino = (await stat(path)).ino
    } catch (err) {
      server.close()
      throw err
    }
    logger.debug({ path }, 'admin socket listening')
    return new AdminSocket(path, server, ino)
  }

  /** Stops listening, ends every admin connection and removes the socket file. Idempotent. */
  async close (): Promise<void> {
    this.closing ??= this.doClose()
    return await this.closing
  }

  private async doClose (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    await closed
    // Node usually unlinks the file itself; remove it if not, but never another edge's new socket.
    try {
      if ((await stat(this.path)).ino === this.ino) await unlink(this.path)
    } catch { /* already gone */ }
  }
}

function answer (req: http.IncomingMessage, res: http.ServerResponse, handlers: AdminHandlers, logger: Logger): void {
  const path = (req.url ?? '/').split('?')[0]
  if (path !== '/tunnels') {
    send(res, 404, { error: 'not found', paths: ['/tunnels'] })
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    send(res, 405, { error: 'method not allowed' })
    return
  }
  let snapshot: TunnelsSnapshot
  try {
    snapshot = handlers.tunnels()
  } catch (err) {
    logger.error({ err }, 'admin socket: could not list the tunnels')
    send(res, 500, { error: 'internal error' })
    return
  }
  send(res, 200, snapshot, req.method === 'HEAD')
}

function send (res: http.ServerResponse, status: number, body: unknown, headOnly = false): void {
  const text = JSON.stringify(body) + '\n'
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(headOnly ? undefined : text)
}

async function listen (server: http.Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => { server.off('listening', onListening); reject(err) }
    const onListening = (): void => { server.off('error', onError); resolve() }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(path)
  })
}

/** True when something accepts connections on the unix socket `path`. */
async function answers (path: string): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = net.connect({ path })
    const done = (live: boolean): void => { clearTimeout(timer); socket.destroy(); resolve(live) }
    // A connect to a unix socket completes or fails at once; a bound keeps a wedged one from hanging start().
    const timer = setTimeout(() => done(true), 1_000)
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * GET /tunnels from the edge whose state directory is `stateDir`. Rejects with EdgeNotRunningError
 * when no edge answers there, with another Error on a timeout or an unexpected answer.
 */
export async function fetchTunnels (stateDir: string, timeoutMs = ADMIN_CLIENT_TIMEOUT_MS): Promise<TunnelsSnapshot> {
  const path = adminSocketPath(stateDir)
  const tooLong = pathTooLong(path)
  if (tooLong !== undefined) throw new Error(tooLong)
  return await new Promise<TunnelsSnapshot>((resolve, reject) => {
    let settled = false
    const finish = (err: Error | undefined, value?: TunnelsSnapshot): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      if (err !== undefined) reject(err)
      else resolve(value!)
    }
    const timer = setTimeout(() => finish(new Error(`the edge did not answer on ${path} within ${timeoutMs} ms`)), timeoutMs)
    const req = http.request({ socketPath: path, path: '/tunnels', method: 'GET', headers: { host: 'burrow-edge' }, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (err) => finish(err))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode !== 200) {
          finish(new Error(`the edge's admin socket ${path} answered ${String(res.statusCode)}: ${text.trim().slice(0, 200)}`))
          return
        }
        try {
          finish(undefined, JSON.parse(text) as TunnelsSnapshot)
        } catch {
          finish(new Error(`the edge's admin socket ${path} answered something that is not JSON`))
        }
      })
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') finish(new EdgeNotRunningError(path))
      else if (err.code === 'EACCES' || err.code === 'EPERM') finish(new Error(`permission denied on the admin socket ${path}: run this as the user the edge runs as`))
      else finish(new Error(`could not reach the edge on ${path}: ${err.message}`))
    })
    req.end()
  })
}
