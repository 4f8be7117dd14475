// Request and connection rate limiting for the shield (issue #4 design, evaluation step 3; SPEC.md §6
// BURROW_ERR_RATE_LIMITED with Retry-After). A token bucket per key: `burst` at once, then
// `requestsPerSecond` sustained; refused requests cost nothing; state for idle keys is dropped so an
// attacker cycling source addresses cannot grow memory. Real timers, short intervals.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { RateLimiter, RateLimits, keyFor, type RateLimitResult } from '../../src/edge/shield/rate-limit.js'
import { waitFor } from '../helpers/servers.js'

/** How many of `n` back-to-back synchronous attempts on `key` pass. */
function passes (limiter: RateLimiter, key: string, n: number): number {
  let ok = 0
  for (let i = 0; i < n; i++) if (limiter.tryConsume(key).ok) ok++
  return ok
}

t.test('#4 §6 a fresh key passes `burst` requests at once, then is refused with Retry-After in whole seconds', async (t) => {
  const limiter = new RateLimiter({ requestsPerSecond: 5, burst: 3 })
  for (let i = 0; i < 3; i++) t.same(await limiter.consume('k'), { ok: true }, `request ${i + 1} of the burst passes`)
  // The next token is 200 ms away: Retry-After rounds up to the minimum of 1 s.
  t.same(await limiter.consume('k'), { ok: false, retryAfterS: 1 }, 'the request after the burst is refused')
  t.same(await limiter.consume('k'), { ok: false, retryAfterS: 1 }, 'and so is the one after it')
})

t.test('#4 §6 retryAfterS is the time until the next token, rounded up', async (t) => {
  const cases: Array<[rps: number, burst: number, retryAfterS: number]> = [
    [0.5, 2, 2], // one token every 2 s
    [0.25, 1, 4], // one token every 4 s
    [0.4, 3, 3], // 2.5 s, rounded up
    [1000, 10, 1], // 1 ms, but never less than 1 s
  ]
  for (const [rps, burst, retryAfterS] of cases) {
    const limiter = new RateLimiter({ requestsPerSecond: rps, burst })
    t.equal(passes(limiter, 'k', burst), burst, `rps ${rps} burst ${burst}: the burst passes`)
    const r = limiter.tryConsume('k')
    t.same(r, { ok: false, retryAfterS }, `rps ${rps} burst ${burst}: refused with Retry-After ${retryAfterS}`)
  }
})

t.test('#4 refused requests take no token: a client hammering the limit still gets the next token on time', async (t) => {
  // 20/s: a token every 50 ms. The library's own fixed-window limiters would count the refused
  // attempts; a token bucket must not.
  const limiter = new RateLimiter({ requestsPerSecond: 20, burst: 1 })
  t.ok(limiter.tryConsume('k').ok, 'the first request passes')
  t.equal(passes(limiter, 'k', 200), 0, '200 immediate retries are all refused')
  const start = performance.now()
  await sleep(70)
  const elapsedS = (performance.now() - start) / 1000
  const ok = passes(limiter, 'k', 10)
  t.ok(ok >= 1, 'a request passes once a token came back')
  t.ok(ok <= 1, `and no more than the bucket holds (1), got ${ok} after ${elapsedS.toFixed(3)} s`)
})

t.test('#4 a key that stays idle gets its whole burst back', async (t) => {
  const limiter = new RateLimiter({ requestsPerSecond: 50, burst: 4 })
  t.equal(passes(limiter, 'k', 10), 4, 'the burst passes, the rest is refused')
  await sleep(4 / 50 * 1000 + 40) // refill time for 4 tokens, plus margin
  t.equal(passes(limiter, 'k', 10), 4, 'after the refill time the full burst passes again, and no more')
})

t.test('#4 sustained load over ~1.5 s passes about burst + rps * t, never more', async (t) => {
  const rps = 20
  const burst = 5
  const limiter = new RateLimiter({ requestsPerSecond: rps, burst })
  const start = performance.now()
  let ok = 0
  let refused = 0
  // Every ~10 ms try up to `burst` times (stop at the first refusal), so tokens that came back during
  // a late timer are still taken; bounded by count and time.
  for (let tick = 0; tick < 400 && performance.now() - start < 1500; tick++) {
    for (let i = 0; i < burst; i++) {
      const r: RateLimitResult = await limiter.consume('client')
      if (!r.ok) { refused++; break }
      ok++
    }
    await sleep(10)
  }
  const elapsedS = (performance.now() - start) / 1000
  const ideal = burst + rps * elapsedS
  t.ok(refused > 0, 'the load was above the limit')
  t.ok(ok <= Math.floor(ideal) + 1, `at most burst + rps * t pass: ${ok} passed, ideal ${ideal.toFixed(1)}`)
  t.ok(ok >= burst + Math.floor(rps * elapsedS * 0.8) - 1, `about burst + rps * t pass: ${ok} passed, ideal ${ideal.toFixed(1)}`)
})

t.test('#4 concurrent consumes of one key are decided one after another (many h2 streams in one read)', async (t) => {
  const limiter = new RateLimiter({ requestsPerSecond: 1, burst: 10 })
  const results = await Promise.all(Array.from({ length: 50 }, () => limiter.consume('k')))
  t.equal(results.filter((r) => r.ok).length, 10, 'exactly the burst passes, not 50')
})

t.test('#4 keys are independent: one exhausted key does not limit another', async (t) => {
  const limiter = new RateLimiter({ requestsPerSecond: 1, burst: 2 })
  t.equal(passes(limiter, 'a', 5), 2, 'key a: its burst passes')
  t.notOk(limiter.tryConsume('a').ok, 'key a is now refused')
  t.equal(passes(limiter, 'b', 5), 2, 'key b still has its whole burst')
})

t.test('#4 keyFor: per ip is per hostname and client IP, per host is one bucket for the hostname', async (t) => {
  t.equal(keyFor('host', '192.0.2.1', 'app.localhost'), 'host:app.localhost')
  t.equal(keyFor('ip', '192.0.2.1', 'app.localhost'), 'ip:app.localhost|192.0.2.1')
  t.equal(keyFor('ip', '2001:db8::1', 'app.localhost'), 'ip:app.localhost|2001:db8::1')

  const limiter = new RateLimiter({ requestsPerSecond: 1, burst: 2 })
  t.equal(passes(limiter, keyFor('ip', '192.0.2.1', 'app.localhost'), 5), 2, 'per ip: client 1 on app uses its burst')
  t.equal(passes(limiter, keyFor('ip', '192.0.2.2', 'app.localhost'), 5), 2, 'per ip: client 2 on app has its own')
  t.equal(passes(limiter, keyFor('ip', '192.0.2.1', 'api.localhost'), 5), 2, 'per ip: client 1 on another hostname has its own')

  t.equal(passes(limiter, keyFor('host', '192.0.2.1', 'app.localhost'), 1), 1, 'per host: client 1 takes one of the two')
  t.equal(passes(limiter, keyFor('host', '192.0.2.2', 'app.localhost'), 5), 1, 'per host: client 2 gets only what is left')
  t.equal(passes(limiter, keyFor('host', '192.0.2.3', 'api.localhost'), 5), 2, 'per host: another hostname has its own bucket')
})

t.test('#4 20,000 distinct keys (an attacker cycling addresses) are dropped once their buckets refill', async (t) => {
  // 50/s burst 5: a single request's state lives 20 ms (+ slack); an exhausted bucket's 100 ms.
  const limiter = new RateLimiter({ requestsPerSecond: 50, burst: 5 })
  for (let wave = 1; wave <= 2; wave++) {
    let ok = 0
    for (let i = 0; i < 20_000; i++) if (limiter.tryConsume(keyFor('ip', `10.${wave}.${i >> 8}.${i & 255}`, 'app.localhost')).ok) ok++
    t.equal(ok, 20_000, `wave ${wave}: every new key passes`)
    t.equal(limiter.size, 20_000, `wave ${wave}: the store holds one record per key`)
    await waitFor(() => limiter.size === 0, 3_000, 10)
    t.equal(limiter.size, 0, `wave ${wave}: all records are gone once their buckets are full again`)
  }
  t.equal(passes(limiter, 'exhausted', 10), 5, 'an exhausted key')
  t.equal(limiter.size, 1, 'is held')
  await waitFor(() => limiter.size === 0, 3_000, 10)
  t.equal(passes(limiter, 'exhausted', 10), 5, 'and is dropped only when its burst is back')
})

t.test('#4 RateLimits: one limiter per (requestsPerSecond, burst), so a reload with the same numbers keeps state', async (t) => {
  const limits = new RateLimits()
  const a = limits.get({ requestsPerSecond: 10, burst: 2 })
  t.equal(passes(a, 'k', 5), 2, 'the burst is used up')
  const again = limits.get({ requestsPerSecond: 10, burst: 2 })
  t.equal(again, a, 'the same numbers give the same limiter')
  t.notOk(again.tryConsume('k').ok, 'and its state: the key is still refused')

  // A host-level config object carries `per` too; only the numbers select the limiter.
  const policy: { requestsPerSecond: number, burst: number, per: 'ip' | 'host' } = { requestsPerSecond: 10, burst: 2, per: 'host' }
  t.equal(limits.get(policy), a, 'other fields do not matter')

  const b = limits.get({ requestsPerSecond: 10, burst: 3 })
  t.not(b, a, 'a different burst is another limiter')
  t.equal(b.burst, 3)
  t.equal(passes(b, 'k', 5), 3, 'with its own state')
  const c = limits.get({ requestsPerSecond: 20, burst: 2 })
  t.not(c, a, 'a different rate is another limiter')
  t.equal(c.requestsPerSecond, 20)
})

t.test('#4 invalid limits are refused with RangeError', async (t) => {
  const bad: Array<[number, number]> = [
    [0, 1], [-1, 1], [Number.NaN, 1], [Number.POSITIVE_INFINITY, 1], [2_000_000, 1],
    [1, 0], [1, -1], [1, 1.5], [1, Number.NaN],
    [0.001, 10_000], // 10^7 s to refill: beyond what a Node timer can hold
  ]
  for (const [requestsPerSecond, burst] of bad) {
    t.throws(() => new RateLimiter({ requestsPerSecond, burst }), RangeError, `rps ${requestsPerSecond} burst ${burst}`)
  }
  t.doesNotThrow(() => new RateLimiter({ requestsPerSecond: 0.5, burst: 1 }), 'a fractional rate is fine')
})
