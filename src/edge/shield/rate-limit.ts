/**
 * Request and connection rate limiting for the shield (design of issue #4, SPEC.md §6
 * `BURROW_ERR_RATE_LIMITED`): a token bucket per key, `burst` tokens deep, refilled at
 * `requestsPerSecond`.
 *
 * Exact semantics (GCRA, the "virtual scheduling" form of a token bucket):
 * - A key starts with a full bucket: `burst` requests pass at once.
 * - Each passing request takes one token; tokens come back continuously at `requestsPerSecond`, up to
 *   `burst`. So over any interval of t seconds a key passes at most `burst + requestsPerSecond * t`.
 * - A refused request takes nothing: hammering a limit does not push the next pass further away.
 * - `retryAfterS` is `ceil(seconds until the next token)`, at least 1 (HTTP Retry-After is whole
 *   seconds, so a client honouring it may wait up to a second longer than strictly needed).
 * - The decision is synchronous: concurrent calls for one key (e.g. many HTTP/2 streams parsed from
 *   one socket read) are decided one after another, never from the same stale state.
 *
 * Where this differs from an ideal token bucket, all negligible or on the safe side:
 * - Time is counted in integer units of 1/SCALE of the refill interval (about 0.1 µs).
 * - A key's state is dropped when its bucket is full again, plus DROP_SLACK_MS. Node timers count
 *   from the event loop's cached time, so a deletion can fire early by as long as the current
 *   callback has run; an early drop above DROP_SLACK_MS would hand that key `overrun * rps` tokens
 *   early, once.
 * - State is per process and per configuration (see RateLimits); a restart forgets it.
 *
 * Why not the library's limiters: RateLimiterMemory counts points in fixed windows anchored at a
 * key's first request. A single window (points = burst, duration = burst / rps) lets 2 * burst through
 * around a window edge and answers Retry-After up to burst / rps seconds; BurstyRateLimiter
 * (a per-second limiter plus a burst limiter) refills the burst every burst-window even while the
 * client never stops, so its long-run rate is above requestsPerSecond. Neither matches a token
 * bucket, and reading then writing through their promise API is not atomic. We use the store they are
 * built on instead: rate-limiter-flexible's MemoryStorage, a Map whose every record carries an
 * unref'd timer that deletes it when it expires. Each key's record lives only until its bucket is
 * full again (at most burst / rps seconds + DROP_SLACK_MS after its last pass), so memory is bounded
 * by (new keys per second) * (that lifetime) however many source addresses an attacker cycles
 * through; we keep no per-key state of our own.
 */
import { createRequire } from 'node:module'

/** The numbers of one limit, as in the `rateLimit` / `connectionRateLimit` config blocks. */
export interface RateLimitConfig {
  readonly requestsPerSecond: number
  readonly burst: number
}

export type RateLimitResult = { readonly ok: true } | { readonly ok: false, readonly retryAfterS: number }

/** The subset of rate-limiter-flexible's MemoryStorage (lib/component/MemoryStorage) we use. */
interface MemoryStorage {
  /** The record's value as `consumedPoints`, or null when there is none (expired records are deleted by their timer). */
  get (key: string): { consumedPoints: number } | null
  /** Stores an integer (parseInt) value that its timer deletes after durationSec (> 0). Replaces the old record and timer. */
  set (key: string, value: number, durationSec: number): unknown
  readonly _storage: Map<string, unknown>
}

// Not part of the package's documented API, so load it explicitly and check its shape once: a
// changed internal layout must fail at startup, not quietly stop limiting.
const MemoryStorageClass = createRequire(import.meta.url)(
  'rate-limiter-flexible/lib/component/MemoryStorage/MemoryStorage.js',
) as new () => MemoryStorage
{
  const probe = new MemoryStorageClass()
  if (typeof probe.get !== 'function' || typeof probe.set !== 'function' || !(probe._storage instanceof Map)) {
    throw new Error('rate-limiter-flexible MemoryStorage no longer has get/set/_storage; src/edge/shield/rate-limit.ts needs updating')
  }
}

/** Extra lifetime of a key's record past the moment its bucket is full (covers early timer firing). */
const DROP_SLACK_MS = 25
/** Time units per millisecond, about: units are ~0.1 µs whatever the rate (see scaleFor). */
const UNITS_PER_MS = 10_000
/** Upper bound on requestsPerSecond: keeps unit counts far below 2^53 for decades of uptime. */
const MAX_RPS = 1_000_000
/** Node's setTimeout limit (~24.8 days): a longer record lifetime would be clamped to 1 ms by Node. */
const MAX_REFILL_S = 2_147_483

const OK: RateLimitResult = Object.freeze({ ok: true })

/**
 * A token bucket per key (see the module comment for the exact semantics).
 * `consume` and `tryConsume` give the same decision; `tryConsume` is the synchronous form.
 */
export class RateLimiter {
  readonly requestsPerSecond: number
  readonly burst: number
  private readonly store = new MemoryStorageClass()
  /** Units per refill interval (1 / requestsPerSecond); a passing request advances the key's TAT by this. */
  private readonly scale: number
  /** Units per millisecond: requestsPerSecond * scale / 1000 (~UNITS_PER_MS). */
  private readonly unitsPerMs: number
  /** Bucket depth in units: burst * scale. A request passes when its new TAT is at most this far ahead. */
  private readonly depth: number

  /** @throws RangeError unless 0 < requestsPerSecond ≤ 1e6, burst is an integer ≥ 1 and burst / requestsPerSecond ≤ ~24.8 days. */
  constructor (config: RateLimitConfig) {
    const { requestsPerSecond: rps, burst } = config
    if (!(Number.isFinite(rps) && rps > 0 && rps <= MAX_RPS)) {
      throw new RangeError(`requestsPerSecond must be a number in (0, ${MAX_RPS}], got ${rps}`)
    }
    if (!(Number.isInteger(burst) && burst >= 1)) throw new RangeError(`burst must be an integer >= 1, got ${burst}`)
    if (burst / rps > MAX_REFILL_S) throw new RangeError(`burst / requestsPerSecond must be at most ${MAX_REFILL_S} s`)
    this.requestsPerSecond = rps
    this.burst = burst
    this.scale = Math.max(1, Math.round(UNITS_PER_MS * 1000 / rps))
    this.unitsPerMs = rps * this.scale / 1000
    this.depth = burst * this.scale
  }

  /** Takes one token for `key`; resolves `{ ok: false, retryAfterS }` when the bucket is empty. Never rejects. */
  consume (key: string): Promise<RateLimitResult> {
    return Promise.resolve(this.tryConsume(key))
  }

  /** Synchronous form of `consume`. */
  tryConsume (key: string): RateLimitResult {
    const now = Math.floor(performance.now() * this.unitsPerMs)
    // TAT, the "theoretical arrival time": when the key's bucket is full again. No record means full.
    const record = this.store.get(key)
    const tat = record === null || record.consumedPoints < now ? now : record.consumedPoints
    const next = tat + this.scale
    if (next - now > this.depth) {
      // The next token arrives when `next` is back within the depth.
      const waitMs = (next - this.depth - now) / this.unitsPerMs
      return { ok: false, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) }
    }
    this.store.set(key, next, ((next - now) / this.unitsPerMs + DROP_SLACK_MS) / 1000)
    return OK
  }

  /** Keys with state right now (buckets not yet full again); for stats and tests. */
  get size (): number {
    return this.store._storage.size
  }
}

/**
 * One RateLimiter per distinct (requestsPerSecond, burst), so a reload that keeps a limit's numbers
 * keeps its buckets, and hostnames with equal numbers share one store (their keys differ; see keyFor).
 * Grows only with the distinct limits ever configured; a limiter no longer used empties itself as its
 * records expire.
 */
export class RateLimits {
  private readonly limiters = new Map<string, RateLimiter>()

  /** The limiter for these numbers, created on first use. Other fields of `config` (e.g. `per`) are ignored. */
  get (config: RateLimitConfig): RateLimiter {
    const id = `${config.requestsPerSecond}/${config.burst}`
    let limiter = this.limiters.get(id)
    if (limiter === undefined) {
      limiter = new RateLimiter(config)
      this.limiters.set(id, limiter)
    }
    return limiter
  }
}

/**
 * The bucket key of a request: one bucket per hostname (`per: host`), or per hostname and client IP
 * (`per: ip`), so one client's use of a hostname never spends its budget on another. Hostnames cannot
 * contain '|', so keys cannot collide.
 */
export function keyFor (per: 'ip' | 'host', ip: string, host: string): string {
  return per === 'host' ? 'host:' + host : 'ip:' + host + '|' + ip
}
