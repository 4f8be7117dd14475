/**
 * Which tunnel connections serve which hostname (SPEC.md §4.3). Owned by the Edge; holds references,
 * owns no connection.
 */
import type { TunnelConnection } from './tunnel-connection.js'
import { wildcardKeyOf } from '../protocol/hostname.js'
import { poolMatches, type LabelPool } from './routing.js'

interface HostEntry {
  /** The account that owns the hostname while any connection holds it. */
  ownerKey: string
  connections: TunnelConnection[]
}

/** How many offline hostnames the registry remembers (to answer 503 "offline" rather than 404). */
const KNOWN_HOSTS_LIMIT = 100_000

export class TunnelRegistry {
  private readonly hosts = new Map<string, HostEntry>()
  /** Hostnames that were registered at some point; insertion-ordered for eviction. */
  private readonly known = new Set<string>()

  /** The owner key of a live hostname, if any connection holds it. */
  ownerOf (hostname: string): string | undefined {
    return this.hosts.get(hostname)?.ownerKey
  }

  add (conn: TunnelConnection): void {
    for (const host of conn.hostnames) {
      let entry = this.hosts.get(host)
      if (entry === undefined) {
        entry = { ownerKey: conn.ownerKey, connections: [] }
        this.hosts.set(host, entry)
      }
      entry.connections.push(conn)
      this.remember(host)
    }
  }

  remove (conn: TunnelConnection): void {
    for (const host of conn.hostnames) {
      const entry = this.hosts.get(host)
      if (entry === undefined) continue
      const i = entry.connections.indexOf(conn)
      if (i !== -1) entry.connections.splice(i, 1)
      if (entry.connections.length === 0) this.hosts.delete(host)
    }
  }

  /**
   * The connection to send a request for `hostname` to: the routable one with the fewest streams in
   * flight, among those in `pool` when given, other than `except` (a connection that just failed the
   * request). With `avoidAgents`, connections of other agents come first (a retry should not land on
   * a sibling of a connection that just died with its process). Hot path: no allocation.
   */
  pick (hostname: string, except?: TunnelConnection, pool?: LabelPool, avoidAgents?: ReadonlySet<string>): TunnelConnection | undefined {
    const entry = this.entryOf(hostname)
    if (entry === undefined) return undefined
    const list = entry.connections
    let best: TunnelConnection | undefined
    let bestSibling = false
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!
      if (c.state !== 'registered' || c === except) continue
      if (pool !== undefined && !poolMatches(c.labels, pool)) continue
      const sibling = avoidAgents !== undefined && avoidAgents.has(c.agentId)
      if (best === undefined || (bestSibling && !sibling) || (sibling === bestSibling && c.inflight < best.inflight)) {
        best = c
        bestSibling = sibling
      }
    }
    return best
  }

  /** The connections serving `hostname` (exact, else wildcard), any state; for selectPool. */
  connectionsFor (hostname: string): readonly TunnelConnection[] | undefined {
    return this.entryOf(hostname)?.connections
  }

  /** True when `hostname` was registered at some point (it is offline if pick() finds nothing). */
  isKnown (hostname: string): boolean {
    if (this.known.has(hostname)) return true
    const wildcard = wildcardKeyOf(hostname)
    return wildcard !== undefined && this.known.has(wildcard)
  }

  /** The entry of an exact registration, else of a wildcard one label up (SPEC.md §4.3). */
  private entryOf (hostname: string): HostEntry | undefined {
    const exact = this.hosts.get(hostname)
    if (exact !== undefined) return exact
    const wildcard = wildcardKeyOf(hostname)
    return wildcard === undefined ? undefined : this.hosts.get(wildcard)
  }

  /** A snapshot of the routable connections, for tests (operators use Edge.tunnels(), which lists draining ones too). */
  list (): Array<{ hostname: string, connections: Array<{ id: string, agentId: string, state: string, inflight: number, labels: Record<string, string> }> }> {
    return [...this.hosts].map(([hostname, entry]) => ({
      hostname,
      connections: entry.connections.map((c) => ({ id: c.id, agentId: c.agentId, state: c.state, inflight: c.inflight, labels: { ...c.labels } })),
    }))
  }

  private remember (host: string): void {
    if (this.known.has(host)) return
    if (this.known.size >= KNOWN_HOSTS_LIMIT) {
      const oldest = this.known.values().next().value
      if (oldest !== undefined) this.known.delete(oldest)
    }
    this.known.add(host)
  }
}
