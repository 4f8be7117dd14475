/**
 * The shield's policy file (issue #4, scratch/design-shield.md "Config file"): YAML parsed with `yaml`,
 * validated by a strict zod schema, every problem reported as `<file>:<line>:<col>: <key.path>: <problem>`,
 * host entries resolved and merged over `defaults` once at load time so that the per-request lookup
 * (`policyFor`) is one or two Map reads. `ShieldConfigWatcher` reloads the file on change (and on demand,
 * for SIGHUP), keeping the last good configuration when a new one is invalid.
 *
 * Edge-only; imports src/protocol, never src/agent.
 */
import { EventEmitter } from 'node:events'
import { constants as fsConstants, watch, type FSWatcher } from 'node:fs'
import { access, readFile } from 'node:fs/promises'
import { BlockList, isIP } from 'node:net'
import { basename, dirname, resolve } from 'node:path'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml'
import * as z from 'zod'
import { normaliseRegisteredHostname, wildcardKeyOf } from '../../protocol/hostname.js'
import { isBurrowHeader, isHopByHop, isValidHeaderName } from '../../protocol/headers.js'
import { parseDuration } from '../../protocol/identity.js'
import { LABEL_KEY_RE, labelProblem, MAX_LABELS } from '../../protocol/labels.js'
import type { LabelPool, RoutingRule, Stickiness } from '../routing.js'
import { silentLogger, type Logger } from '../../observability/logger.js'
import { isBearerTokenHash, isPasswordHash } from './auth.js'

// ---------------------------------------------------------------------------------------------------------
// Result types. Every field is present (possibly `undefined`) so that every policy object has one shape:
// the shield reads them per request, and one hidden class keeps those reads monomorphic.
// ---------------------------------------------------------------------------------------------------------

/** The name of the header carrying the authenticated user to the origin, unless a policy names another. */
export const DEFAULT_IDENTITY_HEADER = 'burrow-auth-identity'

/**
 * Method and path allow-list (design step 4). An absent list allows everything of its kind.
 * Arrays here and below are frozen: typed mutable only so they pass to routes.ts/auth.ts as they are.
 */
export interface RouteAllow {
  /** Upper-case method tokens; undefined = any method. */
  readonly methods: string[] | undefined
  /** Patterns: "/exact", "/prefix/*" (the prefix's "/" and below) or "*"; percent-escape hex upper-cased. Undefined = any path. */
  readonly paths: string[] | undefined
}

/** JWT verification (auth.ts JwtAuthConfig); keys left out of the file are absent, not undefined. */
export interface JwtPolicy {
  /** Absolute path (a relative one in the file is resolved against the config file's directory). Exactly one of jwksFile/jwksUrl is set. */
  readonly jwksFile?: string
  /** http(s) URL on a loopback host (127.0.0.0/8, ::1, localhost). */
  readonly jwksUrl?: string
  readonly issuer?: string
  readonly audience?: string | string[]
  /** Asymmetric JWS algorithms only; absent = whatever the JWKS keys allow. */
  readonly algorithms?: string[]
  /** The claim that names the user in the identity header; 'sub' unless configured. */
  readonly identityClaim: string
}

/** Authenticators of a host (auth.ts AuthConfig); at least one is present, and any one of them may admit a request. */
export interface AuthPolicy {
  /** user → password hash, each checked with auth.ts isPasswordHash ("scrypt$N$r$p$salt$key"). */
  readonly basic?: Readonly<Record<string, string>>
  /** "sha256:<64 lower-case hex>" digests of the accepted tokens (auth.ts hashBearerToken). */
  readonly bearer?: string[]
  readonly jwt?: JwtPolicy
}

export interface RateLimitPolicy {
  readonly requestsPerSecond: number
  readonly burst: number
  readonly per: 'ip' | 'host'
}

export interface ConnectionRateLimit {
  readonly connectionsPerSecond: number
  readonly burst: number
}

/** The policy that applies to one hostname: `defaults` merged with the matching host entry, key by key. */
export interface HostPolicy {
  /** The normalised `hosts` key that matched ("app.localhost", "*.example.com"); undefined when only `defaults` applies. */
  readonly entry: string | undefined
  readonly allow: RouteAllow | undefined
  /** CIDR ranges, each "address/prefix" (a bare address in the file becomes /32 or /128). Never empty when set. */
  readonly ipAllow: string[] | undefined
  readonly ipDeny: string[] | undefined
  readonly auth: AuthPolicy | undefined
  readonly rateLimit: RateLimitPolicy | undefined
  readonly maxBodyBytes: number | undefined
  readonly maxHeaderBytes: number | undefined
  readonly maxHeaderCount: number | undefined
  readonly originTimeoutMs: number | undefined
  /** Lower-case header name; DEFAULT_IDENTITY_HEADER unless configured. */
  readonly identityHeader: string
  /** Label-weighted routing (`split`, `sticky`, `fallback`; host entries only, never from `defaults`). */
  readonly routing: RoutingRule | undefined
}

export interface ShieldConfig {
  /** Absolute path of the file this was loaded from. */
  readonly file: string
  /** CIDR ranges ("address/prefix") whose X-Forwarded-For is believed; empty when none. */
  readonly trustedProxies: readonly string[]
  readonly connectionRateLimit: ConnectionRateLimit | undefined
  /** `defaults` alone: what applies to a hostname without an entry. Undefined when the file has no `defaults`. */
  readonly defaults: HostPolicy | undefined
  /** Normalised host key (exact or "*.parent") → merged policy. */
  readonly policies: ReadonlyMap<string, HostPolicy>
  /** True when some key of `policies` is a wildcard; saves the wildcard lookup (and its string) otherwise. */
  readonly hasWildcards: boolean
}

/**
 * The policy for a routing key (already normalised, e.g. by routingKeyOfHost): the exact entry, else the
 * "*.parent" entry one label deep (as routing does), else `defaults`, else undefined — in which case the
 * shield does nothing for this host. Everything is precomputed; the only allocation is the wildcard key,
 * and only when the file has wildcard entries.
 */
export function policyFor (config: ShieldConfig, hostKey: string): HostPolicy | undefined {
  const exact = config.policies.get(hostKey)
  if (exact !== undefined) return exact
  if (config.hasWildcards) {
    const wildcard = wildcardKeyOf(hostKey)
    if (wildcard !== undefined) {
      const policy = config.policies.get(wildcard)
      if (policy !== undefined) return policy
    }
  }
  return config.defaults
}

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

/** One problem in a config file; line and column are 1-based and absent when the file could not be read. */
export interface ConfigIssue {
  readonly line: number | undefined
  readonly column: number | undefined
  /** e.g. `hosts["app.localhost"].ipAllow[1]`; undefined for syntax errors and whole-file problems. */
  readonly keyPath: string | undefined
  readonly problem: string
}

/** At most this many issues are spelled out in the message (all are kept in `issues`). */
const MAX_ISSUES_IN_MESSAGE = 10

/**
 * A config file that cannot be used. The message has one line per issue, compiler style:
 * `<file>:<line>:<col>: <key.path>: <problem>` (schema), `<file>:<line>:<col>: <problem>` (YAML syntax),
 * `<file>: <problem>` (unreadable file).
 */
export class ConfigError extends Error {
  readonly file: string
  readonly issues: readonly ConfigIssue[]

  constructor (file: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const lines = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((issue) => formatIssue(file, issue))
    if (issues.length > MAX_ISSUES_IN_MESSAGE) lines.push(`${file}: (${issues.length - MAX_ISSUES_IN_MESSAGE} more problems)`)
    super(lines.join('\n'), options)
    this.name = 'ConfigError'
    this.file = file
    this.issues = issues
  }
}

function formatIssue (file: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.column ?? 1}`
  return issue.keyPath === undefined || issue.keyPath === '' ? `${where}: ${issue.problem}` : `${where}: ${issue.keyPath}: ${issue.problem}`
}

/** `hosts["app.localhost"].ipAllow[0]`: dotted identifiers, bracketed indexes, quoted keys that are not identifiers. */
export function formatKeyPath (path: readonly PropertyKey[]): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else {
      const key = String(segment)
      if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += out === '' ? key : `.${key}`
      else out += `[${JSON.stringify(key)}]`
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Field validators
// ---------------------------------------------------------------------------------------------------------

/** "address/prefix" with the address as written (v6 lower-cased), or undefined when it is not a CIDR range. */
function normaliseCidr (input: string): string | undefined {
  const slash = input.indexOf('/')
  const address = (slash === -1 ? input : input.slice(0, slash)).toLowerCase()
  const family = isIP(address)
  // A zone index ("fe80::1%eth0") names an interface, not a range a peer address can be in.
  if (family === 0 || address.includes('%')) return undefined
  const max = family === 4 ? 32 : 128
  let prefix = max
  if (slash !== -1) {
    const digits = input.slice(slash + 1)
    if (!/^[0-9]{1,3}$/.test(digits)) return undefined
    prefix = Number(digits)
    if (prefix > max) return undefined
  }
  try {
    // The same call client-ip.ts makes: what passes here is accepted there.
    new BlockList().addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6')
  } catch {
    return undefined
  }
  return `${address}/${prefix}`
}

const cidr = z.string().transform((value, ctx) => {
  const normalised = normaliseCidr(value.trim())
  if (normalised !== undefined) return normalised
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an IP address or CIDR range (e.g. "10.0.0.0/8", "::1/128")` })
  return z.NEVER
})

/** An HTTP method token (RFC 9110 §9.1), upper-case: methods are case-sensitive and the standard ones are upper-case. */
const method = z.string().regex(/^[A-Z0-9!#$%&'*+.^_`|~-]+$/, { error: (issue) => `${JSON.stringify(issue.input)} is not an upper-case HTTP method (e.g. GET)` })

const UNRESERVED = /^[A-Za-z0-9._~-]$/

/**
 * Why a path pattern can never work, or undefined. Patterns are matched against the normalised path
 * (paths.ts): so a pattern that is not itself normal (dot segments, "//", escapes the normaliser decodes or
 * rejects) would silently never match, and is refused here instead.
 */
function pathPatternProblem (pattern: string): string | undefined {
  if (pattern === '*') return undefined
  if (!pattern.startsWith('/')) return 'a path pattern starts with "/" (or is exactly "*")'
  if (/[^\x21-\x7e]/.test(pattern)) return 'contains a space, a control or a non-ASCII character (percent-encode it)'
  if (/[?#\\]/.test(pattern)) return 'contains "?", "#" or "\\" (the query is not matched; a backslash never reaches matching)'
  for (const escape of pattern.matchAll(/%(.{0,2})/g)) {
    const hex = escape[1] ?? ''
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return 'has a malformed percent escape'
    const byte = Number.parseInt(hex, 16)
    if (byte === 0x2f || byte === 0x5c || byte === 0) return 'has an encoded slash, backslash or NUL (visitors sending them are refused with 400)'
    if (UNRESERVED.test(String.fromCharCode(byte))) return `encodes "${String.fromCharCode(byte)}" (%${hex}), which visitors' paths carry decoded: write it plainly`
  }
  const segments = pattern.split('/')
  const last = segments.length - 1
  for (let i = 1; i <= last; i++) {
    const segment = segments[i]!
    if (segment.includes('*') && !(segment === '*' && i === last)) return '"*" may only be the whole last segment ("/x/*") or the whole pattern'
    if (segment === '.' || segment === '..') return 'has a "." or ".." segment (paths are matched after dot-segment removal)'
    if (segment === '' && i !== last) return 'has an empty segment ("//"; paths are matched after repeated slashes collapse)'
  }
  return undefined
}

const pathPattern = z.string().transform((value, ctx) => {
  const problem = pathPatternProblem(value)
  if (problem === undefined) return value.replace(/%[0-9a-f]{2}/gi, (escape) => escape.toUpperCase())
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)}: ${problem}` })
  return z.NEVER
})

/** Header names the identity header must not replace: framing, routing, credentials and forwarding headers. */
const RESERVED_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer',
  'proxy-connection', 'expect', 'authorization', 'proxy-authorization', 'cookie', 'forwarded', 'via',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto',
])

const identityHeader = z.string()
  .regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, { error: (issue) => `${JSON.stringify(issue.input)} is not a lower-case header name` })
  .refine((name) => !RESERVED_HEADERS.has(name), { error: (issue) => `${JSON.stringify(issue.input)} is a header the edge or the origin relies on; choose another name` })

/** JWS algorithms a JWKS-verified token may use: asymmetric only (no "none", no HMAC with a public key). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const

/** True for an http(s) URL whose host is loopback: the edge never fetches keys across the network. */
function isLoopbackUrl (value: string): boolean {
  let url: URL
  try { url = new URL(value) } catch { return false }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
  if (url.username !== '' || url.password !== '') return false
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname
  if (host === 'localhost' || host === '[::1]') return true
  // WHATWG URL has already turned "127.1" and friends into dotted quads.
  return isIP(host) === 4 && host.startsWith('127.')
}

const nonEmpty = z.string().min(1, { error: 'must not be empty' })

const jwtSchema = z.strictObject({
  jwksFile: nonEmpty.optional(),
  jwksUrl: z.string().refine(isLoopbackUrl, { error: (issue) => `${JSON.stringify(issue.input)} is not an http(s) URL on a loopback host (127.0.0.0/8, ::1, localhost); fetch remote keys into a jwksFile instead` }).optional(),
  issuer: nonEmpty.optional(),
  audience: z.union([nonEmpty, z.array(nonEmpty).min(1)], { error: 'expected a string or a non-empty list of strings' }).optional(),
  algorithms: z.array(z.enum(JWT_ALGORITHMS, { error: (issue) => `${JSON.stringify(issue.input)} is not one of ${JWT_ALGORITHMS.join(', ')}` })).min(1).optional(),
  identityClaim: nonEmpty.default('sub'),
}).superRefine((jwt, ctx) => {
  if ((jwt.jwksFile === undefined) === (jwt.jwksUrl === undefined)) {
    ctx.addIssue({ code: 'custom', message: jwt.jwksFile === undefined ? 'needs one of jwksFile or jwksUrl' : 'give only one of jwksFile and jwksUrl' })
  }
})

const basicUser = z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/, { error: (issue) => `user ${JSON.stringify(issue.input)} must be printable ASCII without ":" or spaces` })

const authSchema = z.strictObject({
  basic: z.record(basicUser, z.string().refine(isPasswordHash, { error: 'is not a password hash (make one with `burrow edge hash-password`; scrypt$N$r$p$salt$key)' })).refine((users) => Object.keys(users).length > 0, { error: 'must list at least one user' }).optional(),
  bearer: z.array(z.string().refine(isBearerTokenHash, { error: 'expected "sha256:<64 hex digits>", the digest of the token (`burrow edge hash-token <token>`), never the token itself' })
    .transform((digest) => digest.toLowerCase())).min(1).optional(),
  jwt: jwtSchema.optional(),
}).refine((auth) => auth.basic !== undefined || auth.bearer !== undefined || auth.jwt !== undefined, { error: 'needs at least one of basic, bearer, jwt' })

const positiveNumber = z.number().positive().finite()
const burst = z.int().min(1)

const rateLimitSchema = z.strictObject({
  requestsPerSecond: positiveNumber,
  burst,
  per: z.enum(['ip', 'host']).default('ip'),
})

const connectionRateLimitSchema = z.strictObject({ connectionsPerSecond: positiveNumber, burst })

/**
 * Policy keys. In a host entry `null` removes what `defaults` sets for that key (e.g. `auth: null` for a
 * public health host); in `defaults` it is the same as leaving the key out.
 */
const policySchema = z.strictObject({
  allow: z.strictObject({
    methods: z.array(method).min(1, { error: 'must list at least one method (leave methods out to allow any)' }).optional(),
    paths: z.array(pathPattern).min(1, { error: 'must list at least one pattern (leave paths out to allow any)' }).optional(),
  }).nullable().optional(),
  ipAllow: z.array(cidr).min(1, { error: 'an empty ipAllow denies every address; leave it out (or null) to allow any' }).nullable().optional(),
  ipDeny: z.array(cidr).nullable().optional(),
  auth: authSchema.nullable().optional(),
  rateLimit: rateLimitSchema.nullable().optional(),
  maxBodyBytes: z.int().min(0).nullable().optional(),
  maxHeaderBytes: z.int().min(1).nullable().optional(),
  maxHeaderCount: z.int().min(1).nullable().optional(),
  // setTimeout fires at once for delays above 2^31-1 ms.
  originTimeoutMs: z.int().min(1).max(2 ** 31 - 1).nullable().optional(),
  identityHeader: identityHeader.nullable().optional(),
})

type PolicyInput = z.output<typeof policySchema>

// Routing keys (SPEC.md §5.11, README "High availability"): only in a host entry. ------------------------------------------

/** The keys a host entry has and `defaults` has not. */
const ROUTING_KEYS: ReadonlySet<string> = new Set(['split', 'sticky', 'fallback'])
const MAX_POOLS = 16
const MAX_WEIGHT = 10_000
/** An explicit pool name: also the stickiness cookie's value. */
const POOL_NAME_RE = /^[A-Za-z0-9._-]{1,63}$/
/** A pool name made from its match pairs ("release=stable&zone=eu"). */
const DEFAULT_POOL_NAME_RE = /^[A-Za-z0-9._=&-]{1,128}$/
/** A cookie-name token (RFC 6265 §4.1.1), bounded. */
const COOKIE_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/

/** `{ release: stable }`: 1..16 labels, each valid as an agent's `--label` would have to be. */
const labelMatch = z.record(z.string(), z.string({ error: (issue) => `label values are strings: quote it in the file (got the ${typeof issue.input} ${JSON.stringify(issue.input)})` }))
  .superRefine((match, ctx) => {
    const keys = Object.keys(match)
    if (keys.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one label (e.g. { release: stable })' })
    if (keys.length > MAX_LABELS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_LABELS} labels, got ${keys.length}` })
    for (const key of keys) {
      const problem = labelProblem(key, match[key]!)
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: [key], params: { atKey: !LABEL_KEY_RE.test(key) } })
    }
  })

const splitEntrySchema = z.strictObject({
  name: z.string().regex(POOL_NAME_RE, { error: (issue) => `pool name ${JSON.stringify(issue.input)} must be 1-63 letters, digits, ".", "_" or "-"` }).optional(),
  match: labelMatch,
  weight: z.int({ error: `must be an integer from 0 to ${MAX_WEIGHT}` }).min(0, { error: `must be an integer from 0 to ${MAX_WEIGHT}` }).max(MAX_WEIGHT, { error: `must be an integer from 0 to ${MAX_WEIGHT}` }),
})

type SplitEntry = z.output<typeof splitEntrySchema>

/** A pool's name: the explicit one, else its match pairs "k=v" with keys sorted, joined by "&". */
function poolNameOf (entry: SplitEntry): string {
  return entry.name ?? Object.keys(entry.match).sort().map((k) => `${k}=${entry.match[k]!}`).join('&')
}

/** The header whose value's hash picks the pool: any valid name, lower-cased, except Burrow's and hop-by-hop ones. */
const stickyHeader = z.string().transform((value, ctx) => {
  const name = value.toLowerCase()
  if (!isValidHeaderName(name)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a header name` })
  } else if (isBurrowHeader(name) || isHopByHop(name, undefined)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is a Burrow or hop-by-hop header; stick on a header the client sends end to end (e.g. x-user-id)` })
  } else {
    return name
  }
  return z.NEVER
})

/** Cookie lifetime: a duration ("30m", "1h", "7d") of whole seconds, at least 1s; becomes Max-Age. */
const cookieTtl = z.string({ error: 'expected a duration such as "30m", "1h" or "7d"' }).transform((value, ctx) => {
  const ms = parseDuration(value)
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a duration (e.g. "30m", "1h", "7d")` })
  else if (ms < 1000 || ms % 1000 !== 0) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)}: Max-Age counts whole seconds; give at least 1s, in whole seconds` })
  else return ms / 1000
  return z.NEVER
})

const stickySchema = z.strictObject({
  cookie: z.string().regex(COOKIE_NAME_RE, { error: (issue) => `${JSON.stringify(issue.input)} is not a cookie name (1-64 letters, digits or !#$%&'*+.^_\`|~-)` }).optional(),
  ttl: cookieTtl.optional(),
  header: stickyHeader.optional(),
}).superRefine((sticky, ctx) => {
  if (sticky.cookie === undefined && sticky.header === undefined) {
    ctx.addIssue({ code: 'custom', message: 'needs one of cookie or header' })
  } else if (sticky.cookie !== undefined && sticky.header !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'give only one of cookie and header' })
  } else if (sticky.ttl !== undefined && sticky.cookie === undefined) {
    ctx.addIssue({ code: 'custom', message: 'ttl is the cookie\'s lifetime: it needs cookie', path: ['ttl'], params: { atKey: true } })
  }
})

/** A `hosts` entry: the policy keys, plus label-weighted routing. */
const hostSchema = policySchema.extend({
  split: z.array(splitEntrySchema)
    .min(1, { error: 'must list at least one pool (e.g. - match: { release: stable }, weight: 100)' })
    .max(MAX_POOLS, { error: `at most ${MAX_POOLS} pools` })
    .optional(),
  sticky: stickySchema.optional(),
  fallback: z.enum(['any', 'none'], { error: (issue) => `${JSON.stringify(issue.input)} is not one of any, none` }).optional(),
}).superRefine((entry, ctx) => {
  const split = entry.split
  if (split === undefined) {
    for (const key of ['sticky', 'fallback'] as const) {
      if (entry[key] !== undefined) ctx.addIssue({ code: 'custom', message: `needs split (${key} applies to the pools that split defines)`, path: [key], params: { atKey: true } })
    }
    return
  }
  const names = new Map<string, number>()
  let total = 0
  split.forEach((pool, i) => {
    total += pool.weight
    // A bad name or an empty match is reported already (those checks do not stop this one).
    if (pool.name === undefined ? Object.keys(pool.match).length === 0 : !POOL_NAME_RE.test(pool.name)) return
    const name = poolNameOf(pool)
    const at = pool.name === undefined ? ['split', i] : ['split', i, 'name']
    if (pool.name === undefined && !DEFAULT_POOL_NAME_RE.test(name)) {
      ctx.addIssue({ code: 'custom', message: `the pool's name made from its labels (${name.length} characters) is longer than 128; give it a name`, path: at })
    }
    const earlier = names.get(name)
    if (earlier !== undefined) {
      ctx.addIssue({ code: 'custom', message: `pool name ${JSON.stringify(name)} is already used by split[${earlier}]; give each pool its own name`, path: at })
    } else {
      names.set(name, i)
    }
  })
  if (total === 0 && split.length > 0) ctx.addIssue({ code: 'custom', message: 'the weights add up to 0: give at least one pool a weight above 0 (a weight-0 pool is reached only by its cookie)', path: ['split'] })
})

type HostInput = z.output<typeof hostSchema>

/** The routing rule of a host entry (validated by hostSchema), or undefined when it has no split. */
function toRouting (entry: HostInput): RoutingRule | undefined {
  if (entry.split === undefined) return undefined
  let totalWeight = 0
  const pools = entry.split.map((pool): LabelPool => {
    totalWeight += pool.weight
    const match = Object.freeze(Object.keys(pool.match).sort().map((k) => Object.freeze([k, pool.match[k]!] as const)))
    return Object.freeze({ name: poolNameOf(pool), match, weight: pool.weight })
  })
  const s = entry.sticky
  let sticky: Stickiness | undefined
  if (s?.cookie !== undefined) sticky = Object.freeze({ kind: 'cookie', name: s.cookie, maxAgeS: s.ttl })
  else if (s?.header !== undefined) sticky = Object.freeze({ kind: 'header', name: s.header })
  return Object.freeze({ pools: Object.freeze(pools), totalWeight, sticky, fallback: entry.fallback ?? 'any' })
}

/** Why a `hosts` key is unusable, or its normalised form. */
function normaliseHostKey (key: string): { key: string } | { problem: string } {
  if (/[:/\s]/.test(key)) return { problem: `${JSON.stringify(key)} is not a hostname (no scheme, port, path or spaces)` }
  const normalised = normaliseRegisteredHostname(key)
  if (normalised === undefined) {
    return key.startsWith('*.')
      ? { problem: `${JSON.stringify(key)} is not a valid wildcard: "*." must be followed by a name of at least two labels, like "*.example.com"` }
      : { problem: `${JSON.stringify(key)} is not a valid hostname` }
  }
  return { key: normalised }
}

const fileSchema = z.strictObject({
  trustedProxies: z.array(cidr).optional(),
  connectionRateLimit: connectionRateLimitSchema.optional(),
  defaults: policySchema.optional(),
  hosts: z.record(z.string(), hostSchema).optional(),
}, { error: (issue) => issue.code === 'invalid_type' ? 'the file must be a YAML mapping (trustedProxies, connectionRateLimit, defaults, hosts)' : undefined })
  .superRefine((file, ctx) => {
    const seen = new Map<string, string>()
    for (const key of Object.keys(file.hosts ?? {})) {
      const result = normaliseHostKey(key)
      if ('problem' in result) {
        ctx.addIssue({ code: 'custom', message: result.problem, path: ['hosts', key], params: { atKey: true } })
        continue
      }
      const earlier = seen.get(result.key)
      if (earlier !== undefined) {
        ctx.addIssue({ code: 'custom', message: `names the same host as ${JSON.stringify(earlier)} (${result.key})`, path: ['hosts', key], params: { atKey: true } })
      }
      seen.set(result.key, key)
    }
  })

/** The keys a strict object at `path` accepts, to list them when an unknown key is found. */
function knownKeysAt (path: readonly PropertyKey[]): readonly string[] | undefined {
  if (path.length === 0) return Object.keys(fileSchema.shape)
  if (path[0] === 'connectionRateLimit' && path.length === 1) return Object.keys(connectionRateLimitSchema.shape)
  let rest: readonly PropertyKey[]
  if (path[0] === 'defaults') rest = path.slice(1)
  else if (path[0] === 'hosts' && path.length >= 2) rest = path.slice(2)
  else return undefined
  const at = rest.join('.')
  if (rest[0] === 'split' && rest.length === 2 && typeof rest[1] === 'number') return Object.keys(splitEntrySchema.shape)
  switch (at) {
    case '': return Object.keys(path[0] === 'defaults' ? policySchema.shape : hostSchema.shape)
    case 'sticky': return Object.keys(stickySchema.shape)
    case 'allow': return ['methods', 'paths']
    case 'auth': return ['basic', 'bearer', 'jwt']
    case 'auth.jwt': return Object.keys(jwtSchema.shape)
    case 'rateLimit': return Object.keys(rateLimitSchema.shape)
    default: return undefined
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------

interface Located {
  /** Offset in the source text of the node the issue is about (or of its nearest existing parent). */
  offset: number
  /** False when the path ran out before its end: a missing key, pointed at through its parent map. */
  found: boolean
}

/** Finds the YAML node at a zod issue path: the value, or the key itself when `atKey`. */
function locate (doc: Document, path: readonly PropertyKey[], atKey: boolean): Located {
  let node: unknown = doc.contents
  let offset = rangeStart(node) ?? 0
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]
    if (isAlias(node)) node = node.resolve(doc)
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment))
      if (pair === undefined) return { offset, found: false }
      // A key without a value ("app.localhost:") has an empty null scalar, or no value node at all: point at the key.
      node = (atKey && i === path.length - 1) || isEmptyNode(pair.value) ? pair.key : pair.value
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment]
      if (item === undefined) return { offset, found: false }
      node = item
    } else {
      return { offset, found: false }
    }
    offset = rangeStart(node) ?? offset
  }
  return { offset, found: true }
}

function isEmptyNode (node: unknown): boolean {
  if (node === null || node === undefined) return true
  if (!isScalar(node) || node.value !== null) return false
  const range = node.range
  return range === undefined || range === null || range[0] === range[1]
}

function rangeStart (node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null) return undefined
  const range = (node as { range?: [number, number, number] | null }).range
  return range?.[0]
}

/** zod 4 issue, as far as this module reads it. */
interface ZodIssueLike {
  code: string
  path: PropertyKey[]
  message: string
  keys?: string[]
  expected?: string
  issues?: ZodIssueLike[]
  params?: Record<string, unknown>
}

function issuesOf (doc: Document, lineCounter: LineCounter, zodIssues: readonly ZodIssueLike[]): ConfigIssue[] {
  const out: Array<ConfigIssue & { offset: number }> = []
  const push = (path: readonly PropertyKey[], problem: string, atKey: boolean, missingProblem?: string): void => {
    const where = locate(doc, path, atKey)
    const { line, col } = lineCounter.linePos(where.offset)
    out.push({ offset: where.offset, line, column: col, keyPath: formatKeyPath(path), problem: !where.found && missingProblem !== undefined ? missingProblem : problem })
  }
  for (const issue of zodIssues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path)
      const hint = known === undefined ? '' : ` (expected one of: ${known.join(', ')})`
      for (const key of issue.keys ?? []) {
        const misplaced = issue.path.length === 1 && issue.path[0] === 'defaults' && ROUTING_KEYS.has(key)
        push([...issue.path, key], misplaced ? 'split/sticky/fallback belong in a hosts entry (routing is per hostname; defaults cannot set it)' : `unknown key${hint}`, true)
      }
    } else if (issue.code === 'invalid_key') {
      push(issue.path, issue.issues?.[0]?.message ?? issue.message, true)
    } else {
      const problem = issue.message.replace(/^Invalid input: /, '')
      const missing = issue.code === 'invalid_type' ? `missing required key${issue.expected === undefined ? '' : ` (expected ${issue.expected})`}` : undefined
      push(issue.path, problem, issue.params?.atKey === true, missing)
    }
  }
  out.sort((a, b) => a.offset - b.offset)
  return out.map(({ offset: _offset, ...issue }) => issue)
}

interface Parsed {
  config: ShieldConfig
  /** Where each jwksFile was written, for loadShieldConfig's readability check. */
  jwksFiles: Array<{ path: PropertyKey[], file: string }>
  doc: Document
  lineCounter: LineCounter
}

function parse (text: string, fileName: string): Parsed {
  const lineCounter = new LineCounter()
  // prettyErrors off: the message stays one line, and the position comes from the LineCounter.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const syntax = doc.errors[0]
  if (syntax !== undefined) {
    // Only the first: the ones after it are mostly the parser losing its footing on the same mistake.
    const { line, col } = lineCounter.linePos(syntax.pos[0])
    throw new ConfigError(fileName, [{ line, column: col, keyPath: undefined, problem: syntax.message }], { cause: syntax })
  }
  // An empty file is refused rather than read as "no policies": a half-written file caught by the watcher
  // must not switch the shield off. `{}` says "no policies" on purpose.
  if (doc.contents === null) {
    throw new ConfigError(fileName, [{ line: 1, column: 1, keyPath: undefined, problem: 'the file is empty (write {} for a file without policies)' }])
  }
  // maxAliasCount bounds alias expansion (a "billion laughs" file fails instead of eating memory).
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    throw new ConfigError(fileName, [{ line: 1, column: 1, keyPath: undefined, problem: (err as Error).message }], { cause: err })
  }
  const result = fileSchema.safeParse(data)
  if (!result.success) throw new ConfigError(fileName, issuesOf(doc, lineCounter, result.error.issues as unknown as ZodIssueLike[]))
  return { ...build(result.data, fileName), doc, lineCounter }
}

function build (file: z.output<typeof fileSchema>, fileName: string): { config: ShieldConfig, jwksFiles: Parsed['jwksFiles'] } {
  const baseDir = dirname(resolve(fileName))
  const jwksFiles: Parsed['jwksFiles'] = []
  const defaults = file.defaults === undefined ? undefined : toPolicy(undefined, file.defaults, undefined, baseDir, ['defaults'], jwksFiles)
  const policies = new Map<string, HostPolicy>()
  let hasWildcards = false
  for (const [rawKey, entry] of Object.entries(file.hosts ?? {})) {
    const key = normaliseRegisteredHostname(rawKey)! // checked by the schema
    if (key.startsWith('*.')) hasWildcards = true
    policies.set(key, toPolicy(key, entry, file.defaults, baseDir, ['hosts', rawKey], jwksFiles, toRouting(entry)))
  }
  const config: ShieldConfig = {
    file: resolve(fileName),
    trustedProxies: Object.freeze(file.trustedProxies ?? []),
    connectionRateLimit: file.connectionRateLimit === undefined ? undefined : Object.freeze({ ...file.connectionRateLimit }),
    defaults,
    policies,
    hasWildcards,
  }
  return { config: Object.freeze(config), jwksFiles }
}

/** `defaults` shallow-merged with a host entry, key by key (the host wins; its `null` removes the default). */
function toPolicy (entryKey: string | undefined, entry: PolicyInput, defaults: PolicyInput | undefined, baseDir: string,
  path: PropertyKey[], jwksFiles: Parsed['jwksFiles'], routing?: RoutingRule): HostPolicy {
  const pick = <K extends keyof PolicyInput>(key: K): NonNullable<PolicyInput[K]> | undefined => {
    const value = Object.hasOwn(entry, key) ? entry[key] : defaults?.[key]
    return value ?? undefined
  }
  const allow = pick('allow')
  const ipAllow = pick('ipAllow')
  const ipDeny = pick('ipDeny')
  const rateLimit = pick('rateLimit')
  const auth = pick('auth')
  const authFrom = Object.hasOwn(entry, 'auth') ? path : ['defaults']
  const policy: HostPolicy = {
    entry: entryKey,
    allow: allow === undefined ? undefined : freeze({ methods: allow.methods, paths: allow.paths }),
    ipAllow: ipAllow === undefined ? undefined : freeze(ipAllow),
    // An empty deny list denies nothing: absent, so the shield tests one thing.
    ipDeny: ipDeny === undefined || ipDeny.length === 0 ? undefined : freeze(ipDeny),
    auth: auth === undefined ? undefined : toAuth(auth, baseDir, [...authFrom, 'auth'], jwksFiles),
    rateLimit: rateLimit === undefined ? undefined : freeze({ requestsPerSecond: rateLimit.requestsPerSecond, burst: rateLimit.burst, per: rateLimit.per }),
    maxBodyBytes: pick('maxBodyBytes'),
    maxHeaderBytes: pick('maxHeaderBytes'),
    maxHeaderCount: pick('maxHeaderCount'),
    originTimeoutMs: pick('originTimeoutMs'),
    identityHeader: pick('identityHeader') ?? DEFAULT_IDENTITY_HEADER,
    routing,
  }
  return Object.freeze(policy)
}

function toAuth (auth: NonNullable<PolicyInput['auth']>, baseDir: string, path: PropertyKey[], jwksFiles: Parsed['jwksFiles']): AuthPolicy {
  const out: { -readonly [K in keyof AuthPolicy]: AuthPolicy[K] } = {}
  if (auth.basic !== undefined) out.basic = Object.freeze(auth.basic)
  if (auth.bearer !== undefined) out.bearer = Object.freeze(auth.bearer) as string[]
  if (auth.jwt !== undefined) {
    const { jwksFile, ...rest } = auth.jwt
    const jwt: { -readonly [K in keyof JwtPolicy]: JwtPolicy[K] } = { identityClaim: rest.identityClaim }
    if (jwksFile !== undefined) {
      jwt.jwksFile = resolve(baseDir, jwksFile)
      // The same defaults entry is merged into many hosts: record where it was written once.
      const at = [...path, 'jwt', 'jwksFile']
      const id = at.join('\0')
      if (!jwksFiles.some((f) => f.path.join('\0') === id)) jwksFiles.push({ path: at, file: jwt.jwksFile })
    }
    if (rest.jwksUrl !== undefined) jwt.jwksUrl = rest.jwksUrl
    if (rest.issuer !== undefined) jwt.issuer = rest.issuer
    if (rest.audience !== undefined) jwt.audience = rest.audience
    if (rest.algorithms !== undefined) jwt.algorithms = rest.algorithms
    out.jwt = freeze(jwt)
  }
  return Object.freeze(out)
}

/** Freezes an object and the arrays and plain objects directly inside it (policies are shared by every request). */
function freeze<T extends object> (value: T): T {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) Object.freeze(inner)
  return Object.freeze(value)
}

/**
 * Parses and validates config text (sync; `fileName` is used in messages and to resolve a relative jwksFile).
 * Throws ConfigError. Does not check that jwksFile exists; loadShieldConfig does.
 */
export function parseShieldConfig (text: string, fileName: string): ShieldConfig {
  return parse(text, fileName).config
}

/** Reads, parses and validates a config file; also checks every jwksFile is readable. Throws ConfigError. */
export async function loadShieldConfig (path: string): Promise<ShieldConfig> {
  return (await load(path)).config
}

async function load (path: string): Promise<{ config: ShieldConfig, text: string }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(path, [{ line: undefined, column: undefined, keyPath: undefined, problem: `cannot read the file: ${(err as Error).message}` }], { cause: err })
  }
  const parsed = parse(text, path)
  const unreadable: ConfigIssue[] = []
  for (const { path: keyPath, file } of parsed.jwksFiles) {
    try {
      await access(file, fsConstants.R_OK)
    } catch (err) {
      const { line, col } = parsed.lineCounter.linePos(locate(parsed.doc, keyPath, false).offset)
      unreadable.push({ line, column: col, keyPath: formatKeyPath(keyPath), problem: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` })
    }
  }
  if (unreadable.length > 0) throw new ConfigError(path, unreadable)
  return { config: parsed.config, text }
}

// ---------------------------------------------------------------------------------------------------------
// Watcher
// ---------------------------------------------------------------------------------------------------------

export interface ShieldConfigWatcherEvents {
  /** A new, valid configuration replaced the previous one. */
  change: [config: ShieldConfig]
}

type WatcherState = 'idle' | 'starting' | 'watching' | 'closed'

/** Changes closer together than this are one reload (editors write, rename and chmod in quick succession). */
const DEBOUNCE_MS = 100

/**
 * Keeps a ShieldConfig current: `start()` loads the file, then every change to it (fs.watch on its directory,
 * because editors replace a file by renaming another over it, which a watch on the file itself would lose)
 * triggers a debounced reload; `reload()` does the same on demand (SIGHUP). A reload that fails is logged at
 * error level and leaves the last good configuration in force; only a successful one emits 'change'.
 */
export class ShieldConfigWatcher extends EventEmitter<ShieldConfigWatcherEvents> {
  readonly path: string
  private readonly logger: Logger
  private state: WatcherState = 'idle'
  private current: ShieldConfig | undefined
  /** The text `current` was parsed from: a change event that leaves the text as it was is not a change. */
  private currentText: string | undefined
  private watcher: FSWatcher | undefined
  private debounceTimer: NodeJS.Timeout | undefined
  /** Reloads run one at a time, in order, so an older read can never replace a newer one. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor (path: string, logger: Logger = silentLogger) {
    super()
    this.path = resolve(path)
    this.logger = logger
  }

  /** The configuration in force (undefined before start() succeeds). */
  get config (): ShieldConfig | undefined {
    return this.current
  }

  /** Loads the file and starts watching it. Throws ConfigError when the file is unusable (nothing is watched then). */
  async start (): Promise<ShieldConfig> {
    this.transition(['idle'], 'starting')
    // Watch before reading, so that a change landing between the read and the watch is not lost.
    this.watch()
    const run = this.queue.then(() => load(this.path))
    this.queue = run.catch(() => {})
    let loaded: { config: ShieldConfig, text: string }
    try {
      loaded = await run
    } catch (err) {
      this.close()
      throw err
    }
    if (this.closed) return loaded.config
    this.current = loaded.config
    this.currentText = loaded.text
    this.transition(['starting'], 'watching')
    return loaded.config
  }

  /**
   * Reloads the file now (SIGHUP). Resolves true when the file was valid (and 'change' was emitted), false
   * when it was not (the reason is logged; the previous configuration stays) or the watcher is closed.
   */
  async reload (): Promise<boolean> {
    return await this.enqueue(true)
  }

  /** Stops watching; pending and later reloads do nothing. Idempotent. */
  close (): void {
    if (this.state === 'closed') return
    this.logger.debug(`config watcher ${this.state} -> closed`)
    this.state = 'closed'
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer)
    this.debounceTimer = undefined
    this.watcher?.close()
    this.watcher = undefined
  }

  /** A method, not a field read, so that TypeScript does not carry a narrowing of `state` across an await. */
  private get closed (): boolean {
    return this.state === 'closed'
  }

  private transition (from: readonly WatcherState[], to: WatcherState): void {
    if (!from.includes(this.state)) throw new Error(`ShieldConfigWatcher: cannot go from ${this.state} to ${to}`)
    this.logger.debug(`config watcher ${this.state} -> ${to}`)
    this.state = to
  }

  private watch (): void {
    const name = basename(this.path)
    try {
      // persistent: false — the watcher alone must not keep the process alive.
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        // Some platforms omit the name; then any change in the directory may be ours.
        if (filename === null || filename === name) this.schedule()
      })
    } catch (err) {
      // e.g. inotify limits: the config still loads, and SIGHUP still reloads it.
      this.logger.warn({ err: (err as Error).message, path: this.path }, 'cannot watch the config file; reload it with SIGHUP')
      return
    }
    this.watcher.on('error', (err) => {
      this.logger.error({ err: err.message, path: this.path }, 'config file watch failed; reload it with SIGHUP')
      this.watcher?.close()
      this.watcher = undefined
    })
  }

  private schedule (): void {
    if (this.state === 'closed') return
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer)
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined
      void this.enqueue(false)
    }, DEBOUNCE_MS)
    this.debounceTimer.unref()
  }

  private async enqueue (force: boolean): Promise<boolean> {
    const run = this.queue.then(async () => await this.reloadNow(force))
    this.queue = run.catch(() => {})
    return await run
  }

  /** `force`: emit even when the text is unchanged (an explicit reload also re-reads what the file points at). */
  private async reloadNow (force: boolean): Promise<boolean> {
    if (this.state === 'closed') return false
    let loaded: { config: ShieldConfig, text: string }
    try {
      loaded = await load(this.path)
    } catch (err) {
      if (!this.closed) this.logger.error({ err: (err as Error).message }, 'config reload failed; keeping the previous policies')
      return false
    }
    // Closed while reading: release the result rather than adopt it.
    if (this.closed) return false
    if (!force && loaded.text === this.currentText) return true
    this.current = loaded.config
    this.currentText = loaded.text
    this.logger.info({ path: this.path, hosts: loaded.config.policies.size }, 'config reloaded')
    try {
      this.emit('change', loaded.config)
    } catch (err) {
      // A throwing listener must not make a good reload look failed, nor escape into the fs.watch callback.
      this.logger.error({ err }, 'a config change listener threw')
    }
    return true
  }
}
