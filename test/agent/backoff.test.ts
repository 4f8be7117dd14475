// Full-jitter reconnect backoff (SPEC.md §8.1): delay = random(0, min(cap, base * 2^attempt)).
import t from 'tap'
import { fullJitterDelay } from '../../src/agent/backoff.js'

const BASE = 1_000
const CAP = 30_000
const zero = (): number => 0
const almostOne = (): number => 0.999

t.test('random 0 gives a delay of 0 for any attempt', async (t) => {
  for (const attempt of [0, 1, 5, 30, 1000]) t.equal(fullJitterDelay(attempt, BASE, CAP, zero), 0, `attempt ${attempt}`)
})

t.test('random just under 1 gives just under min(cap, base * 2^attempt)', async (t) => {
  for (const attempt of [0, 1, 2, 3, 4]) {
    const ceiling = Math.min(CAP, BASE * 2 ** attempt)
    const delay = fullJitterDelay(attempt, BASE, CAP, almostOne)
    t.ok(delay < ceiling, `attempt ${attempt}: ${delay} < ${ceiling}`)
    t.ok(delay >= ceiling * 0.99, `attempt ${attempt}: ${delay} >= 99% of ${ceiling}`)
  }
  t.equal(fullJitterDelay(0, BASE, CAP, almostOne), 999, 'attempt 0: just under 1 s')
  t.equal(fullJitterDelay(3, BASE, CAP, almostOne), 7992, 'attempt 3: just under 8 s')
  t.equal(fullJitterDelay(2, BASE, CAP, () => 0.5), 2000, 'attempt 2, random 0.5: half of 4 s')
})

t.test('the cap bounds the delay for large attempts', async (t) => {
  for (const attempt of [5, 6, 10, 29, 30, 31, 64]) {
    t.equal(fullJitterDelay(attempt, BASE, CAP, almostOne), 29_970, `attempt ${attempt}: just under the 30 s cap`)
  }
  t.equal(fullJitterDelay(5, BASE, 5_000, () => 0.5), 2_500, 'a smaller cap (--retry-max-delay) is honoured')
})

t.test('attempt 1000 neither overflows nor exceeds the cap', async (t) => {
  const delay = fullJitterDelay(1000, BASE, CAP, almostOne)
  t.ok(Number.isFinite(delay), `finite: ${delay}`)
  t.ok(Number.isInteger(delay), 'whole milliseconds')
  t.ok(delay >= 0 && delay < CAP, 'within [0, cap)')
  const huge = fullJitterDelay(1000, BASE, Number.MAX_SAFE_INTEGER, almostOne)
  t.ok(Number.isFinite(huge), `finite even with an unbounded cap: ${huge}`)
})

t.test('with the default Math.random every delay is a whole number in [0, ceiling)', async (t) => {
  const seen = new Set<number>()
  for (let i = 0; i < 1000; i++) {
    const attempt = i % 8
    const ceiling = Math.min(CAP, BASE * 2 ** attempt)
    const delay = fullJitterDelay(attempt, BASE, CAP)
    if (!(Number.isInteger(delay) && delay >= 0 && delay < ceiling)) {
      t.fail(`attempt ${attempt}: ${delay} outside [0, ${ceiling})`)
      return
    }
    seen.add(delay)
  }
  t.ok(seen.size > 100, `delays are spread out (${seen.size} distinct values of 1000)`)
})
