/**
 * Label-weighted routing (SPEC.md §5.11, README "High availability"): a hostname's routing rule splits
 * its traffic between pools of tunnel connections selected by label (`release=stable` 90,
 * `release=canary` 10), optionally sticky by cookie or header, with a fallback when a pool is empty.
 * The rule comes from the policy file (src/edge/shield/config.ts); the registry applies it.
 * Pure functions: no I/O, no state.
 */

/** A set of connections: those whose labels include every `match` pair. */
export interface LabelPool {
  /** Unique within the rule; the value of the stickiness cookie. */
  readonly name: string
  readonly match: ReadonlyArray<readonly [key: string, value: string]>
  /** Share of the traffic, relative to the other pools' weights; 0 = reached only through stickiness. */
  readonly weight: number
}

export type Stickiness =
  /** The pool's name in a cookie: set on the first response, honoured while that pool has a connection. */
  | { readonly kind: 'cookie', readonly name: string, readonly maxAgeS: number | undefined }
  /** A hash of a request field's value picks the pool, so one client (user id, session) stays on one pool. */
  | { readonly kind: 'header', readonly name: string }

export interface RoutingRule {
  readonly pools: readonly LabelPool[]
  /** Sum of the pools' weights (> 0). */
  readonly totalWeight: number
  readonly sticky: Stickiness | undefined
  /**
   * `any`: a request whose pool is empty goes to the other pools by weight, and when every pool is
   * empty to any connection of the hostname. `none`: it gets 503 BURROW_ERR_POOL_EMPTY.
   */
  readonly fallback: 'any' | 'none'
}

/** True when `labels` has every pair of the pool's match. */
export function poolMatches (labels: Readonly<Record<string, string>>, pool: LabelPool): boolean {
  const match = pool.match
  for (let i = 0; i < match.length; i++) {
    const pair = match[i]!
    if (labels[pair[0]] !== pair[1]) return false
  }
  return true
}

/**
 * The pool index that weight point `point` (0 <= point < total weight of the pools allowed by
 * `allowed`) falls in, counting only allowed pools; -1 when none is allowed or every allowed pool
 * weighs 0 (then the first allowed one is returned instead, if any).
 */
export function poolAtPoint (pools: readonly LabelPool[], point: number, allowed?: (i: number) => boolean): number {
  let first = -1
  let acc = 0
  for (let i = 0; i < pools.length; i++) {
    if (allowed !== undefined && !allowed(i)) continue
    if (first === -1) first = i
    acc += pools[i]!.weight
    if (point < acc) return i
  }
  return first
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a stable, cheap hash for header stickiness. */
export function fnv1a (value: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * The value of cookie `name` in a Cookie header (or HTTP/2 cookie crumbs joined with "; "), or
 * undefined. No allocation beyond the returned value.
 */
export function cookieValue (header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const text = Array.isArray(header) ? header.join('; ') : header
  let from = 0
  while (from < text.length) {
    const at = text.indexOf(name, from)
    if (at === -1) return undefined
    const end = at + name.length
    const before = at === 0 ? 59 : text.charCodeAt(at - 1)
    // A whole cookie name: preceded by the start, ';' or a space, and followed by '='.
    if ((before === 59 /* ; */ || before === 32) && text.charCodeAt(end) === 61 /* = */) {
      const stop = text.indexOf(';', end + 1)
      return text.slice(end + 1, stop === -1 ? undefined : stop).trim()
    }
    from = end
  }
  return undefined
}

/** The Set-Cookie value that pins a client to `pool`. */
export function stickyCookie (sticky: Stickiness & { kind: 'cookie' }, pool: LabelPool): string {
  return `${sticky.name}=${pool.name}; Path=/; HttpOnly; SameSite=Lax${sticky.maxAgeS === undefined ? '' : `; Max-Age=${sticky.maxAgeS}`}`
}

/** selectPool: no pool applies, any routable connection of the hostname may serve. */
export const ANY_CONNECTION = -1
/** selectPool: the request's pool is empty and the rule has no fallback (503 BURROW_ERR_POOL_EMPTY). */
export const POOL_EMPTY = -2

/** What selectPool needs of a connection. */
export interface Routable {
  readonly state: string
  readonly labels: Readonly<Record<string, string>>
}

/**
 * The pool a request goes to (an index into rule.pools), ANY_CONNECTION or POOL_EMPTY.
 * `sticky` is the request's stickiness value: the cookie's value (a pool name) or the header's value.
 * A cookie naming a pool with a routable connection wins; otherwise the weight point (the header's
 * hash, else random) picks the pool; an empty pool falls back per rule.fallback. Allocates nothing.
 */
export function selectPool (rule: RoutingRule, conns: readonly Routable[], sticky: string | undefined, random: () => number = Math.random): number {
  const pools = rule.pools
  // Bit i: pool i has a routable connection (at most 16 pools).
  let live = 0
  for (let c = 0; c < conns.length; c++) {
    const conn = conns[c]!
    if (conn.state !== 'registered') continue
    for (let i = 0; i < pools.length; i++) {
      if ((live & (1 << i)) === 0 && poolMatches(conn.labels, pools[i]!)) live |= 1 << i
    }
  }
  const kind = rule.sticky?.kind
  if (kind === 'cookie' && sticky !== undefined) {
    for (let i = 0; i < pools.length; i++) {
      if (pools[i]!.name === sticky && (live & (1 << i)) !== 0) return i
    }
  }
  const hashed = kind === 'header' && sticky !== undefined ? fnv1a(sticky) : -1
  const chosen = poolAtPoint(pools, hashed >= 0 ? hashed % rule.totalWeight : Math.floor(random() * rule.totalWeight))
  if (chosen >= 0 && (live & (1 << chosen)) !== 0) return chosen
  if (rule.fallback === 'none') return POOL_EMPTY
  if (live === 0) return ANY_CONNECTION
  let liveWeight = 0
  for (let i = 0; i < pools.length; i++) if ((live & (1 << i)) !== 0) liveWeight += pools[i]!.weight
  const isLive = (i: number): boolean => (live & (1 << i)) !== 0
  if (liveWeight === 0) return poolAtPoint(pools, 0, isLive)
  return poolAtPoint(pools, hashed >= 0 ? hashed % liveWeight : Math.floor(random() * liveWeight), isLive)
}
