#!/usr/bin/env node
/**
 * The `burrow` command. The only module that reads the environment for configuration, installs
 * signal handlers or calls process.exit.
 *
 *   burrow [options] <origin-url>     run an agent (with an embedded edge when --edge is not given)
 *   burrow edge [options]             run a standalone edge
 *   burrow demo [options]             embedded edge + agent + demo origin (npm start)
 *
 * Exit codes: 0 ok or graceful shutdown; 1 runtime failure; 2 usage error; 4 registration rejected
 * permanently; 130/143 forced exit on a second SIGINT/SIGTERM.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { readFileSync } from 'node:fs'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Logger, LevelWithSilent } from 'pino'
import { createCliLogger, LOG_LEVELS, type CliLogger } from './logging.js'
import { startDemoOrigin } from './demo-origin.js'
import { Edge, type ListenAddress } from '../edge/edge.js'
import { Agent, parseHostPort } from '../agent/agent.js'
import { RegistrationError } from '../agent/tunnel-client.js'
import { normaliseHostname } from '../protocol/hostname.js'

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
  4    the edge rejected the registration permanently (bad token, invalid hostname, version)
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

function parseMs (value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of milliseconds')
  return Number(value)
}

function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')]
}

function collectHostname (value: string, previous: string[] | undefined): string[] {
  const out = previous ?? []
  for (const part of value.split(',')) {
    const name = part.trim()
    if (name === '') continue
    if (normaliseHostname(name) === undefined) throw new InvalidArgumentError(`${JSON.stringify(name)} is not a valid hostname`)
    out.push(name)
  }
  return out
}

function collectLabel (value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const out = { ...(previous ?? {}) }
  for (const part of value.split(',')) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})=([A-Za-z0-9._-]{0,63})$/.exec(part.trim())
    if (m === null) throw new InvalidArgumentError(`${JSON.stringify(part)}: expected key=value (letters, digits, . _ -)`)
    out[m[1]!] = m[2]!
  }
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

function fail (log: CliLogger, code: number, err: unknown, msg: string): never {
  const errCode = (err as { code?: unknown } | undefined)?.code
  log.logger.fatal({ err, code: errCode }, msg)
  log.flush()
  const prefix = typeof errCode === 'string' && errCode.startsWith('BURROW_ERR_') ? `${errCode}: ` : ''
  const hint = errCode === 'EADDRINUSE' ? '\n  (another process uses that address: pick another with --listen host:port, or --listen 127.0.0.1:0 for any free port)' : ''
  process.stderr.write(`burrow: ${msg}: ${prefix}${err instanceof Error ? err.message : String(err)}${hint}\n`)
  process.exit(code)
}

/** Tokens for a standalone edge: flags, then BURROW_TOKENS, then <state-dir>/token (created once). */
async function edgeTokens (stateDir: string, flagTokens: string[] | undefined, tokenFile: string | undefined, logger: Logger): Promise<string[]> {
  const tokens = [...(flagTokens ?? [])]
  if (tokenFile !== undefined) {
    tokens.push(...(await readFile(tokenFile, 'utf8')).split(/\r?\n/).map((t) => t.trim()).filter((t) => t !== '' && !t.startsWith('#')))
  }
  if (tokens.length > 0) return tokens
  const path = join(stateDir, 'token')
  try {
    const saved = (await readFile(path, 'utf8')).trim()
    if (saved !== '') return [saved]
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = randomBytes(24).toString('base64url')
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  await writeFile(path, token + '\n', { mode: 0o600 })
  logger.info({ path }, 'no token configured: generated one; agents use it with --token')
  return [token]
}

// ---------------------------------------------------------------------------------------------

interface AgentCliOptions {
  hostname?: string[]
  edge?: string
  edgeCa?: string
  token?: string
  listen: ListenAddress
  tunnelListen: ListenAddress
  stateDir: string
  label?: Record<string, string>
  originTimeout: number
  gracePeriod: number
  retryMaxDelay: number
  logLevel: LevelWithSilent
  pretty?: boolean
}

async function runAgent (originArg: string, opts: AgentCliOptions, demo: boolean): Promise<void> {
  const log = createCliLogger(opts.logLevel, opts.pretty)
  const logger = log.logger
  let edge: Edge | undefined
  let edgeAddr = opts.edge
  let ca: string
  let token = opts.token
  let demoOrigin: Awaited<ReturnType<typeof startDemoOrigin>> | undefined
  const hostnames = opts.hostname ?? []
  let origin = originArg

  try {
    if (demo) {
      demoOrigin = await startDemoOrigin()
      origin = demoOrigin.url
    }
    if (edgeAddr === undefined) {
      // Quick-start path: an embedded edge in this process, with a one-off token.
      if (hostnames.length === 0) hostnames.push(demo ? 'hello.localhost' : 'app.localhost')
      token = randomBytes(24).toString('base64url')
      edge = new Edge({ stateDir: opts.stateDir, tokens: [token], listen: opts.listen, tunnelListen: opts.tunnelListen, logger })
      await edge.start()
      edgeAddr = `127.0.0.1:${edge.tunnelAddress.port}`
      ca = edge.caCertPem
    } else {
      if (hostnames.length === 0) throw new InvalidArgumentError('--hostname is required with --edge')
      if (token === undefined) throw new InvalidArgumentError('--token (or BURROW_TOKEN) is required with --edge')
      ca = await readFile(opts.edgeCa ?? join(DEFAULT_STATE_DIR, 'ca.pem'), 'utf8')
    }
  } catch (err) {
    await edge?.close()
    await demoOrigin?.close()
    if (err instanceof InvalidArgumentError) {
      log.flush()
      process.stderr.write(`burrow: ${err.message}\n`)
      process.exit(EXIT_USAGE)
    }
    fail(log, EXIT_RUNTIME, err, 'could not start')
  }

  const agent = new Agent({
    edge: edgeAddr,
    edgeCa: ca,
    token,
    hostnames,
    origin,
    labels: opts.label ?? {},
    originTimeoutMs: opts.originTimeout,
    gracePeriodMs: opts.gracePeriod,
    retryMaxDelayMs: opts.retryMaxDelay,
    version: VERSION,
    logger,
  })
  onSignals(log, async () => {
    await agent.close()
    await edge?.close()
    await demoOrigin?.close()
  })
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
  if (edge !== undefined) {
    const urls = agent.registeredHostnames().map((h) => edge.publicUrl(h))
    logger.info({ urls, origin }, 'tunnel ready')
    process.stderr.write(`\n  Burrow tunnel ready: ${urls.join(' ')}  ->  ${origin}\n  (Ctrl-C to stop)\n\n`)
  } else {
    logger.info({ hostnames: agent.registeredHostnames(), edge: edgeAddr, origin }, 'tunnel ready')
  }
}

interface EdgeCliOptions {
  listen: ListenAddress
  tunnelListen: ListenAddress
  stateDir: string
  token?: string[]
  tokenFile?: string
  tunnelName?: string[]
  registrationTimeout: number
  heartbeatInterval: number
  drainTimeout: number
  logLevel: LevelWithSilent
  pretty?: boolean
}

async function runEdge (opts: EdgeCliOptions): Promise<void> {
  const log = createCliLogger(opts.logLevel, opts.pretty)
  let edge: Edge
  try {
    const tokens = await edgeTokens(opts.stateDir, opts.token, opts.tokenFile, log.logger)
    edge = new Edge({
      stateDir: opts.stateDir,
      tokens,
      listen: opts.listen,
      tunnelListen: opts.tunnelListen,
      tunnelNames: opts.tunnelName ?? [],
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
  log.logger.info({ ca: edge.caPath }, 'agents verify this edge with its CA certificate (--edge-ca)')
  onSignals(log, async () => { await edge.close() })
}

// ---------------------------------------------------------------------------------------------

function addSharedAgentOptions (cmd: Command): Command {
  return cmd
    .addOption(new Option('--listen <host:port>', 'public listener of the embedded edge (only without --edge)').env('BURROW_LISTEN').default({ host: '127.0.0.1', port: 8080 }, '127.0.0.1:8080').argParser(parseListenOrZero))
    .addOption(new Option('--tunnel-listen <host:port>', 'tunnel listener of the embedded edge').env('BURROW_TUNNEL_LISTEN').default({ host: '127.0.0.1', port: 0 }, '127.0.0.1:0 (any free port)').argParser(parseListenOrZero).hideHelp())
    .addOption(new Option('--state-dir <dir>', 'state directory of the embedded edge (CA and certificates)').env('BURROW_STATE_DIR').default(DEFAULT_STATE_DIR, '~/.burrow/edge'))
    .addOption(new Option('--origin-timeout <ms>', 'time the origin has to send response headers').env('BURROW_ORIGIN_TIMEOUT').default(30_000).argParser(parseMs))
    .addOption(new Option('--grace-period <ms>', 'how long SIGINT/SIGTERM lets in-flight requests finish').env('BURROW_GRACE_PERIOD').default(30_000).argParser(parseMs))
    .addOption(new Option('--retry-max-delay <ms>', 'cap of the reconnect backoff').env('BURROW_RETRY_MAX_DELAY').default(30_000).argParser(parseMs))
    .addOption(levelOption())
    .addOption(prettyOption())
}

export function buildProgram (): Command {
  const program = new Command('burrow')
    .version(VERSION)
    .description('Expose a private HTTP origin through a Burrow edge over one outbound TLS + HTTP/2 tunnel.')
    .enablePositionalOptions()
    .argument('<origin-url>', 'the local app to expose, e.g. http://localhost:4000', parseOrigin)
    .addOption(new Option('--hostname <name>', 'hostname visitors use (repeatable; default app.localhost with the embedded edge)').env('BURROW_HOSTNAME').argParser(collectHostname))
    .addOption(new Option('--edge <host:port>', "the edge's tunnel address; without it an edge runs embedded in this process").env('BURROW_EDGE'))
    .addOption(new Option('--edge-ca <file>', "the edge's CA certificate (<state-dir>/ca.pem on the edge)").env('BURROW_EDGE_CA').default(join(DEFAULT_STATE_DIR, 'ca.pem'), '~/.burrow/edge/ca.pem'))
    .addOption(new Option('--token <token>', 'bearer token the edge accepts').env('BURROW_TOKEN'))
    .addOption(new Option('--label <key=value>', 'label this tunnel (repeatable or comma separated), e.g. release=canary').env('BURROW_LABELS').argParser(collectLabel))
    .addHelpText('after', `
Examples:
  burrow http://localhost:4000                       embedded edge, prints http://app.localhost:8080/
  burrow --hostname app.localhost --edge 127.0.0.1:7844 --edge-ca ca.pem --token T http://localhost:4000
${EXIT_CODES_HELP}`)
    .action(async (origin: string, opts: AgentCliOptions) => { await runAgent(origin, opts, false) })
  addSharedAgentOptions(program)

  const edge = program.command('edge')
    .description('Run a standalone edge: a public HTTP listener for visitors and a TLS listener for agents.')
    .addOption(new Option('--listen <host:port>', 'public HTTP listener for visitors').env('BURROW_LISTEN').default({ host: '127.0.0.1', port: 8080 }, '127.0.0.1:8080').argParser(parseListenOrZero))
    .addOption(new Option('--tunnel-listen <host:port>', 'TLS listener for agents').env('BURROW_TUNNEL_LISTEN').default({ host: '127.0.0.1', port: 7844 }, '127.0.0.1:7844').argParser(parseListenOrZero))
    .addOption(new Option('--state-dir <dir>', 'where the CA, certificates and generated token live').env('BURROW_STATE_DIR').default(DEFAULT_STATE_DIR, '~/.burrow/edge'))
    .addOption(new Option('--token <token>', 'accepted agent token (repeatable or comma separated; default: <state-dir>/token, generated once)').env('BURROW_TOKENS').argParser(collect))
    .addOption(new Option('--token-file <file>', 'file with one accepted token per line').env('BURROW_TOKEN_FILE'))
    .addOption(new Option('--tunnel-name <name>', 'extra DNS name or IP for the tunnel certificate (repeatable)').env('BURROW_TUNNEL_NAMES').argParser(collect))
    .addOption(new Option('--registration-timeout <ms>', 'time an agent has to register after connecting').env('BURROW_REGISTRATION_TIMEOUT').default(10_000).argParser(parseMs))
    .addOption(new Option('--heartbeat-interval <ms>', 'HTTP/2 PING interval on tunnels (timeout is twice this)').env('BURROW_HEARTBEAT_INTERVAL').default(5_000).argParser(parseMs))
    .addOption(new Option('--drain-timeout <ms>', 'how long shutdown lets in-flight requests finish').env('BURROW_DRAIN_TIMEOUT').default(10_000).argParser(parseMs))
    .addOption(levelOption())
    .addOption(prettyOption())
    .addHelpText('after', `
Example:
  burrow edge --listen 0.0.0.0:8080 --tunnel-listen 0.0.0.0:7844 --token "$(openssl rand -hex 24)"
${EXIT_CODES_HELP}`)
    .action(async (opts: EdgeCliOptions) => { await runEdge(opts) })
  void edge

  const demo = program.command('demo')
    .description('Quick start: an embedded edge, an agent and a demo origin in one process (npm start).')
    .addOption(new Option('--hostname <name>', 'hostname of the demo').env('BURROW_HOSTNAME').default(['hello.localhost'], 'hello.localhost').argParser(collectHostname))
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: AgentCliOptions) => { await runAgent('', opts, true) })
  addSharedAgentOptions(demo)

  return program
}

async function main (argv: string[]): Promise<void> {
  const program = buildProgram()
  program.exitOverride()
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) })
  for (const cmd of program.commands) cmd.exitOverride()
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
