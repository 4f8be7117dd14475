/** Hostname normalisation and validity (SPEC.md §4.4). Pure. */
import { domainToASCII } from 'node:url'

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * Normalises a hostname as a tunnel registers it: lower-case, no trailing dot, IDN to punycode.
 * Returns undefined when the result is not a valid DNS name.
 */
export function normaliseHostname (input: string): string | undefined {
  let host = input.trim().toLowerCase()
  // A ':port' suffix is not part of the name (SPEC.md §4.4).
  const portAt = host.lastIndexOf(':')
  if (portAt !== -1 && /^[0-9]{1,5}$/.test(host.slice(portAt + 1))) host = host.slice(0, portAt)
  if (host.endsWith('.')) host = host.slice(0, -1)
  if (host.length === 0 || host.length > 253) return undefined
  // Non-ASCII (IDN) names become punycode; plain ASCII is left alone so that nothing else is rewritten.
  if (!/^[\x21-\x7e]*$/.test(host)) {
    host = domainToASCII(host)
    // Punycode is longer than the Unicode it encodes: check the length again.
    if (host === '' || host.length > 253) return undefined
  }
  const labels = host.split('.')
  for (const label of labels) if (!LABEL.test(label)) return undefined
  return host
}

/**
 * The routing key of a visitor's Host header (SPEC.md §5.1): lower-cased, port and trailing dot removed.
 * Returns undefined for a Host that cannot name a tunnel (empty, userinfo, path, bad characters).
 * This runs per request, so the common case (already lower-case, ASCII) avoids allocations where it can.
 */
export function routingKeyOfHost (host: string | undefined): string | undefined {
  if (host === undefined || host.length === 0 || host.length > 260) return undefined
  let end = host.length
  if (host.charCodeAt(0) === 91 /* [ */) return undefined // IPv6 literals never name a tunnel
  const colon = host.lastIndexOf(':')
  if (colon !== -1) {
    const port = host.slice(colon + 1)
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) return undefined
    end = colon
  }
  if (end > 0 && host.charCodeAt(end - 1) === 46 /* . */) end--
  if (end === 0) return undefined
  const name = (end === host.length ? host : host.slice(0, end)).toLowerCase()
  if (!/^[a-z0-9.-]+$/.test(name)) return undefined
  return name
}

/**
 * Normalises a hostname as a Register carries it (SPEC.md §4.3, §4.4): like normaliseHostname, but a
 * single leading "*." label (a wildcard registration) is kept and the rest must be a valid name of at
 * least two labels.
 */
export function normaliseRegisteredHostname (input: string): string | undefined {
  const trimmed = input.trim()
  if (!trimmed.startsWith('*.')) return normaliseHostname(trimmed)
  const base = normaliseHostname(trimmed.slice(2))
  if (base === undefined || !base.includes('.') || base.length > 251) return undefined
  return `*.${base}`
}

/** The wildcard routing key that covers `host` one label deep ("a.b.c" → "*.b.c"), or undefined. */
export function wildcardKeyOf (host: string): string | undefined {
  const dot = host.indexOf('.')
  return dot <= 0 || host.indexOf('.', dot + 1) === -1 ? undefined : `*${host.slice(dot)}`
}
