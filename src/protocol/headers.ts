/**
 * Header rules shared by both ends (SPEC.md §5.3, §5.5). Pure, and on the request hot path:
 * sets and regexes are built once, at module load.
 */

/** Hop-by-hop and connection-specific fields: never forwarded across the tunnel or to the origin. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te',
])

/**
 * Fields that may appear once (Node's http2 refuses a header map that repeats them, and two
 * different values are ambiguous). A visitor request repeating one is refused; an origin response
 * repeating one keeps the first, as Node's HTTP/1 parser does.
 */
export const SINGLE_VALUE: ReadonlySet<string> = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age',
  'authorization', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5',
  'content-range', 'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match',
  'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location',
  'max-forwards', 'proxy-authorization', 'range', 'referer', 'retry-after', 'tk', 'upgrade-insecure-requests',
  'user-agent', 'x-content-type-options',
])

/** A valid HTTP/2 field name: a lower-case RFC 9110 token. */
const TOKEN_LOWER = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
/** Field value bytes HTTP allows: HTAB, SP..~, obs-text. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/

export function isValidHeaderName (name: string): boolean {
  return TOKEN_LOWER.test(name)
}

export function isValidHeaderValue (value: string): boolean {
  return !BAD_VALUE.test(value)
}

/**
 * The names a Connection header lists (they are hop-by-hop too), lower-cased.
 * Returns undefined in the common case of no Connection header or only keep-alive/close.
 */
export function connectionListedNames (value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  let set: Set<string> | undefined
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = part.trim().toLowerCase()
    if (name === '' || name === 'keep-alive' || name === 'close') continue
    set ??= new Set()
    set.add(name)
  }
  return set
}

/** True when `name` (lower-case) is in the Burrow-internal namespace. */
export function isBurrowHeader (name: string): boolean {
  return name.charCodeAt(0) === 98 /* b */ && name.startsWith('burrow-')
}

/** True when a lower-case name must not be forwarded: hop-by-hop, proxy-*, or listed by Connection. */
export function isHopByHop (name: string, listed: Set<string> | undefined): boolean {
  if (HOP_BY_HOP.has(name)) return true
  if (name.charCodeAt(0) === 112 /* p */ && name.startsWith('proxy-')) return true
  return listed !== undefined && listed.has(name)
}
