/**
 * Method and path allow-lists for one host policy (issue #4, design-shield.md step 4).
 *
 * `check()` runs on every request of a host with an `allow` policy, on a path already produced by
 * `normaliseTarget()` (paths.ts), so matching here is plain string comparison: an exact Set lookup,
 * then a `startsWith` over the prefix patterns. All parsing happens once, in `compileRoutes()`.
 */
import { normaliseTarget } from './paths.js'

/** The outcome of one check: allowed, 405 (method not listed) or 403 (path not listed). */
export type RouteVerdict = 'ok' | 'method' | 'path'

export interface RouteMatcher {
  /**
   * Checks a request. The method is checked first, so a request with both wrong gets 405.
   * `path` must be the output of `normaliseTarget()`; matching is case-sensitive.
   */
  check (method: string, path: string): RouteVerdict
  /**
   * The allowed methods for a 405 `Allow` header, e.g. `GET, HEAD, POST`; '' when every method is
   * allowed (no `methods` list) or none is (an empty list).
   */
  readonly allowHeader: string
}

export interface RouteAllow {
  /** Allowed methods (case-insensitive in the config, upper-cased here). Absent: any method. */
  methods?: string[] | undefined
  /**
   * Allowed paths. Absent: any path. Each pattern is one of:
   * - `*`: every path;
   * - `/prefix/*`: `/prefix/` and everything below it, any depth (not `/prefix` itself);
   * - anything else starting with '/': that exact path.
   * Patterns are normalised like request paths (`/caf%c3%a9` matches `/caf%C3%A9`, `/%7Eu` is `/~u`).
   */
  paths?: string[] | undefined
}

/** HTTP method token (RFC 9110 §9.1 → tchar). */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * Compiles an `allow` policy. Throws a TypeError naming the bad entry when a method is not a token
 * or a path pattern is not one of the three forms (config.ts validates first and reports file:line;
 * this is the last line of defence against a policy that silently matches nothing or everything).
 *
 * An empty list allows nothing (fail closed). HEAD is allowed whenever GET is (RFC 9110 §9.3.2),
 * and is then listed in `allowHeader` too.
 */
export function compileRoutes (allow: RouteAllow): RouteMatcher {
  const methods = allow.methods === undefined ? undefined : compileMethods(allow.methods)
  const paths = allow.paths === undefined ? undefined : compilePaths(allow.paths)
  return new CompiledRoutes(methods, paths)
}

function compileMethods (list: string[]): Set<string> {
  const set = new Set<string>()
  for (const m of list) {
    if (!METHOD_TOKEN.test(m)) throw new TypeError(`allow.methods: ${JSON.stringify(m)} is not an HTTP method`)
    const upper = m.toUpperCase()
    set.add(upper)
    // Right after GET, so the Allow header reads `GET, HEAD, …`.
    if (upper === 'GET') set.add('HEAD')
  }
  return set
}

interface CompiledPaths {
  /** True when `*` was listed: every path is allowed. */
  readonly all: boolean
  readonly exact: ReadonlySet<string>
  /** Each ends with '/': `/public/*` is stored as `/public/`. */
  readonly prefixes: readonly string[]
}

function compilePaths (list: string[]): CompiledPaths {
  let all = false
  const exact = new Set<string>()
  const prefixes: string[] = []
  for (const pattern of list) {
    if (pattern === '*') {
      all = true
      continue
    }
    const isPrefix = pattern.endsWith('/*')
    const base = isPrefix ? pattern.slice(0, -1) : pattern
    // A '*' anywhere else, or a query, would never match a normalised path: refuse it rather than
    // ship a rule that looks like it protects something.
    const normal = base.includes('*') || base.includes('?') ? undefined : normaliseTarget(base)
    if (normal === undefined) {
      throw new TypeError(`allow.paths: ${JSON.stringify(pattern)} must be "*", an absolute path, or "/prefix/*"`)
    }
    if (isPrefix) {
      // `base` ends with '/', and normalisation keeps a trailing '/': `/a/./*` is stored as `/a/`,
      // `/*` as '/' (which prefixes every path).
      prefixes.push(normal.path)
    } else {
      exact.add(normal.path)
    }
  }
  return { all, exact, prefixes }
}

class CompiledRoutes implements RouteMatcher {
  readonly allowHeader: string

  constructor (
    private readonly methods: ReadonlySet<string> | undefined,
    private readonly paths: CompiledPaths | undefined
  ) {
    this.allowHeader = methods === undefined ? '' : [...methods].join(', ')
  }

  check (method: string, path: string): RouteVerdict {
    if (this.methods !== undefined && !this.methods.has(method)) return 'method'
    const paths = this.paths
    if (paths === undefined || paths.all || paths.exact.has(path)) return 'ok'
    for (const prefix of paths.prefixes) {
      if (path.startsWith(prefix)) return 'ok'
    }
    return 'path'
  }
}
