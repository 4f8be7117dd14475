/**
 * Label-weighted routing in the policy file (issue #5, SPEC.md §5.11, scratch/design-ha.md "Routing rule"):
 * `split`, `sticky` and `fallback` in a `hosts` entry compile to HostPolicy.routing (a RoutingRule); every
 * invalid form is refused with `<file>:<line>:<col>: <key.path>: <problem>`; the shield's verdict carries the
 * rule to the proxy. Also the pure functions of src/edge/routing.ts the registry picks pools with.
 */
import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { ConfigError, parseShieldConfig, policyFor } from '../../src/edge/shield/config.js'
import { Shield } from '../../src/edge/shield/shield.js'
import type { GateVerdict } from '../../src/edge/visitor-proxy.js'
import { cookieValue, fnv1a, poolAtPoint, poolMatches, stickyCookie, type LabelPool, type RoutingRule } from '../../src/edge/routing.js'
import { routingKeyOfHost } from '../../src/protocol/hostname.js'
import { startOrigin, testLogger, visit } from '../helpers/servers.js'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** Not read from disk: parseShieldConfig only names it in messages. */
const FILE = '/etc/burrow/edge.yaml'

function routingOf (text: string, host = 'app.localhost'): RoutingRule | undefined {
  const config = parseShieldConfig(text, FILE)
  const policy = config.policies.get(host)
  if (policy === undefined) throw new Error(`no policy for ${host}`)
  return policy.routing
}

/** The ConfigError parsing `text` gives. */
function errorOf (text: string): ConfigError {
  try {
    parseShieldConfig(text, FILE)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('the config parsed, but an error was expected')
}

/** Asserts the first line of the error is `<file>:<line>:<col>: <key path>: <problem…>`. */
function expectError (t: Tap, text: string, line: number, col: number, keyPath: string, problem: RegExp): void {
  const err = errorOf(text)
  const first = err.message.split('\n')[0]!
  const prefix = `${FILE}:${line}:${col}: ${keyPath}: `
  t.equal(first.slice(0, prefix.length), prefix, `names line ${line}, column ${col} and ${keyPath} (${first})`)
  t.match(first.slice(prefix.length), problem)
  t.equal(err.issues[0]?.keyPath, keyPath)
}

/** A host entry `app.localhost` with `lines` (already indented by 4) under it. */
function host (...lines: string[]): string {
  return `hosts:\n  app.localhost:\n${lines.map((l) => `    ${l}\n`).join('')}`
}

const TWO_POOLS = [
  'split:',
  '  - match: { release: stable }',
  '    weight: 90',
  '  - match: { release: canary }',
  '    weight: 10',
]

t.test('HA: split compiles to pools with default names (k=v, keys sorted, "&"), weights and their total; fallback defaults to any', async (t) => {
  const routing = routingOf(host(
    'split:',
    '  - match: { zone: eu, release: stable }',
    '    weight: 90',
    '  - name: canary',
    '    match: { release: canary }',
    '    weight: 10',
    '  - match: { release: dark }',
    '    weight: 0',
  ))
  t.same(routing, {
    pools: [
      { name: 'release=stable&zone=eu', match: [['release', 'stable'], ['zone', 'eu']], weight: 90 },
      { name: 'canary', match: [['release', 'canary']], weight: 10 },
      { name: 'release=dark', match: [['release', 'dark']], weight: 0 },
    ],
    totalWeight: 100,
    sticky: undefined,
    fallback: 'any',
  })
  t.ok(Object.isFrozen(routing) && Object.isFrozen(routing!.pools) && Object.isFrozen(routing!.pools[0]), 'the rule is frozen: one copy shared by every request')
})

t.test('HA: sticky cookie with ttl becomes maxAgeS in seconds; without ttl maxAgeS is undefined; fallback none is kept', async (t) => {
  const withTtl = routingOf(host(...TWO_POOLS, 'sticky: { cookie: burrow-pool, ttl: 1h }', 'fallback: none'))
  t.same(withTtl?.sticky, { kind: 'cookie', name: 'burrow-pool', maxAgeS: 3600 })
  t.equal(withTtl?.fallback, 'none')
  t.equal(withTtl?.totalWeight, 100)

  const session = routingOf(host(...TWO_POOLS, 'sticky: { cookie: pool }'))
  t.same(session?.sticky, { kind: 'cookie', name: 'pool', maxAgeS: undefined })
  t.equal(session?.fallback, 'any')

  t.same(routingOf(host(...TWO_POOLS, 'sticky: { cookie: p, ttl: 7d }'))?.sticky, { kind: 'cookie', name: 'p', maxAgeS: 604800 })
})

t.test('HA: sticky header is lower-cased', async (t) => {
  t.same(routingOf(host(...TWO_POOLS, 'sticky: { header: X-User-Id }'))?.sticky, { kind: 'header', name: 'x-user-id' })
})

t.test('HA: a host entry with only split is a policy; hosts without split have no routing; defaults never do', async (t) => {
  const config = parseShieldConfig(`
defaults:
  maxBodyBytes: 1000
hosts:
  app.localhost:
    split:
      - match: { release: stable }
        weight: 1
  "*.example.com":
    split:
      - match: { release: canary }
        weight: 1
  plain.localhost:
    maxHeaderCount: 10
`, FILE)
  const app = policyFor(config, 'app.localhost')!
  t.equal(app.entry, 'app.localhost')
  t.equal(app.routing?.pools[0]?.name, 'release=stable')
  t.equal(app.maxBodyBytes, 1000, 'the other keys still merge from defaults')
  t.equal(policyFor(config, 'x.example.com')?.routing?.pools[0]?.name, 'release=canary', 'a wildcard entry routes its names')
  t.equal(policyFor(config, 'plain.localhost')?.routing, undefined)
  t.equal(policyFor(config, 'other.localhost')?.routing, undefined, 'defaults apply, without routing')
  t.equal(config.defaults?.routing, undefined)

  const only = parseShieldConfig(host('split:', '  - match: { release: stable }', '    weight: 5'), FILE)
  t.equal(only.defaults, undefined)
  t.same(only.policies.get('app.localhost')?.routing?.pools, [{ name: 'release=stable', match: [['release', 'stable']], weight: 5 }])
})

t.test('HA: bad labels in match are refused at the label, with the label rules', async (t) => {
  const pool = (match: string): string => host('split:', `  - match: ${match}`, '    weight: 1')
  expectError(t, pool('{ Release: stable }'), 4, 18, 'hosts["app.localhost"].split[0].match.Release', /label key "Release" must be 1-63 lower-case/)
  expectError(t, pool('{ release: "-x" }'), 4, 27, 'hosts["app.localhost"].split[0].match.release', /label release: value "-x" must be 1-63 letters/)
  expectError(t, pool('{ release: 2 }'), 4, 27, 'hosts["app.localhost"].split[0].match.release', /label values are strings: quote it in the file \(got the number 2\)/)
  expectError(t, pool('{}'), 4, 16, 'hosts["app.localhost"].split[0].match', /at least one label/)
  const seventeen = `{ ${Array.from({ length: 17 }, (_, i) => `k${i}: v`).join(', ')} }`
  expectError(t, pool(seventeen), 4, 16, 'hosts["app.localhost"].split[0].match', /at most 16 labels, got 17/)
})

t.test('HA: weights must be integers 0..10000 and not all 0', async (t) => {
  const weight = (w: string): string => host('split:', '  - match: { release: stable }', `    weight: ${w}`)
  expectError(t, weight('-1'), 5, 17, 'hosts["app.localhost"].split[0].weight', /must be an integer from 0 to 10000/)
  expectError(t, weight('1.5'), 5, 17, 'hosts["app.localhost"].split[0].weight', /must be an integer from 0 to 10000/)
  expectError(t, weight('10001'), 5, 17, 'hosts["app.localhost"].split[0].weight', /must be an integer from 0 to 10000/)
  expectError(t, weight('"10"'), 5, 17, 'hosts["app.localhost"].split[0].weight', /must be an integer from 0 to 10000/)
  expectError(t, host('split:', '  - match: { release: stable }'), 4, 9, 'hosts["app.localhost"].split[0].weight', /missing required key/)
  expectError(t, host('split:', '  - match: { release: a }', '    weight: 0', '  - match: { release: b }', '    weight: 0'),
    4, 7, 'hosts["app.localhost"].split', /the weights add up to 0/)
  expectError(t, host('split: []'), 3, 12, 'hosts["app.localhost"].split', /at least one pool/)
  const many = ['split:', ...Array.from({ length: 17 }, (_, i) => [`  - match: { n: p${i} }`, '    weight: 1']).flat()]
  expectError(t, host(...many), 4, 7, 'hosts["app.localhost"].split', /at most 16 pools/)
})

t.test('HA: pool names must be unique (explicit or made from the labels) and well-formed', async (t) => {
  expectError(t, host('split:', '  - match: { release: a }', '    weight: 1', '  - match: { release: a }', '    weight: 2'),
    6, 9, 'hosts["app.localhost"].split[1]', /pool name "release=a" is already used by split\[0\]/)
  expectError(t, host('split:', '  - name: x', '    match: { release: a }', '    weight: 1', '  - name: x', '    match: { release: b }', '    weight: 2'),
    7, 15, 'hosts["app.localhost"].split[1].name', /pool name "x" is already used by split\[0\]/)
  expectError(t, host('split:', '  - name: stable', '    match: { release: a }', '    weight: 1', '  - match: { release: b }', '    weight: 1', '  - name: stable', '    match: { release: c }', '    weight: 1'),
    9, 15, 'hosts["app.localhost"].split[2].name', /already used by split\[0\]/)
  expectError(t, host('split:', '  - name: "bad name"', '    match: { release: a }', '    weight: 1'),
    4, 15, 'hosts["app.localhost"].split[0].name', /pool name "bad name" must be 1-63 letters/)
  const long = `{ ${Array.from({ length: 16 }, (_, i) => `key-number-${i}: value-number-${i}`).join(', ')} }`
  expectError(t, host('split:', `  - match: ${long}`, '    weight: 1'), 4, 9, 'hosts["app.localhost"].split[0]', /longer than 128; give it a name/)
  t.equal(routingOf(host('split:', '  - name: eu', `    match: ${long}`, '    weight: 1'))?.pools[0]?.name, 'eu', 'a name makes a long match usable')
})

t.test('HA: sticky takes exactly one of cookie or header, a valid cookie name, a whole-second ttl, a usable header', async (t) => {
  const sticky = (value: string): string => host(...TWO_POOLS, `sticky: ${value}`)
  expectError(t, sticky('{ cookie: burrow-pool, header: x-user-id }'), 8, 13, 'hosts["app.localhost"].sticky', /give only one of cookie and header/)
  expectError(t, sticky('{}'), 8, 13, 'hosts["app.localhost"].sticky', /needs one of cookie or header/)
  expectError(t, sticky('{ header: x-user-id, ttl: 1h }'), 8, 34, 'hosts["app.localhost"].sticky.ttl', /needs cookie/)
  expectError(t, sticky('{ cookie: "a b" }'), 8, 23, 'hosts["app.localhost"].sticky.cookie', /"a b" is not a cookie name/)
  expectError(t, sticky('{ cookie: p, ttl: soon }'), 8, 31, 'hosts["app.localhost"].sticky.ttl', /"soon" is not a duration/)
  expectError(t, sticky('{ cookie: p, ttl: 500ms }'), 8, 31, 'hosts["app.localhost"].sticky.ttl', /whole seconds/)
  expectError(t, sticky('{ header: Connection }'), 8, 23, 'hosts["app.localhost"].sticky.header', /Burrow or hop-by-hop header/)
  expectError(t, sticky('{ header: burrow-request-id }'), 8, 23, 'hosts["app.localhost"].sticky.header', /Burrow or hop-by-hop header/)
  expectError(t, sticky('{ header: "x user" }'), 8, 23, 'hosts["app.localhost"].sticky.header', /"x user" is not a header name/)
  expectError(t, sticky('{ cookie: p, maxAge: 60 }'), 8, 26, 'hosts["app.localhost"].sticky.maxAge', /unknown key \(expected one of: cookie, ttl, header\)/)
})

t.test('HA: sticky or fallback without split is an error; fallback is any or none', async (t) => {
  expectError(t, host('sticky: { cookie: burrow-pool }'), 3, 5, 'hosts["app.localhost"].sticky', /needs split/)
  expectError(t, host('fallback: none'), 3, 5, 'hosts["app.localhost"].fallback', /needs split/)
  expectError(t, host(...TWO_POOLS, 'fallback: maybe'), 8, 15, 'hosts["app.localhost"].fallback', /"maybe" is not one of any, none/)
})

t.test('HA: split, sticky and fallback in defaults are refused with where they belong', async (t) => {
  expectError(t, 'defaults:\n  split:\n    - match: { release: a }\n      weight: 1\n', 2, 3, 'defaults.split', /split\/sticky\/fallback belong in a hosts entry/)
  expectError(t, 'defaults:\n  sticky: { cookie: c }\n', 2, 3, 'defaults.sticky', /belong in a hosts entry/)
  expectError(t, 'defaults:\n  fallback: none\n', 2, 3, 'defaults.fallback', /belong in a hosts entry/)
})

t.test('HA: an unknown key inside a split entry is named, with the keys a pool takes', async (t) => {
  expectError(t, host('split:', '  - match: { release: a }', '    weight: 1', '    colour: red'),
    6, 9, 'hosts["app.localhost"].split[0].colour', /unknown key \(expected one of: name, match, weight\)/)
  expectError(t, host('splt: []'), 3, 5, 'hosts["app.localhost"].splt', /unknown key \(expected one of: .*split, sticky, fallback\)/)
})

// ---------------------------------------------------------------------------------------------------------
// src/edge/routing.ts
// ---------------------------------------------------------------------------------------------------------

const stable: LabelPool = { name: 'release=stable', match: [['release', 'stable']], weight: 90 }
const canary: LabelPool = { name: 'canary', match: [['release', 'canary'], ['zone', 'eu']], weight: 10 }
const dark: LabelPool = { name: 'dark', match: [['release', 'dark']], weight: 0 }

t.test('HA: poolMatches needs every match pair, and allows extra labels', async (t) => {
  t.equal(poolMatches({ release: 'stable' }, stable), true)
  t.equal(poolMatches({ release: 'stable', zone: 'us' }, stable), true, 'extra labels do not matter')
  t.equal(poolMatches({ release: 'canary' }, stable), false, 'another value')
  t.equal(poolMatches({}, stable), false, 'no labels')
  t.equal(poolMatches({ release: 'canary', zone: 'eu' }, canary), true)
  t.equal(poolMatches({ release: 'canary' }, canary), false, 'one of two pairs missing')
  t.equal(poolMatches({ release: 'canary', zone: 'us' }, canary), false)
})

t.test('HA: poolAtPoint maps weight points to pools, over all pools or only the allowed ones', async (t) => {
  const pools = [stable, canary, dark]
  t.equal(poolAtPoint(pools, 0), 0)
  t.equal(poolAtPoint(pools, 89), 0)
  t.equal(poolAtPoint(pools, 90), 1)
  t.equal(poolAtPoint(pools, 99), 1)
  const counts = [0, 0, 0]
  for (let point = 0; point < 100; point++) counts[poolAtPoint(pools, point)]!++
  t.same(counts, [90, 10, 0], 'each pool gets its weight of the points; a weight-0 pool none')

  const notStable = (i: number): boolean => i !== 0
  t.equal(poolAtPoint(pools, 0, notStable), 1, 'only the allowed pools count: canary covers points 0..9')
  t.equal(poolAtPoint(pools, 9, notStable), 1)
  t.equal(poolAtPoint(pools, 5, (i) => i !== 1), 0, 'stable alone covers 0..89')
  t.equal(poolAtPoint(pools, 0, () => false), -1, 'nothing allowed')
  t.equal(poolAtPoint(pools, 0, (i) => i === 2), 2, 'only a weight-0 pool allowed: that one')
  t.equal(poolAtPoint([dark, { ...dark, name: 'dark2' }], 0), 0, 'every pool weighs 0: the first')
  t.equal(poolAtPoint(pools, 0, (i) => i === 1 || i === 2), 1)
  t.equal(poolAtPoint([], 0), -1)
})

t.test('HA: fnv1a is the standard 32-bit FNV-1a, unsigned and stable', async (t) => {
  t.equal(fnv1a(''), 0x811c9dc5)
  t.equal(fnv1a('a'), 0xe40c292c)
  t.equal(fnv1a('foobar'), 0xbf9cf968)
  t.equal(fnv1a('user-42'), fnv1a('user-42'), 'same input, same hash')
  t.not(fnv1a('user-42'), fnv1a('user-43'))
  for (const s of ['', 'a', 'user-42', 'ünïcødé', 'x'.repeat(1000)]) {
    const h = fnv1a(s)
    t.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff, `${JSON.stringify(s.slice(0, 10))} hashes to a uint32`)
  }
  t.equal(fnv1a('user-42') % 100, fnv1a('user-42') % 100, 'a header value keeps its weight point')
})

t.test('HA: cookieValue finds a whole cookie name among several, in one header or HTTP/2 crumbs', async (t) => {
  t.equal(cookieValue('burrow-pool=canary', 'burrow-pool'), 'canary', 'the only cookie')
  t.equal(cookieValue('a=1; burrow-pool=canary; b=2', 'burrow-pool'), 'canary', 'in the middle')
  t.equal(cookieValue('a=1; b=2; burrow-pool=stable', 'burrow-pool'), 'stable', 'last')
  t.equal(cookieValue('a=1;burrow-pool=stable', 'burrow-pool'), 'stable', 'no space after ";"')
  t.equal(cookieValue('xburrow-pool=evil', 'burrow-pool'), undefined, 'a longer name ending in the name is another cookie')
  t.equal(cookieValue('xburrow-pool=evil; burrow-pool=stable', 'burrow-pool'), 'stable', 'the real one after a similar name')
  t.equal(cookieValue('burrow-pool-x=1', 'burrow-pool'), undefined, 'a longer name starting with the name')
  t.equal(cookieValue('a=burrow-pool=x', 'burrow-pool'), undefined, 'the name inside another cookie\'s value')
  t.equal(cookieValue('burrow-pool=release=stable&zone=eu; a=1', 'burrow-pool'), 'release=stable&zone=eu', 'a default pool name with "=" and "&"')
  t.equal(cookieValue(['a=1', 'burrow-pool=canary', 'b=2'], 'burrow-pool'), 'canary', 'HTTP/2 crumbs')
  t.equal(cookieValue(['burrow-pool=canary'], 'burrow-pool'), 'canary')
  t.equal(cookieValue(['xburrow-pool=evil', 'b=2'], 'burrow-pool'), undefined)
  t.equal(cookieValue('a=1; b=2', 'burrow-pool'), undefined, 'absent')
  t.equal(cookieValue('', 'burrow-pool'), undefined, 'empty header')
  t.equal(cookieValue(undefined, 'burrow-pool'), undefined, 'no Cookie field')
  t.equal(cookieValue([], 'burrow-pool'), undefined, 'no crumbs')
  t.equal(cookieValue('burrow-pool=', 'burrow-pool'), '', 'present but empty (the registry treats it as no choice)')
})

t.test('HA: stickyCookie pins a pool: Path=/, HttpOnly, SameSite=Lax, Max-Age only with a ttl', async (t) => {
  t.equal(stickyCookie({ kind: 'cookie', name: 'burrow-pool', maxAgeS: 3600 }, canary), 'burrow-pool=canary; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600')
  t.equal(stickyCookie({ kind: 'cookie', name: 'burrow-pool', maxAgeS: undefined }, stable), 'burrow-pool=release=stable; Path=/; HttpOnly; SameSite=Lax')
  const rule = routingOf(host(...TWO_POOLS, 'sticky: { cookie: bp, ttl: 30m }'))!
  const sticky = rule.sticky
  if (sticky?.kind !== 'cookie') throw new Error('expected cookie stickiness')
  const set = stickyCookie(sticky, rule.pools[1]!)
  t.equal(set, 'bp=release=canary; Path=/; HttpOnly; SameSite=Lax; Max-Age=1800', 'from a compiled rule')
  t.equal(cookieValue(set.split(';')[0], 'bp'), 'release=canary', 'what the cookie sets reads back as the pool name')
})

// ---------------------------------------------------------------------------------------------------------
// Through the shield
// ---------------------------------------------------------------------------------------------------------

t.test('HA: the shield\'s ok verdict carries the host\'s routing rule; hosts without one get the verdict they got before', async (t) => {
  const config = parseShieldConfig(`
hosts:
  app.localhost:
    split:
      - match: { release: stable }
        weight: 90
      - match: { release: canary }
        weight: 10
    sticky: { cookie: burrow-pool }
  guarded.localhost:
    maxBodyBytes: 100
    split:
      - match: { release: stable }
        weight: 1
  denied.localhost:
    ipDeny: ["127.0.0.0/8", "::1"]
    split:
      - match: { release: stable }
        weight: 1
  plain.localhost:
    maxBodyBytes: 100
`, FILE)
  const shield = new Shield(config, testLogger())
  t.teardown(() => shield.close())
  // Real requests from a real server: the shield reads the socket's peer and the headers as the edge does.
  const verdicts: Array<GateVerdict | undefined> = []
  const origin = await startOrigin(t, (req: IncomingMessage, res) => {
    void Promise.resolve(shield.evaluate(req, routingKeyOfHost(req.headers.host!)!, req.url!)).then((verdict) => {
      verdicts.push(verdict)
      res.end('ok')
    })
  })
  const verdictFor = async (hostname: string): Promise<GateVerdict | undefined> => {
    const res = await visit(origin.url, '/x?y=1', { host: hostname })
    t.equal(res.status, 200)
    return verdicts.at(-1)
  }

  const app = await verdictFor('app.localhost')
  t.same(app, { ok: true, path: '/x?y=1', removeHeaders: ['burrow-auth-identity'], routing: config.policies.get('app.localhost')!.routing })
  t.equal(app?.ok === true ? app.routing : undefined, config.policies.get('app.localhost')!.routing, 'the compiled rule itself, not a copy')

  const guarded = await verdictFor('guarded.localhost')
  t.same(guarded, { ok: true, path: '/x?y=1', removeHeaders: ['burrow-auth-identity'], maxBodyBytes: 100, routing: config.policies.get('guarded.localhost')!.routing })

  const denied = await verdictFor('denied.localhost')
  t.same(denied, { ok: false, code: 'BURROW_ERR_IP_DENIED' }, 'a refused request carries no routing')

  const plain = await verdictFor('plain.localhost')
  t.same(plain, { ok: true, path: '/x?y=1', removeHeaders: ['burrow-auth-identity'], maxBodyBytes: 100 })
  t.notOk(plain !== undefined && 'routing' in plain, 'no routing key at all without split')

  t.equal(await verdictFor('other.localhost'), undefined, 'a host without a policy takes the plain path')
  t.equal(verdicts.length, 5)
})
