/**
 * Request-target normalisation for the shield (issue #4, design-shield.md "Path normalisation";
 * research/reliability.md §1.8).
 *
 * The route allow-list is checked on the path this module returns, and the edge forwards exactly
 * that path (plus the untouched query). Checking one form and forwarding another is the bug class
 * of Envoy CVE-2019-9901 / CVE-2021-29492, so there is one function and its output is final:
 * normalising the output again gives it back unchanged (tested as a property).
 *
 * Rules, in order:
 * 1. Split at the first '?': the query keeps its '?' and is never decoded or rewritten.
 * 2. Refuse (undefined → 400) a path that does not start with '/', or contains a byte outside
 *    0x21-0x7E (controls, NUL, space, DEL, raw non-ASCII: Node's HTTP/1 parser refuses these
 *    already, so HTTP/2 gets the same answer), a backslash, a '#' (a fragment never belongs in a
 *    request target, and origins disagree on whether it ends the path), a malformed escape, or an
 *    escape of NUL, '/' or '\' (`%00`, `%2F`, `%5C`: origins disagree on whether they separate
 *    segments). The query is refused only for bytes outside 0x21-0x7E.
 * 3. Decode escapes of unreserved characters (A-Z a-z 0-9 - . _ ~, RFC 3986 §6.2.2.2); write every
 *    other escape with upper-case hex (§6.2.2.1). One pass: `%252e` becomes `%252e`, never '.'.
 * 4. Collapse runs of '/' (before dot-segments, as nginx's merge_slashes does: `/a//../b` → `/b`).
 * 5. Remove dot-segments (RFC 3986 §5.2.4); '..' at the root stays at the root.
 *
 * ';' is an ordinary character (no path parameters are stripped): `/public;/../admin` is `/admin`.
 * One addition to the design: a segment that is '.' or '..' followed by ';' (`..;`, `.;jsessionid`)
 * is refused, because Tomcat-style origins strip the parameter and then treat it as a dot-segment
 * (`/public/..;/admin` would be checked as inside /public/ but served as /admin).
 * Matching is case-sensitive: `/PUBLIC/x` is a different path from `/public/x`.
 */

export interface NormalisedTarget {
  /** The normalised path: starts with '/', no '//', no dot-segments, no decodable escapes. */
  readonly path: string
  /** The query exactly as received, with its leading '?', or '' when there is none. */
  readonly query: string
}

const SLASH = 0x2f
const DOT = 0x2e
const PERCENT = 0x25
const BACKSLASH = 0x5c
const HASH = 0x23
const SEMICOLON = 0x3b

/** 1 for the unreserved characters of RFC 3986 §2.3, indexed by byte value (0-127). */
const UNRESERVED = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/[A-Za-z0-9\-._~]/.test(ch)) UNRESERVED[c] = 1
}

/** Upper-case two-digit hex for each byte value, pre-built so the slow path does no formatting. */
const HEX = Array.from({ length: 256 }, (_, i) => '%' + i.toString(16).toUpperCase().padStart(2, '0'))

/** The value of one hex digit, or -1. */
function hexValue (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/**
 * Normalises an origin-form request target (`/path?query`). Returns undefined when the target
 * must be refused with 400 BURROW_ERR_BAD_REQUEST (see the module comment for the rules).
 *
 * The common case (no '%', '//' or '/.' in the path) is one scan and the split, nothing more.
 */
export function normaliseTarget (target: string): NormalisedTarget | undefined {
  const q = target.indexOf('?')
  const end = q === -1 ? target.length : q
  if (end === 0 || target.charCodeAt(0) !== SLASH) return undefined

  // Fast scan of the path: refuse bad bytes, and note whether anything needs rewriting.
  let slow = false
  let prev = 0
  for (let i = 0; i < end; i++) {
    const c = target.charCodeAt(i)
    if (c < 0x21 || c > 0x7e || c === BACKSLASH || c === HASH) return undefined
    if (c === PERCENT || (prev === SLASH && (c === SLASH || c === DOT))) slow = true
    prev = c
  }
  // The query is forwarded untouched; it only has to be made of visible ASCII.
  for (let i = end + 1; i < target.length; i++) {
    const c = target.charCodeAt(i)
    if (c < 0x21 || c > 0x7e) return undefined
  }

  const query = q === -1 ? '' : target.slice(q)
  const raw = q === -1 ? target : target.slice(0, q)
  if (!slow) return { path: raw, query }
  const path = slowPath(raw)
  return path === undefined ? undefined : { path, query }
}

/** Decodes, collapses and removes dot-segments; `raw` already passed the byte scan. */
function slowPath (raw: string): string | undefined {
  let decoded = raw
  if (raw.includes('%')) {
    let out = ''
    let from = 0
    for (let i = raw.indexOf('%'); i !== -1; i = raw.indexOf('%', from)) {
      const hi = hexValue(raw.charCodeAt(i + 1))
      const lo = hexValue(raw.charCodeAt(i + 2))
      if (hi === -1 || lo === -1) return undefined
      const byte = hi * 16 + lo
      if (byte === 0 || byte === SLASH || byte === BACKSLASH) return undefined
      out += raw.slice(from, i)
      out += byte < 128 && UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : HEX[byte]
      from = i + 3
    }
    decoded = out + raw.slice(from)
  }

  // RFC 3986 §5.2.4 over segments. Empty segments (from '//') are dropped, which collapses
  // slashes; a trailing '/', '/.' or '/..' leaves the result ending in '/'.
  const segments = decoded.split('/')
  const kept: string[] = []
  let trailingSlash = false
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] as string
    const last = i === segments.length - 1
    if (s === '' || s === '.') {
      trailingSlash = last
    } else if (s === '..') {
      kept.pop()
      trailingSlash = last
    } else {
      // `.;x` and `..;x`: a dot-segment to Tomcat-style origins (see the module comment).
      if (s.charCodeAt(0) === DOT && (s.charCodeAt(1) === SEMICOLON || (s.charCodeAt(1) === DOT && s.charCodeAt(2) === SEMICOLON))) {
        return undefined
      }
      kept.push(s)
      trailingSlash = false
    }
  }
  if (kept.length === 0) return '/'
  const path = '/' + kept.join('/')
  return trailingSlash ? path + '/' : path
}
