/**
 * Tunnel labels (SPEC.md §3.4.1): key/value pairs an agent registers with (`release=canary`), used by
 * the edge to route by pool and sent to the origin as `burrow-label-<key>` request fields. Both ends
 * validate with these rules, so a label is always a safe header name suffix and a safe header value.
 */

/** Most labels one Register may carry. */
export const MAX_LABELS = 16
/** Lower-case letters, digits, '.', '-'; starts and ends alphanumeric; 1-63 characters. */
export const LABEL_KEY_RE = /^[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?$/
/** Letters, digits, '.', '_', '-'; starts and ends alphanumeric; 1-63 characters. */
export const LABEL_VALUE_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/
/** Prefix of the origin request fields carrying the serving tunnel's labels (SPEC.md §5.4). */
export const LABEL_HEADER_PREFIX = 'burrow-label-'

/** Why `key=value` is not a valid label, or undefined when it is. */
export function labelProblem (key: string, value: string): string | undefined {
  if (!LABEL_KEY_RE.test(key)) {
    return `label key ${JSON.stringify(key.slice(0, 80))} must be 1-63 lower-case letters, digits, "." or "-", starting and ending with a letter or digit`
  }
  if (!LABEL_VALUE_RE.test(value)) {
    return `label ${key}: value ${JSON.stringify(value.slice(0, 80))} must be 1-63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit`
  }
  return undefined
}

/** Why a label set is invalid (too many, or one bad label), or undefined when it is valid. */
export function labelsProblem (labels: Readonly<Record<string, string>>): string | undefined {
  const keys = Object.keys(labels)
  if (keys.length > MAX_LABELS) return `at most ${MAX_LABELS} labels, got ${keys.length}`
  for (const key of keys) {
    const problem = labelProblem(key, labels[key]!)
    if (problem !== undefined) return problem
  }
  return undefined
}

/** "release=canary,zone=eu", keys sorted: for logs and listings. */
export function formatLabels (labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]!}`).join(',')
}
