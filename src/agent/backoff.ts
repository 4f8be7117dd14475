/** Full-jitter exponential backoff (SPEC.md §8.1): random(0, min(cap, base * 2^attempt)). */
export function fullJitterDelay (attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}
