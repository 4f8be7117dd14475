/**
 * The agent's credentials on disk, under BURROW_HOME (default ~/.burrow), as `burrow login` writes
 * them: cert.pem, key.pem (0600), ca.pem and login.json (which edge, which account).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { identityFromPem, type AgentIdentity } from '../agent/enrollment.js'

export interface Login {
  /** The edge's tunnel address, host:port. */
  edge: string
  identity: AgentIdentity
}

interface LoginFile {
  edge: string
  account: string
  zones: AgentIdentity['zones']
  serial: string
  notAfter: string
}

export function loginPaths (home: string): { cert: string, key: string, ca: string, login: string } {
  return { cert: join(home, 'cert.pem'), key: join(home, 'key.pem'), ca: join(home, 'ca.pem'), login: join(home, 'login.json') }
}

/** The saved login, or undefined when there is none. */
export async function loadLogin (home: string): Promise<Login | undefined> {
  const paths = loginPaths(home)
  let meta: LoginFile
  try {
    meta = JSON.parse(await readFile(paths.login, 'utf8')) as LoginFile
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`${paths.login} is unreadable (${(err as Error).message}): run burrow login --force`)
  }
  const [cert, key, ca] = await Promise.all([readFile(paths.cert, 'utf8'), readFile(paths.key, 'utf8'), readFile(paths.ca, 'utf8')])
  return { edge: meta.edge, identity: identityFromPem(cert, key, ca) }
}

/** Writes a login (or a renewed identity): each file written whole and renamed into place. */
export async function saveLogin (home: string, login: Login): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 })
  const paths = loginPaths(home)
  const id = login.identity
  const meta: LoginFile = { edge: login.edge, account: id.account, zones: id.zones, serial: id.serial, notAfter: new Date(id.notAfterMs).toISOString() }
  // Every file is written to a temporary first and only then renamed into place, so an interrupted
  // save leaves the previous login whole (or, between the renames, a few syscalls' window).
  const staged = await Promise.all([
    stage(paths.key, id.keyPem, 0o600),
    stage(paths.cert, id.certPem, 0o644),
    stage(paths.ca, id.caPem, 0o644),
    stage(paths.login, JSON.stringify(meta, null, 2) + '\n', 0o644),
  ])
  for (const [tmp, path] of staged) await rename(tmp, path)
}

async function stage (path: string, content: string, mode: number): Promise<[string, string]> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, content, { mode })
  await chmod(tmp, mode)
  return [tmp, path]
}
