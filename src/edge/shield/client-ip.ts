/**
 * Client IP for shield policies: CIDR lists, trusted proxies and X-Forwarded-For
 * (issue #4, design-shield.md step 2; research/reliability.md §1.5).
 *
 * The client is the socket peer. Only when the peer is a configured trusted proxy is
 * X-Forwarded-For read, from the right, skipping trusted hops: the entries to the right were
 * appended by proxies we trust, anything further left was written by whoever talked to the first
 * of them, so a visitor can never choose its own address by sending the header (a spoofed value
 * sits to the left of the address our proxy appended, and the walk stops before reaching it).
 *
 * Addresses are returned in one canonical text form, so a rate-limit key or a log line is the same
 * for `::ffff:10.1.2.3` (a dual-stack listener's IPv4 peer) and `10.1.2.3`:
 * IPv4 as dotted quad, IPv4-mapped IPv6 as its IPv4 address, other IPv6 in RFC 5952 form (lower
 * case, zeros compressed) with any zone id kept.
 *
 * net.BlockList on Node 20.20 [measured]: an IPv4 rule matches the IPv4-mapped IPv6 form of its
 * addresses (`::ffff:10.1.2.3` and `::ffff:a01:203`), and an IPv6 rule matches IPv4 addresses
 * through their mapped form (so `::ffff:10.0.0.0/104` matches `10.1.2.3`, and `::/0` matches every
 * IPv4 address too). The tests pin this down, and canonicalising to IPv4 first makes the IPv4
 * case independent of it.
 */
import { BlockList, isIP, isIPv4 } from 'node:net'

/** `::ffff:` followed by two hex groups, as URL serialises IPv4-mapped addresses. */
const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/

/**
 * The canonical text of an IP address (see the module comment), or undefined when `text` is not
 * an IP address. No brackets, no port, no surrounding whitespace are accepted.
 */
export function canonicalIp (text: string): string | undefined {
  const family = isIP(text)
  if (family === 4) return text
  if (family !== 6) return undefined
  // Fast path for what a dual-stack listener reports for IPv4 peers.
  if (text.length > 7 && text.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(text.slice(7))) return text.slice(7)
  const zone = text.indexOf('%')
  const address = zone === -1 ? text : text.slice(0, zone)
  // The WHATWG URL host serialiser writes IPv6 in RFC 5952 form; isIP already accepted it.
  const host = new URL(`http://[${address}]/`).hostname
  const canonical = host.slice(1, -1)
  const mapped = MAPPED_HEX.exec(canonical)
  if (mapped !== null) {
    const hi = parseInt(mapped[1] as string, 16)
    const lo = parseInt(mapped[2] as string, 16)
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
  }
  return zone === -1 ? canonical : canonical + text.slice(zone)
}

function familyOf (ip: string): 'ipv4' | 'ipv6' {
  return ip.includes(':') ? 'ipv6' : 'ipv4'
}

/**
 * Builds a BlockList from CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses (`127.0.0.1`,
 * `::1`, meaning /32 and /128). Host bits below the prefix are ignored (`10.1.2.3/8` is
 * `10.0.0.0/8`), as BlockList does. Throws a TypeError naming the first invalid entry: no
 * whitespace, no brackets, no zone id, and a decimal prefix within 0-32 (IPv4) or 0-128 (IPv6).
 * An IPv4 range also matches IPv4-mapped IPv6 addresses (see the module comment).
 */
export function buildBlockList (cidrs: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of cidrs) {
    const slash = entry.indexOf('/')
    const address = slash === -1 ? entry : entry.slice(0, slash)
    const family = isIP(address)
    const max = family === 4 ? 32 : 128
    const prefixText = slash === -1 ? String(max) : entry.slice(slash + 1)
    const prefix = /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : -1
    if (family === 0 || address.includes('%') || prefix < 0 || prefix > max) {
      throw new TypeError(`${JSON.stringify(entry)} is not an IP address or CIDR range`)
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6')
  }
  return list
}

/**
 * The client IP of a request, canonical (see the module comment), or undefined when the socket
 * has no peer address (it is already closed).
 *
 * - The peer is the client unless `trusted` contains it (or `trusted` is absent).
 * - A trusted peer: X-Forwarded-For (every header line, joined with ',') is walked from the right.
 *   Trusted entries are skipped; the first untrusted entry is the client. When every entry is
 *   trusted, or there is no header, the leftmost trusted hop is the client (the request started
 *   inside the trusted network).
 * - Empty entries (`a,,b`, a trailing ',') carry no address and are skipped.
 * - An entry that is not a bare IP address (`unknown`, `1.2.3.4:80`, `[::1]`, junk) stops the
 *   walk: the client is the last valid hop walked, the trusted proxy that wrote the bad entry's
 *   right-hand neighbour. This is nginx's realip behaviour; it never returns an address that a
 *   trusted proxy did not vouch for.
 */
export function clientIp (
  remoteAddress: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trusted: BlockList | undefined
): string | undefined {
  if (remoteAddress === undefined) return undefined
  const peer = canonicalIp(remoteAddress)
  if (peer === undefined || trusted === undefined || forwardedFor === undefined) return peer
  if (!trusted.check(peer, familyOf(peer))) return peer

  const header = typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')
  let hop = peer
  // Each turn consumes one entry from the right, so `end` strictly decreases: bounded by length.
  let end = header.length
  while (end > 0) {
    const comma = header.lastIndexOf(',', end - 1)
    const item = header.slice(comma + 1, end).trim()
    end = comma
    if (item === '') continue
    const ip = canonicalIp(item)
    if (ip === undefined) return hop
    if (!trusted.check(ip, familyOf(ip))) return ip
    hop = ip
  }
  return hop
}

/**
 * Whether `ip` passes a host's ipAllow / ipDeny: a deny match refuses, then an allow list (when
 * present) must match. With neither list everything passes, even an unknown IP; with either list,
 * an unknown or invalid IP is refused (fail closed).
 */
export function ipAllowed (ip: string | undefined, allow?: BlockList | undefined, deny?: BlockList | undefined): boolean {
  if (allow === undefined && deny === undefined) return true
  if (ip === undefined) return false
  const family = isIP(ip)
  if (family === 0) return false
  const type = family === 4 ? 'ipv4' : 'ipv6'
  if (deny !== undefined && deny.check(ip, type)) return false
  return allow === undefined || allow.check(ip, type)
}

/**
 * The address a rate limit counts (README "Edge policies"): an IPv4 address as is, an IPv6 address by
 * its /64 prefix. One IPv6 client usually holds a whole /64, so counting single addresses would give
 * it 2^64 fresh budgets. Input is canonical (canonicalIp); anything else is returned unchanged.
 */
export function rateKeyIp (ip: string): string {
  if (!ip.includes(':') || ip.includes('.')) return ip
  const [head, tail] = ip.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  if (groups.length !== 8) return ip
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
