#!/usr/bin/env node
/**
 * The `burrow` command. The only module that reads the environment for configuration, installs
 * signal handlers or calls process.exit.
 *
 *   burrow [options] <origin-url>     run an agent (with an embedded edge when --edge is not given)
 *   burrow login [options]            enroll with an edge: key pair here, certificate from the edge
 *   burrow edge [options]             run a standalone edge
 *   burrow edge accounts|certs …      manage the edge's accounts, tokens and certificates
 *   burrow edge tunnels               list what a running edge serves (over its admin socket)
 *   burrow demo [options]             embedded edge + agent + demo origin (npm start)
 *
 * Exit codes: 0 ok or graceful shutdown; 1 runtime failure; 2 usage error; 4 registration rejected
 * permanently; 130/143 forced exit on a second SIGINT/SIGTERM.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { LevelWithSilent } from 'pino'
import { createCliLogger, LOG_LEVELS, type CliLogger } from './logging.js'
import { startDemoOrigin } from './demo-origin.js'
import { Edge, type ListenAddress } from '../edge/edge.js'
import { Agent, parseHostPort } from '../agent/agent.js'
import { startReadyServer, type ReadyServer } from '../agent/ready-server.js'
import { RegistrationError } from '../agent/tunnel-client.js'
import { enroll, EnrollmentError, type AgentIdentity } from '../agent/enrollment.js'
import { normaliseRegisteredHostname } from '../protocol/hostname.js'
import { parseDuration, type ZoneGrant } from '../protocol/identity.js'
import { DEFAULT_CERT_LIFETIME_MS, DEFAULT_HA_CONNECTIONS, DEFAULT_TOKEN_TTL_MS, MAX_HA_CONNECTIONS } from '../protocol/constants.js'
import { labelProblem, MAX_LABELS } from '../protocol/labels.js'
import { loadLogin, saveLogin } from './agent-home.js'
import { accountsAdd, accountsList, accountsToken, certsList, certsRevoke, tunnelsList } from './admin.js'
import { hashBearerToken, hashPassword } from '../edge/shield/auth.js'

export const EXIT_OK = 0
export const EXIT_RUNTIME = 1
export const EXIT_USAGE = 2
export const EXIT_REJECTED = 4

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
const BURROW_HOME = process.env.BURROW_HOME ?? join(homedir(), '.burrow')
const DEFAULT_STATE_DIR = join(BURROW_HOME, 'edge')

const EXIT_CODES_HELP = `
Exit codes:
  0    normal exit, including a completed graceful shutdown after SIGINT/SIGTERM
  1    runtime failure (could not start, fatal error)
  2    usage error (bad option or argument)
  4    the edge rejected the registration or enrollment permanently (certificate missing, expired or
       revoked; hostname outside the account's zones; token used or expired; version)
  130  forced exit on a second SIGINT during the graceful shutdown (143 for SIGTERM)`

// ---------------------------------------------------------------------------------------------
// Option parsers: each throws InvalidArgumentError, which commander reports as a usage error.

function parseListen (value: string): ListenAddress {
  try {
    return parseHostPort(value)
  } catch {
    if (/^\d{1,5}$/.test(value)) return { host: '127.0.0.1', port: Number(value) }
    throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:8080')
  }
}

function parseListenOrZero (value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim())
  if (m !== null && Number(m[3]) < 65536) return { host: (m[1] ?? m[2])!, port: Number(m[3]) }
  return parseListen(value)
}

/** The default --ready address; when it is not given explicitly, a taken port falls back to READY_FALLBACK_PORTS, then any free port. */
const DEFAULT_READY: ListenAddress = { host: '127.0.0.1', port: 20241 }
const READY_FALLBACK_PORTS = [20242, 20243, 20244, 20245]

/** --ready: host:port (port 0 for any free port) or off. */
function parseReady (value: string): ListenAddress | 'off' {
  if (value.trim().toLowerCase() === 'off') return 'off'
  try {
    return parseListenOrZero(value)
  } catch {
    throw new InvalidArgumentError('expected host:port or off, e.g. 127.0.0.1:20241')
  }
}

/** Edge addresses, host:port[,host:port…]: checked here so that a bad one is a usage error (exit 2), not a crash. */
function parseEdge (value: string): string {
  const list = value.split(',').map((v) => v.trim()).filter((v) => v !== '')
  if (list.length === 0) throw new InvalidArgumentError('expected host:port, e.g. edge.example.com:7844')
  for (const item of list) {
    try {
      parseHostPort(item)
    } catch {
      throw new InvalidArgumentError(`${JSON.stringify(item)}: expected host:port, e.g. edge.example.com:7844 (several: a:7844,b:7844)`)
    }
  }
  return list.join(',')
}

/** One edge address (burrow login enrolls with one edge). */
function parseOneEdge (value: string): string {
  const list = parseEdge(value)
  if (list.includes(',')) throw new InvalidArgumentError('give one edge address here (the agent takes several with --edge a,b)')
  return list
}

function parseHaConnections (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_HA_CONNECTIONS) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_HA_CONNECTIONS}`)
  return n
}

function parseMs (value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of milliseconds')
  return Number(value)
}

function parseTtl (value: string): number {
  const ms = parseDuration(value)
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 30m, 24h or 7d')
  return ms
}

function parseDays (value: string): number {
  const days = Number(value)
  if (!/^\d+(?:\.\d+)?$/.test(value) || !(days > 0)) throw new InvalidArgumentError('expected a positive number of days, e.g. 7 or 0.5')
  return Math.round(days * 86_400_000)
}

function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')]
}

function collectHostname (value: string, previous: string[] | undefined): string[] {
  const out = previous ?? []
  for (const part of value.split(',')) {
    const name = part.trim()
    if (name === '') continue
    if (normaliseRegisteredHostname(name) === undefined) throw new InvalidArgumentError(`${JSON.stringify(name)} is not a valid hostname`)
    out.push(name)
  }
  return out
}

function collectLabel (value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const out = { ...(previous ?? {}) }
  for (const part of value.split(',')) {
    const text = part.trim()
    if (text === '') continue
    const eq = text.indexOf('=')
    if (eq === -1) throw new InvalidArgumentError(`${JSON.stringify(text)}: expected key=value, e.g. release=canary`)
    const problem = labelProblem(text.slice(0, eq), text.slice(eq + 1))
    if (problem !== undefined) throw new InvalidArgumentError(problem)
    out[text.slice(0, eq)] = text.slice(eq + 1)
  }
  if (Object.keys(out).length > MAX_LABELS) throw new InvalidArgumentError(`at most ${MAX_LABELS} labels`)
  return out
}

function parseOrigin (value: string): string {
  let url: URL
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`)
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('the origin must be an http:// or https:// URL')
  return url.origin
}

function levelOption (): Option {
  return new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info').env('BURROW_LOG_LEVEL')
}

function prettyOption (): Option {
  return new Option('--pretty', 'human-readable logs (default when stdout is a terminal)').env('BURROW_PRETTY')
}

// ---------------------------------------------------------------------------------------------
// Shutdown: the first signal drains, a second one forces the exit.

function onSignals (log: CliLogger, shutdown: () => Promise<void>): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.logger.warn({ signal }, 'second signal: exiting now')
      log.flush()
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
    stopping = true
    log.logger.info({ signal }, 'shutting down gracefully (send the signal again to force)')
    shutdown().then(() => {
      log.flush()
      process.exit(EXIT_OK)
    }, (err: unknown) => {
      log.logger.error({ err }, 'error during shutdown')
      log.flush()
      process.exit(EXIT_RUNTIME)
    })
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}

function fail (log: CliLogger, code: number, err: unknown, msg: string, listenOption = '--listen'): never {
  const errCode = (err as { code?: unknown } | undefined)?.code
  log.logger.fatal({ err, code: errCode }, msg)
  log.flush()
  const prefix = typeof errCode === 'string' && errCode.startsWith('BURROW_ERR_') ? `${errCode}: ` : ''
  const hint = errCode === 'EADDRINUSE' ? `\n  (another process uses that address: pick another with ${listenOption} host:port, or ${listenOption} 127.0.0.1:0 for any free port)` : ''
  process.stderr.write(`burrow: ${msg}: ${prefix}${err instanceof Error ? err.message : String(err)}${hint}\n`)
  process.exit(code)
}

// ---------------------------------------------------------------------------------------------

interface AgentCliOptions {
  hostname?: string[]
  edge?: string
  edgeCa?: string
  home: string
  listen: ListenAddress
  tunnelListen: ListenAddress
  stateDir: string
  label?: Record<string, string>
  haConnections: number
  originTimeout: number
  gracePeriod: number
  retryMaxDelay: number
  /** The /ready address; DEFAULT_READY itself (the same object) when not given explicitly. */
  ready: ListenAddress | 'off'
  logLevel: LevelWithSilent
  pretty?: boolean
}

/** Zone grants for the embedded edge's `local` account: each requested hostname as its own zone. */
function embeddedZones (hostnames: readonly string[]): ZoneGrant[] {
  return hostnames.map((h) => {
    const name = normaliseRegisteredHostname(h)!
    return name.startsWith('*.') ? { zone: name.slice(2), wildcard: true } : { zone: name, wildcard: false }
  })
}

async function runAgent (originArg: string, opts: AgentCliOptions, demo: boolean): Promise<void> {
  const log = createCliLogger(opts.logLevel, opts.pretty)
  const logger = log.logger
  let edge: Edge | undefined
  let edgeAddr: string | undefined
  let identity: AgentIdentity
  let ca: string | undefined
  let demoOrigin: Awaited<ReturnType<typeof startDemoOrigin>> | undefined
  const hostnames = opts.hostname ?? []
  let origin = originArg
  let persist = false

  try {
    if (demo) {
      demoOrigin = await startDemoOrigin()
      origin = demoOrigin.url
    }
    // The edge: --edge, else the one `burrow login` saved, else one embedded in this process.
    const login = demo ? undefined : await loadLogin(opts.home)
    edgeAddr = opts.edge ?? login?.edge
    if (edgeAddr === undefined) {
      // Quick-start path: an embedded edge; the agent enrolls against it in memory (SPEC.md §4.5).
      if (hostnames.length === 0) hostnames.push(demo ? 'hello.localhost' : 'app.localhost')
      // No admin socket: two quick starts may share ~/.burrow/edge, and `burrow edge tunnels` is for `burrow edge`.
      edge = new Edge({ stateDir: opts.stateDir, listen: opts.listen, tunnelListen: opts.tunnelListen, adminSocket: false, logger })
      await edge.start()
      edgeAddr = `127.0.0.1:${edge.tunnelAddress.port}`
      await edge.identity.ensureAccount('local', embeddedZones(hostnames))
      const token = await edge.createEnrollmentToken('local', 60_000)
      identity = await enroll({ host: '127.0.0.1', port: edge.tunnelAddress.port, token, ca: edge.caCertPem, client: { version: VERSION } })
    } else {
      if (hostnames.length === 0) throw new InvalidArgumentError('--hostname is required with a remote edge')
      if (login === undefined) {
        throw new InvalidArgumentError(`not logged in (no credentials in ${opts.home}): run burrow login --edge ${edgeAddr} --token <enrollment-token> first`)
      }
      identity = login.identity
      persist = true
      if (opts.edgeCa !== undefined) ca = await readFile(opts.edgeCa, 'utf8')
    }
  } catch (err) {
    await edge?.close()
    await demoOrigin?.close()
    if (err instanceof InvalidArgumentError) {
      log.flush()
      process.stderr.write(`burrow: ${err.message}\n`)
      process.exit(EXIT_USAGE)
    }
    fail(log, err instanceof EnrollmentError ? EXIT_REJECTED : EXIT_RUNTIME, err, 'could not start')
  }

  const savedEdge = edgeAddr
  const agent = new Agent({
    edge: edgeAddr,
    ...(ca === undefined ? {} : { edgeCa: ca }),
    identity,
    hostnames,
    origin,
    labels: opts.label ?? {},
    haConnections: opts.haConnections,
    originTimeoutMs: opts.originTimeout,
    gracePeriodMs: opts.gracePeriod,
    retryMaxDelayMs: opts.retryMaxDelay,
    version: VERSION,
    logger,
    ...(persist ? { onIdentityRenewed: async (renewed: AgentIdentity) => { await saveLogin(opts.home, { edge: savedEdge, identity: renewed }) } } : {}),
  })
  let readyServer: ReadyServer | undefined
  onSignals(log, async () => {
    await agent.close()
    await edge?.close()
    await demoOrigin?.close()
    // Last: /ready answers 503 while the agent drains.
    await readyServer?.close()
  })
  // The readiness endpoint starts before the tunnel does, so it answers 503 while connecting.
  if (opts.ready !== 'off') {
    try {
      readyServer = await startReadyServer({
        ...opts.ready,
        ...(opts.ready === DEFAULT_READY ? { fallbackPorts: READY_FALLBACK_PORTS } : {}),
        status: () => agent.status(),
        logger,
      })
    } catch (err) {
      await agent.close({ gracePeriodMs: 0 })
      await edge?.close()
      await demoOrigin?.close()
      fail(log, EXIT_RUNTIME, err, 'could not start the readiness endpoint', '--ready')
    }
  }
  try {
    await agent.start()
  } catch (err) {
    // A signal during start-up closes the agent, which rejects start(): the shutdown path exits.
    if (agent.state === 'stopping' || agent.state === 'stopped') return
    await edge?.close()
    await demoOrigin?.close()
    fail(log, err instanceof RegistrationError && err.permanent ? EXIT_REJECTED : EXIT_RUNTIME, err, 'registration rejected')
  }
  agent.on('fatal', (err) => {
    void agent.close({ gracePeriodMs: 0 }).finally(() => fail(log, EXIT_REJECTED, err, 'registration rejected'))
  })
  const cert = agent.certificate
  if (edge !== undefined) {
    const urls = agent.registeredHostnames().map((h) => edge.publicUrl(h))
    logger.info({ urls, origin, ready: readyServer?.url }, 'tunnel ready')
    process.stderr.write(`\n  Burrow tunnel ready: ${urls.join(' ')}  ->  ${origin}\n  (Ctrl-C to stop)\n\n`)
  } else {
    logger.info({ hostnames: agent.registeredHostnames(), edge: edgeAddr, origin, account: cert.account, certificate: cert.serial, certificateExpires: new Date(cert.notAfterMs).toISOString(), ready: readyServer?.url }, 'tunnel ready')
  }
}

interface LoginCliOptions {
  edge: string
  token: string
  edgeCa?: string
  force?: boolean
  home: string
}

async function runLogin (opts: LoginCliOptions): Promise<void> {
  const existing = await loadLogin(opts.home).catch(() => undefined)
  if (existing !== undefined && opts.force !== true) {
    process.stderr.write(`burrow: already logged in to ${existing.edge} as account ${existing.identity.account} (credentials in ${opts.home}); add --force to replace them\n`)
    process.exit(EXIT_USAGE)
  }
  const { host, port } = parseHostPort(opts.edge)
  let identity: AgentIdentity
  try {
    const ca = opts.edgeCa === undefined ? undefined : await readFile(opts.edgeCa, 'utf8')
    identity = await enroll({ host, port, token: opts.token, ...(ca === undefined ? {} : { ca }), client: { version: VERSION } })
    await saveLogin(opts.home, { edge: opts.edge, identity })
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const prefix = typeof code === 'string' && code.startsWith('BURROW_ERR_') ? `${code}: ` : ''
    process.stderr.write(`burrow: login failed: ${prefix}${(err as Error).message}\n`)
    process.exit(err instanceof EnrollmentError ? EXIT_REJECTED : EXIT_RUNTIME)
  }
  const zones = identity.zones.map((z) => (z.wildcard ? `${z.zone} (+wildcards)` : z.zone)).join(', ')
  process.stdout.write(`Logged in to ${opts.edge} as account ${identity.account} (zones: ${zones}).\n` +
    `Certificate ${identity.serial} is valid until ${new Date(identity.notAfterMs).toISOString()} and renews itself while the agent runs.\n` +
    `Credentials saved in ${opts.home}. Next: burrow --hostname <name in your zones> http://localhost:4000\n`)
}

interface EdgeCliOptions {
  listen: ListenAddress
  tunnelListen: ListenAddress
  stateDir: string
  tunnelName?: string[]
  certLifetime: number
  config?: string
  bodyIdleTimeout: number
  publicTlsCert?: string
  publicTlsKey?: string
  publicTlsListen: ListenAddress
  h2c: boolean
  registrationTimeout: number
  heartbeatInterval: number
  drainTimeout: number
  logLevel: LevelWithSilent
  pretty?: boolean
}

async function runEdge (opts: EdgeCliOptions): Promise<void> {
  const log = createCliLogger(opts.logLevel, opts.pretty)
  if ((opts.publicTlsCert === undefined) !== (opts.publicTlsKey === undefined)) {
    process.stderr.write('burrow: --public-tls-cert and --public-tls-key go together\n')
    process.exit(EXIT_USAGE)
  }
  let edge: Edge
  let publicTls: { cert: string, key: string, listen: ListenAddress } | undefined
  try {
    if (opts.publicTlsCert !== undefined) {
      publicTls = { cert: await readFile(opts.publicTlsCert, 'utf8'), key: await readFile(opts.publicTlsKey!, 'utf8'), listen: opts.publicTlsListen }
    }
    edge = new Edge({
      stateDir: opts.stateDir,
      listen: opts.listen,
      tunnelListen: opts.tunnelListen,
      tunnelNames: opts.tunnelName ?? [],
      certLifetimeMs: opts.certLifetime,
      ...(opts.config === undefined ? {} : { config: opts.config }),
      bodyIdleTimeoutMs: opts.bodyIdleTimeout,
      h2c: opts.h2c,
      ...(publicTls === undefined ? {} : { publicTls }),
      registrationTimeoutMs: opts.registrationTimeout,
      heartbeatIntervalMs: opts.heartbeatInterval,
      heartbeatTimeoutMs: opts.heartbeatInterval * 2,
      drainTimeoutMs: opts.drainTimeout,
      logger: log.logger,
    })
    await edge.start()
  } catch (err) {
    fail(log, EXIT_RUNTIME, err, 'could not start the edge')
  }
  const accounts = edge.identity.accounts().length
  log.logger.info({ ca: edge.caPath, accounts }, accounts === 0
    ? 'no accounts yet: create one with burrow edge accounts add <name> --zone <zone>'
    : 'agents enroll with burrow login --token <token from burrow edge accounts add>')
  onSignals(log, async () => { await edge.close() })
  // SIGHUP re-reads the policy file; an invalid file keeps the policies in force (and says why).
  process.on('SIGHUP', () => {
    void edge.reloadPolicies().then((ok) => log.logger.info({ ok }, ok ? 'policies reloaded on SIGHUP' : 'SIGHUP: policy file unchanged or invalid; previous policies kept'))
  })
}

/** `burrow ready`: GET /ready once (2 s bound); the exit code says whether the agent is ready. */
async function runReadyCheck (address: ListenAddress): Promise<void> {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  const url = `http://${host}:${address.port}/ready`
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
    process.stdout.write(`${(await res.text()).trim()}\n`)
    process.exit(res.status === 200 ? EXIT_OK : EXIT_RUNTIME)
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    process.stderr.write(`burrow: no agent answers on ${url} (${cause})\n`)
    process.exit(EXIT_RUNTIME)
  }
}

/** Runs an operator command, mapping its errors to a message and exit code 2 (bad input) or 1. */
async function runAdmin (fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (err) {
    process.stderr.write(`burrow: ${(err as Error).message}\n`)
    process.exit(err instanceof TypeError ? EXIT_USAGE : EXIT_RUNTIME)
  }
}

// ---------------------------------------------------------------------------------------------

function addSharedAgentOptions (cmd: Command): Command {
  return cmd
    .addOption(homeOption())
    .addOption(new Option('--listen <host:port>', 'public listener of the embedded edge (only without --edge)').env('BURROW_LISTEN').default({ host: '127.0.0.1', port: 8080 }, '127.0.0.1:8080').argParser(parseListenOrZero))
    .addOption(new Option('--tunnel-listen <host:port>', 'tunnel listener of the embedded edge').env('BURROW_TUNNEL_LISTEN').default({ host: '127.0.0.1', port: 0 }, '127.0.0.1:0 (any free port)').argParser(parseListenOrZero).hideHelp())
    .addOption(new Option('--state-dir <dir>', 'state directory of the embedded edge (CA, accounts, certificates)').env('BURROW_STATE_DIR').default(DEFAULT_STATE_DIR, '~/.burrow/edge'))
    .addOption(new Option('--origin-timeout <ms>', 'time the origin has to send response headers').env('BURROW_ORIGIN_TIMEOUT').default(30_000).argParser(parseMs))
    .addOption(new Option('--ha-connections <n>', 'tunnel connections to hold, spread over the --edge addresses').env('BURROW_HA_CONNECTIONS').default(DEFAULT_HA_CONNECTIONS).argParser(parseHaConnections))
    .addOption(new Option('--grace-period <ms>', 'how long SIGINT/SIGTERM lets in-flight requests finish').env('BURROW_GRACE_PERIOD').default(30_000).argParser(parseMs))
    .addOption(new Option('--retry-max-delay <ms>', 'cap of the reconnect backoff').env('BURROW_RETRY_MAX_DELAY').default(30_000).argParser(parseMs))
    .addOption(new Option('--ready <host:port|off>', 'serve GET /ready here: 200 while a tunnel connection is registered, else 503 (the default port, if taken, falls back to 20242..20245, then any free port)').env('BURROW_READY').default(DEFAULT_READY, '127.0.0.1:20241').argParser(parseReady))
    .addOption(levelOption())
    .addOption(prettyOption())
}

function homeOption (): Option {
  return new Option('--home <dir>', "where burrow login keeps the agent's certificate and key").env('BURROW_HOME').default(BURROW_HOME, '~/.burrow')
}

/** --state-dir of an operator subcommand: its own, else the one given to `burrow edge`. */
function stateDirOption (): Option {
  return new Option('--state-dir <dir>', "the edge's state directory (default: burrow edge's, ~/.burrow/edge)").env('BURROW_STATE_DIR')
}

export function buildProgram (): Command {
  const program = new Command('burrow')
    .version(VERSION)
    .description('Expose a private HTTP origin through a Burrow edge over one outbound TLS + HTTP/2 tunnel.')
    .enablePositionalOptions()
    .argument('<origin-url>', 'the local app to expose, e.g. http://localhost:4000', parseOrigin)
    .addOption(new Option('--hostname <name>', 'hostname visitors use (repeatable; default app.localhost with the embedded edge)').env('BURROW_HOSTNAME').argParser(collectHostname))
    .addOption(new Option('--edge <host:port,…>', "the edge's tunnel address, or several, comma separated (default: the edge of burrow login; without a login an edge runs embedded in this process)").env('BURROW_EDGE').argParser(parseEdge))
    .addOption(new Option('--edge-ca <file>', "the edge's CA certificate (default: the one burrow login saved)").env('BURROW_EDGE_CA'))
    .addOption(new Option('--label <key=value>', 'label this tunnel (repeatable or comma separated), e.g. release=canary').env('BURROW_LABELS').argParser(collectLabel))
    .addHelpText('after', `
Examples:
  burrow http://localhost:4000                          embedded edge, prints http://app.localhost:8080/
  burrow login --edge edge.example.com:7844 --token burrow1.…   once: enroll this machine
  burrow --hostname app.acme.example.com http://localhost:4000    then: mutual TLS, no token
${EXIT_CODES_HELP}`)
    .action(async (origin: string, opts: AgentCliOptions) => { await runAgent(origin, opts, false) })
  addSharedAgentOptions(program)

  program.command('login')
    .description("Enroll this machine with an edge: generate a key pair here, send a CSR with a one-time token, save the certificate.")
    .addOption(new Option('--edge <host:port>', "the edge's tunnel address").env('BURROW_EDGE').argParser(parseOneEdge).makeOptionMandatory())
    .addOption(new Option('--token <token>', 'enrollment token from burrow edge accounts add (single use)').env('BURROW_ENROLLMENT_TOKEN').makeOptionMandatory())
    .addOption(new Option('--edge-ca <file>', "verify the edge with this CA file (<state-dir>/ca.pem) instead of the fingerprint pinned in the token").env('BURROW_EDGE_CA'))
    .addOption(new Option('--force', 'replace an existing login'))
    .addOption(homeOption())
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: LoginCliOptions) => { await runLogin(opts) })

  program.command('ready')
    .description("Ask a running agent whether it is ready (its GET /ready): prints the answer, exits 0 when ready, 1 when not or when nothing answers. For scripts and exec probes.")
    .addOption(new Option('--ready <host:port>', "the agent's readiness address").env('BURROW_READY').default(DEFAULT_READY, '127.0.0.1:20241').argParser(parseListen))
    .action(async (opts: { ready: ListenAddress }) => { await runReadyCheck(opts.ready) })

  const edge = program.command('edge')
    .description('Run a standalone edge: a public HTTP listener for visitors and a TLS listener for agents.')
    .enablePositionalOptions()
    .addOption(new Option('--listen <host:port>', 'public HTTP listener for visitors').env('BURROW_LISTEN').default({ host: '127.0.0.1', port: 8080 }, '127.0.0.1:8080').argParser(parseListenOrZero))
    .addOption(new Option('--tunnel-listen <host:port>', 'TLS listener for agents (tunnels and enrollment)').env('BURROW_TUNNEL_LISTEN').default({ host: '127.0.0.1', port: 7844 }, '127.0.0.1:7844').argParser(parseListenOrZero))
    .addOption(new Option('--state-dir <dir>', 'where the CA, accounts and issued certificates live').env('BURROW_STATE_DIR').default(DEFAULT_STATE_DIR, '~/.burrow/edge'))
    .addOption(new Option('--config <file>', 'edge policy file (YAML): rate limits, allow-lists, IP lists, authentication; reloaded on change and SIGHUP').env('BURROW_CONFIG'))
    .addOption(new Option('--cert-lifetime <days>', 'lifetime of the client certificates this edge issues').env('BURROW_CERT_LIFETIME').default(DEFAULT_CERT_LIFETIME_MS, '7').argParser(parseDays))
    .addOption(new Option('--tunnel-name <name>', 'extra DNS name or IP for the tunnel certificate (repeatable)').env('BURROW_TUNNEL_NAMES').argParser(collect))
    .addOption(new Option('--registration-timeout <ms>', 'time an agent has to register after connecting').env('BURROW_REGISTRATION_TIMEOUT').default(10_000).argParser(parseMs))
    .addOption(new Option('--heartbeat-interval <ms>', 'HTTP/2 PING interval on tunnels (timeout is twice this)').env('BURROW_HEARTBEAT_INTERVAL').default(5_000).argParser(parseMs))
    .addOption(new Option('--public-tls-cert <file>', 'certificate (PEM) for a TLS visitor listener speaking HTTP/2 (ALPN h2) and HTTP/1.1').env('BURROW_PUBLIC_TLS_CERT'))
    .addOption(new Option('--public-tls-key <file>', 'private key (PEM) of --public-tls-cert').env('BURROW_PUBLIC_TLS_KEY'))
    .addOption(new Option('--public-tls-listen <host:port>', 'address of the TLS visitor listener').env('BURROW_PUBLIC_TLS_LISTEN').default({ host: '127.0.0.1', port: 8443 }, '127.0.0.1:8443').argParser(parseListenOrZero))
    .addOption(new Option('--no-h2c', 'serve only HTTP/1.1 on the plain listener (no HTTP/2 prior knowledge)').env('BURROW_NO_H2C'))
    .addOption(new Option('--body-idle-timeout <ms>', 'a visitor request body that stalls this long is cut (408); 0 turns it off').env('BURROW_BODY_IDLE_TIMEOUT').default(30_000).argParser(parseMs))
    .addOption(new Option('--drain-timeout <ms>', 'how long shutdown lets in-flight requests finish').env('BURROW_DRAIN_TIMEOUT').default(10_000).argParser(parseMs))
    .addOption(levelOption())
    .addOption(prettyOption())
    .addHelpText('after', `
Example:
  burrow edge --listen 0.0.0.0:8080 --tunnel-listen 0.0.0.0:7844 --tunnel-name edge.example.com
  burrow edge accounts add acme --zone acme.example.com      prints a one-time enrollment token
${EXIT_CODES_HELP}`)
    .action(async (opts: EdgeCliOptions) => { await runEdge(opts) })
  const stateDirOf = (opts: { stateDir?: string }): string => opts.stateDir ?? (edge.opts() as EdgeCliOptions).stateDir

  const accounts = edge.command('accounts').description('Accounts, their zones and enrollment tokens (works whether or not the edge runs).')
  accounts.command('add <name>')
    .description('Create an account with the zones it may register hostnames in; prints a one-time enrollment token as the last line.')
    .addOption(new Option('--zone <zone>', 'a DNS zone the account owns: the name and every name below it (repeatable)').argParser(collect).makeOptionMandatory())
    .addOption(new Option('--wildcard', 'the account may also register wildcard hostnames (*.name) in its zones'))
    .addOption(new Option('--token-ttl <duration>', 'how long the enrollment token stays valid, e.g. 30m, 24h, 7d').default(DEFAULT_TOKEN_TTL_MS, '24h').argParser(parseTtl))
    .addOption(stateDirOption())
    .action(async (name: string, opts: { zone: string[], wildcard?: boolean, tokenTtl: number, stateDir?: string }) => {
      await runAdmin(async () => {
        await accountsAdd(stateDirOf(opts), name, opts.zone.map((zone) => ({ zone, wildcard: opts.wildcard === true })), opts.tokenTtl, { out: (l) => process.stdout.write(l + '\n') })
      })
    })
  accounts.command('token <name>')
    .description('Issue another one-time enrollment token for an existing account (printed as the last line).')
    .addOption(new Option('--token-ttl <duration>', 'how long the token stays valid').default(DEFAULT_TOKEN_TTL_MS, '24h').argParser(parseTtl))
    .addOption(stateDirOption())
    .action(async (name: string, opts: { tokenTtl: number, stateDir?: string }) => {
      await runAdmin(async () => { await accountsToken(stateDirOf(opts), name, opts.tokenTtl, { out: (l) => process.stdout.write(l + '\n') }) })
    })
  accounts.command('list')
    .description('List accounts and their zones.')
    .option('--json', 'one JSON array')
    .addOption(stateDirOption())
    .action(async (opts: { json?: boolean, stateDir?: string }) => {
      await runAdmin(async () => { await accountsList(stateDirOf(opts), opts.json === true, { out: (l) => process.stdout.write(l + '\n') }) })
    })

  edge.command('hash-password')
    .description('Read a password from standard input and print its hash for auth.basic in the policy file.')
    .action(async () => {
      await runAdmin(async () => {
        const chunks: Buffer[] = []
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
        const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
        if (password === '') throw new TypeError('no password on standard input (echo -n secret | burrow edge hash-password)')
        process.stdout.write(await hashPassword(password) + '\n')
      })
    })
  edge.command('hash-token <token>')
    .description('Print the hash of a bearer token for auth.bearer in the policy file (the file never holds the token).')
    .action(async (token: string) => { await runAdmin(async () => { process.stdout.write(hashBearerToken(token) + '\n') }) })

  const certs = edge.command('certs').description('Client certificates the edge issued.')
  certs.command('list')
    .description('List issued certificates with their status (valid, expired, revoked).')
    .option('--json', 'one JSON array')
    .addOption(stateDirOption())
    .action(async (opts: { json?: boolean, stateDir?: string }) => {
      await runAdmin(async () => { await certsList(stateDirOf(opts), opts.json === true, { out: (l) => process.stdout.write(l + '\n') }) })
    })
  certs.command('revoke <serial-or-account>')
    .description("Revoke a certificate (and its renewals) or every certificate of an account; a running edge disconnects their tunnels within seconds.")
    .addOption(stateDirOption())
    .action(async (target: string, opts: { stateDir?: string }) => {
      await runAdmin(async () => { await certsRevoke(stateDirOf(opts), target, { out: (l) => process.stdout.write(l + '\n') }) })
    })

  edge.command('tunnels')
    .description('List what the running edge serves: hostnames, agents, connections, labels, requests in flight (asks it over <state-dir>/admin.sock).')
    .option('--json', 'one JSON object: { edgeId, hostnames: [{ hostname, connections: [...] }] }')
    .addOption(stateDirOption())
    .action(async (opts: { json?: boolean, stateDir?: string }) => {
      await runAdmin(async () => { await tunnelsList(stateDirOf(opts), opts.json === true, { out: (l) => process.stdout.write(l + '\n') }) })
    })

  const demo = program.command('demo')
    .description('Quick start: an embedded edge, an agent and a demo origin in one process (npm start).')
    .addOption(new Option('--hostname <name>', 'hostname of the demo').env('BURROW_HOSTNAME').default(['hello.localhost'], 'hello.localhost').argParser(collectHostname))
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: AgentCliOptions) => { await runAgent('', opts, true) })
  addSharedAgentOptions(demo)

  return program
}

/** Every command and subcommand, so that each reports usage errors by exit code instead of exiting itself. */
function allCommands (cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)]
}

async function main (argv: string[]): Promise<void> {
  const program = buildProgram()
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) })
  for (const cmd of allCommands(program)) cmd.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
      process.exit(ok ? EXIT_OK : EXIT_USAGE)
    }
    process.stderr.write(`burrow: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exit(EXIT_RUNTIME)
  }
}

await main(process.argv)
