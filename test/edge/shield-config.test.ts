/**
 * The shield's policy file (issue #4, scratch/design-shield.md "Config file"), on real temporary files:
 * the YAML schema, host-key normalisation, `defaults` merged into host entries, policy lookup (exact, then
 * "*.parent" one label deep, then defaults), errors that name file:line:col and the key path, and the
 * watcher that reloads on change and keeps the last good configuration when the new one is invalid.
 */
import t from 'tap'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import {
  ConfigError, DEFAULT_IDENTITY_HEADER, loadShieldConfig, parseShieldConfig, policyFor, ShieldConfigWatcher,
  type ShieldConfig,
} from '../../src/edge/shield/config.js'
import { hashBearerToken, hashPassword } from '../../src/edge/shield/auth.js'
import { tempDir, waitFor } from '../helpers/servers.js'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const PASSWORD_HASH = await hashPassword('correct horse')
const TOKEN_HASH = hashBearerToken('s3cret-token')
const JWKS = JSON.stringify({ keys: [] })

/** The design's example, plus every other key, a wildcard, an IDN and a host that clears a default. */
const FULL = `
trustedProxies: ["10.0.0.0/8", "fd00::/8"]
connectionRateLimit: { connectionsPerSecond: 50, burst: 100 }
defaults:
  rateLimit: { requestsPerSecond: 100, burst: 200, per: host }
  maxBodyBytes: 1048576
  auth: { bearer: ["${TOKEN_HASH}"] }
hosts:
  App.Localhost.:
    allow: { methods: [GET, POST], paths: ["/public/*", "/health", "/caf%c3%a9"] }
    ipAllow: ["127.0.0.0/8", "::1"]
    ipDeny: ["127.0.0.2/32"]
    auth: { basic: { alice: "${PASSWORD_HASH}" } }
    rateLimit: { requestsPerSecond: 20, burst: 20 }
    maxBodyBytes: 10485760
    maxHeaderBytes: 16384
    maxHeaderCount: 100
    originTimeoutMs: 30000
    identityHeader: x-user
  "*.Example.com":
    auth:
      jwt:
        jwksFile: keys/jwks.json
        issuer: https://issuer.test/
        audience: [burrow, api]
        algorithms: [ES256, EdDSA]
  bücher.example.com:
    maxHeaderCount: 50
  health.localhost:
    auth: null
    rateLimit: null
`

/** Writes `text` as edge.yaml in a fresh temporary directory; returns its path. */
async function configFile (t: Tap, text: string, name = 'edge.yaml'): Promise<string> {
  const dir = await tempDir(t, 'burrow-shield-config-')
  const file = join(dir, name)
  await writeFile(file, text)
  return file
}

/** The ConfigError loading `text` from a real file gives, and that file's path. */
async function errorOf (t: Tap, text: string): Promise<{ err: ConfigError, file: string }> {
  const file = await configFile(t, text)
  try {
    await loadShieldConfig(file)
  } catch (err) {
    if (err instanceof ConfigError) return { err, file }
    throw err
  }
  throw new Error('the config loaded, but an error was expected')
}

/** Asserts the first line of a ConfigError is `<file>:<line>:<col>: <key path>: <problem…>`. */
async function expectError (t: Tap, text: string, line: number, col: number, keyPath: string, problem: RegExp): Promise<void> {
  const { err, file } = await errorOf(t, text)
  const first = err.message.split('\n')[0]!
  const prefix = `${file}:${line}:${col}: ${keyPath}: `
  t.equal(first.slice(0, prefix.length), prefix, `names file, line ${line}, column ${col} and ${keyPath}`)
  t.match(first.slice(prefix.length), problem)
  t.equal(err.file, file)
  t.equal(err.issues[0]?.line, line)
  t.equal(err.issues[0]?.column, col)
  t.equal(err.issues[0]?.keyPath, keyPath)
}

t.test('#4 a full policy file loads: host keys normalised, defaults merged into each entry key by key', async (t) => {
  const file = await configFile(t, FULL)
  await mkdir(join(file, '..', 'keys'))
  await writeFile(join(file, '..', 'keys', 'jwks.json'), JWKS)
  const config = await loadShieldConfig(file)

  t.equal(config.file, file)
  t.same(config.trustedProxies, ['10.0.0.0/8', 'fd00::/8'])
  t.same(config.connectionRateLimit, { connectionsPerSecond: 50, burst: 100 })
  t.same([...config.policies.keys()].sort(), ['*.example.com', 'app.localhost', 'health.localhost', 'xn--bcher-kva.example.com'])
  t.equal(config.hasWildcards, true)

  const app = config.policies.get('app.localhost')!
  t.same(app, {
    entry: 'app.localhost',
    allow: { methods: ['GET', 'POST'], paths: ['/public/*', '/health', '/caf%C3%A9'] },
    ipAllow: ['127.0.0.0/8', '::1/128'],
    ipDeny: ['127.0.0.2/32'],
    auth: { basic: { alice: PASSWORD_HASH } },
    rateLimit: { requestsPerSecond: 20, burst: 20, per: 'ip' },
    maxBodyBytes: 10485760,
    maxHeaderBytes: 16384,
    maxHeaderCount: 100,
    originTimeoutMs: 30000,
    identityHeader: 'x-user',
  }, 'every key of the entry; per defaults to ip; percent-escape hex upper-cased; a bare address is a /128')

  const wildcard = config.policies.get('*.example.com')!
  t.same(wildcard.auth, {
    jwt: {
      jwksFile: join(file, '..', 'keys', 'jwks.json'),
      issuer: 'https://issuer.test/',
      audience: ['burrow', 'api'],
      algorithms: ['ES256', 'EdDSA'],
      identityClaim: 'sub',
    },
  }, 'jwksFile resolved against the config file directory; identityClaim defaults to sub')
  t.same(wildcard.rateLimit, { requestsPerSecond: 100, burst: 200, per: 'host' }, 'keys the entry leaves out come from defaults')
  t.equal(wildcard.maxBodyBytes, 1048576)
  t.equal(wildcard.identityHeader, DEFAULT_IDENTITY_HEADER)

  const idn = config.policies.get('xn--bcher-kva.example.com')!
  t.equal(idn.maxHeaderCount, 50)
  t.same(idn.auth, { bearer: [TOKEN_HASH] }, 'the default auth applies')

  const health = config.policies.get('health.localhost')!
  t.equal(health.auth, undefined, 'null in an entry removes the default')
  t.equal(health.rateLimit, undefined)
  t.equal(health.maxBodyBytes, 1048576)

  t.same(config.defaults, {
    entry: undefined,
    allow: undefined,
    ipAllow: undefined,
    ipDeny: undefined,
    auth: { bearer: [TOKEN_HASH] },
    rateLimit: { requestsPerSecond: 100, burst: 200, per: 'host' },
    maxBodyBytes: 1048576,
    maxHeaderBytes: undefined,
    maxHeaderCount: undefined,
    originTimeoutMs: undefined,
    identityHeader: DEFAULT_IDENTITY_HEADER,
  })
  t.ok(Object.isFrozen(app) && Object.isFrozen(app.allow) && Object.isFrozen(app.ipAllow) && Object.isFrozen(app.auth), 'policies are shared by every request: frozen')
})

t.test('#4 policyFor: the exact entry, else "*.parent" one label deep, else defaults', async (t) => {
  const config = parseShieldConfig(`
defaults: { maxBodyBytes: 1 }
hosts:
  "*.example.com": { maxBodyBytes: 2 }
  exact.example.com: { maxBodyBytes: 3 }
`, 'edge.yaml')
  const exact = policyFor(config, 'exact.example.com')
  t.equal(exact?.maxBodyBytes, 3, 'an exact entry beats the wildcard')
  t.equal(policyFor(config, 'exact.example.com'), exact, 'precomputed: the same object every time')
  t.equal(policyFor(config, 'other.example.com')?.maxBodyBytes, 2)
  t.equal(policyFor(config, 'other.example.com')?.entry, '*.example.com')
  t.equal(policyFor(config, 'a.other.example.com'), config.defaults, 'a wildcard covers one label only')
  t.equal(policyFor(config, 'example.com'), config.defaults, 'a wildcard does not cover its parent')
  t.equal(policyFor(config, 'unrelated.localhost')?.maxBodyBytes, 1)
})

t.test('#4 policyFor is undefined when neither defaults nor an entry apply', async (t) => {
  const config = parseShieldConfig('hosts:\n  app.localhost: { maxBodyBytes: 5 }\n', 'edge.yaml')
  t.equal(config.hasWildcards, false)
  t.equal(config.defaults, undefined)
  t.equal(policyFor(config, 'app.localhost')?.maxBodyBytes, 5)
  t.equal(policyFor(config, 'other.localhost'), undefined)
  const empty = parseShieldConfig('{}\n', 'edge.yaml')
  t.equal(policyFor(empty, 'app.localhost'), undefined, '{} is a file without policies')
  t.same(empty.trustedProxies, [])
})

t.test('#4 parseShieldConfig resolves a relative jwksFile against the named file, without reading it', async (t) => {
  const config = parseShieldConfig('defaults:\n  auth: { jwt: { jwksFile: ../keys/jwks.json } }\n', '/etc/burrow/conf/edge.yaml')
  t.equal(config.defaults?.auth?.jwt?.jwksFile, '/etc/burrow/keys/jwks.json')
  const absolute = parseShieldConfig('defaults:\n  auth: { jwt: { jwksFile: /srv/jwks.json } }\n', 'edge.yaml')
  t.equal(absolute.defaults?.auth?.jwt?.jwksFile, '/srv/jwks.json')
})

t.test('#4 errors name file, line, column and key path', async (t) => {
  t.test('an unknown nested key, at the key, listing the known ones', async (t) => {
    await expectError(t, 'hosts:\n  app.localhost:\n    allow: { verbs: [GET] }\n', 3, 14, 'hosts["app.localhost"].allow.verbs', /^unknown key \(expected one of: methods, paths\)$/)
  })
  t.test('an unknown top-level key', async (t) => {
    await expectError(t, 'trustedProxies: []\nhost:\n  a.localhost: {}\n', 2, 1, 'host', /^unknown key \(expected one of: trustedProxies, connectionRateLimit, defaults, hosts\)$/)
  })
  t.test('an unknown key in a jwt block', async (t) => {
    await expectError(t, 'defaults:\n  auth:\n    jwt:\n      jwksUrl: http://127.0.0.1:9/jwks\n      issuers: [a]\n', 5, 7, 'defaults.auth.jwt.issuers', /^unknown key/)
  })
  t.test('a value of the wrong type', async (t) => {
    await expectError(t, 'defaults:\n  maxBodyBytes: ten megabytes\n', 2, 17, 'defaults.maxBodyBytes', /expected number, received string/)
  })
  t.test('a number that must be a whole number', async (t) => {
    await expectError(t, 'defaults:\n  rateLimit: { requestsPerSecond: 5, burst: 1.5 }\n', 2, 45, 'defaults.rateLimit.burst', /int/)
  })
  t.test('a non-positive rate', async (t) => {
    await expectError(t, 'defaults:\n  rateLimit: { requestsPerSecond: 0, burst: 1 }\n', 2, 35, 'defaults.rateLimit.requestsPerSecond', />0/)
  })
  t.test('an invalid per', async (t) => {
    await expectError(t, 'defaults:\n  rateLimit: { requestsPerSecond: 1, burst: 1, per: user }\n', 2, 53, 'defaults.rateLimit.per', /"ip"\|"host"/)
  })
  t.test('a missing required key, at the parent map', async (t) => {
    await expectError(t, 'defaults:\n  rateLimit:\n    requestsPerSecond: 5\n', 3, 5, 'defaults.rateLimit.burst', /^missing required key/)
  })
  t.test('a bad IPv4 range', async (t) => {
    await expectError(t, 'hosts:\n  a.localhost:\n    ipAllow:\n      - 127.0.0.0/8\n      - 300.1.1.1/8\n', 5, 9, 'hosts["a.localhost"].ipAllow[1]', /"300\.1\.1\.1\/8" is not an IP address or CIDR range/)
  })
  t.test('an IPv6 prefix that is too long', async (t) => {
    await expectError(t, 'trustedProxies: ["::1/129"]\n', 1, 18, 'trustedProxies[0]', /not an IP address or CIDR range/)
  })
  t.test('an IPv4 prefix that is too long', async (t) => {
    await expectError(t, 'defaults:\n  ipDeny: [10.0.0.0/33]\n', 2, 12, 'defaults.ipDeny[0]', /not an IP address or CIDR range/)
  })
  t.test('a CIDR with a zone index or a non-numeric prefix', async (t) => {
    await expectError(t, 'defaults:\n  ipDeny: ["fe80::1%eth0", "10.0.0.0/x"]\n', 2, 12, 'defaults.ipDeny[0]', /not an IP address or CIDR range/)
  })
  t.test('an empty ipAllow (it would deny everyone)', async (t) => {
    await expectError(t, 'defaults:\n  ipAllow: []\n', 2, 12, 'defaults.ipAllow', /denies every address/)
  })
  t.test('a path pattern without a leading slash', async (t) => {
    await expectError(t, 'defaults:\n  allow: { paths: [public/*] }\n', 2, 20, 'defaults.allow.paths[0]', /starts with "\/"/)
  })
  t.test('a "*" that is not the whole last segment', async (t) => {
    for (const pattern of ['/x/*/y', '/x*', '/x/a*', '**']) {
      await expectError(t, `defaults:\n  allow: { paths: ["${pattern}"] }\n`, 2, 20, 'defaults.allow.paths[0]', /"\*"|starts with/)
    }
  })
  t.test('patterns a normalised path can never equal', async (t) => {
    const cases: Array<[string, RegExp]> = [
      ['/a/../b', /"\." or "\.\." segment/],
      ['/a//b', /empty segment/],
      ['/%2F', /encoded slash/],
      ['/%7e', /write it plainly/],
      ['/%zz', /malformed percent escape/],
      ['/a?b', /"\?"/],
      ['/a b', /space/],
    ]
    for (const [pattern, problem] of cases) await expectError(t, `defaults:\n  allow: { paths: ["${pattern}"] }\n`, 2, 20, 'defaults.allow.paths[0]', problem)
  })
  t.test('a lower-case method', async (t) => {
    await expectError(t, 'defaults:\n  allow: { methods: [GET, post] }\n', 2, 27, 'defaults.allow.methods[1]', /"post" is not an upper-case HTTP method/)
  })
  t.test('jwt with both jwksFile and jwksUrl', async (t) => {
    await expectError(t, 'hosts:\n  a.localhost:\n    auth:\n      jwt: { jwksFile: k.json, jwksUrl: "http://127.0.0.1/k" }\n', 4, 12, 'hosts["a.localhost"].auth.jwt', /only one of jwksFile and jwksUrl/)
  })
  t.test('jwt with neither jwksFile nor jwksUrl', async (t) => {
    await expectError(t, 'hosts:\n  a.localhost:\n    auth:\n      jwt:\n        issuer: me\n', 5, 9, 'hosts["a.localhost"].auth.jwt', /needs one of jwksFile or jwksUrl/)
  })
  t.test('a jwksUrl off the loopback host', async (t) => {
    for (const url of ['https://example.com/jwks', 'http://10.0.0.1/jwks', 'http://127.0.0.1.example.com/jwks', 'ftp://127.0.0.1/jwks', 'http://user:pw@127.0.0.1/jwks', 'not a url']) {
      await expectError(t, `defaults:\n  auth:\n    jwt: { jwksUrl: "${url}" }\n`, 3, 21, 'defaults.auth.jwt.jwksUrl', /loopback/)
    }
  })
  t.test('a jwksUrl on a loopback host is accepted', async (t) => {
    for (const url of ['http://127.0.0.1:8080/jwks', 'https://127.9.9.9/.well-known/jwks.json', 'http://[::1]:9000/k', 'http://localhost/k', 'https://LOCALHOST./k']) {
      const config = parseShieldConfig(`defaults:\n  auth:\n    jwt: { jwksUrl: "${url}" }\n`, 'edge.yaml')
      t.equal(config.defaults?.auth?.jwt?.jwksUrl, url)
    }
  })
  t.test('a jwksFile that cannot be read, at load', async (t) => {
    await expectError(t, 'hosts:\n  a.localhost:\n    auth:\n      jwt:\n        jwksFile: missing.json\n', 5, 19, 'hosts["a.localhost"].auth.jwt.jwksFile', /cannot read .*missing\.json: ENOENT/)
  })
  t.test('a symmetric or "none" JWT algorithm', async (t) => {
    await expectError(t, 'defaults:\n  auth:\n    jwt: { jwksUrl: "http://127.0.0.1/k", algorithms: [ES256, HS256] }\n', 3, 63, 'defaults.auth.jwt.algorithms[1]', /"HS256" is not one of/)
  })
  t.test('an empty auth block', async (t) => {
    await expectError(t, 'defaults:\n  auth: {}\n', 2, 9, 'defaults.auth', /needs at least one of basic, bearer, jwt/)
  })
  t.test('a plain-text password or token', async (t) => {
    await expectError(t, 'defaults:\n  auth:\n    basic: { alice: hunter2 }\n', 3, 21, 'defaults.auth.basic.alice', /not a password hash/)
    await expectError(t, 'defaults:\n  auth:\n    bearer: [s3cret-token]\n', 3, 14, 'defaults.auth.bearer[0]', /never the token itself/)
  })
  t.test('a basic user name with a colon', async (t) => {
    await expectError(t, `defaults:\n  auth:\n    basic: { "a:b": "${PASSWORD_HASH}" }\n`, 3, 14, 'defaults.auth.basic["a:b"]', /without ":"/)
  })
  t.test('an identity header that is not a lower-case token, or that the edge relies on', async (t) => {
    await expectError(t, 'defaults:\n  identityHeader: X-User\n', 2, 19, 'defaults.identityHeader', /not a lower-case header name/)
    await expectError(t, 'defaults:\n  identityHeader: authorization\n', 2, 19, 'defaults.identityHeader', /choose another name/)
  })
  t.test('an origin timeout setTimeout cannot hold', async (t) => {
    await expectError(t, 'defaults:\n  originTimeoutMs: 4294967296\n', 2, 20, 'defaults.originTimeoutMs', /2147483647/)
  })
  t.test('an invalid host key, at the key', async (t) => {
    await expectError(t, 'hosts:\n  "bad_host.localhost": {}\n', 2, 3, 'hosts["bad_host.localhost"]', /not a valid hostname/)
    await expectError(t, 'hosts:\n  "app.localhost:8080": {}\n', 2, 3, 'hosts["app.localhost:8080"]', /no scheme, port/)
  })
  t.test('a wildcard over a single label (routing never matches it)', async (t) => {
    await expectError(t, 'hosts:\n  "*.localhost": {}\n', 2, 3, 'hosts["*.localhost"]', /at least two labels/)
  })
  t.test('two keys that normalise to one host', async (t) => {
    await expectError(t, 'hosts:\n  app.localhost: {}\n  APP.localhost.: {}\n', 3, 3, 'hosts["APP.localhost."]', /same host as "app\.localhost"/)
  })
  t.test('an entry without a value', async (t) => {
    await expectError(t, 'hosts:\n  app.localhost:\n', 2, 3, 'hosts["app.localhost"]', /expected object, received null/)
  })
  t.test('several problems: one line each, in file order', async (t) => {
    const { err, file } = await errorOf(t, 'defaults:\n  maxHeaderCount: 0\n  bogus: 1\n  maxBodyBytes: -1\n')
    t.same(err.message.split('\n').map((line) => line.split(': ').slice(0, 2).join(': ')), [
      `${file}:2:19: defaults.maxHeaderCount`,
      `${file}:3:3: defaults.bogus`,
      `${file}:4:17: defaults.maxBodyBytes`,
    ])
    t.equal(err.issues.length, 3)
  })
  t.test('a YAML syntax error, at its line', async (t) => {
    const { err, file } = await errorOf(t, 'hosts:\n  a.localhost:\n    allow: { methods: [GET }\n    maxBodyBytes: 5\n')
    t.match(err.message.split('\n')[0], new RegExp(`^${escape(file)}:3:\\d+: \\S`))
    t.equal(err.issues[0]?.keyPath, undefined)
  })
  t.test('an alias bomb fails instead of expanding', async (t) => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 8; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`)
    const { err, file } = await errorOf(t, `${levels.join('\n')}\n`)
    t.match(err.message, new RegExp(`^${escape(file)}:1:1: .*alias`, 'i'))
  })
  t.test('a duplicate key, at the second one', async (t) => {
    const { err, file } = await errorOf(t, 'defaults:\n  maxBodyBytes: 1\n  maxBodyBytes: 2\n')
    t.match(err.message, new RegExp(`^${escape(file)}:3:3: Map keys must be unique`))
  })
  t.test('a file that is not a mapping', async (t) => {
    const { err, file } = await errorOf(t, '- a\n- b\n')
    t.equal(err.message, `${file}:1:1: the file must be a YAML mapping (trustedProxies, connectionRateLimit, defaults, hosts)`)
  })
  t.test('an empty file (it must not switch the shield off)', async (t) => {
    const { err, file } = await errorOf(t, '# policies go here\n')
    t.equal(err.message, `${file}:1:1: the file is empty (write {} for a file without policies)`)
  })
  t.test('an unreadable file: file name and reason', async (t) => {
    const dir = await tempDir(t, 'burrow-shield-config-')
    const file = join(dir, 'nope.yaml')
    const err = await loadShieldConfig(file).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ConfigError)
    t.match((err as Error).message, new RegExp(`^${escape(file)}: cannot read the file: ENOENT`))
    t.equal((err as ConfigError).issues[0]?.line, undefined, 'no position for a file that cannot be read')
  })
})

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

// ---------------------------------------------------------------------------------------------------------
// Watcher
// ---------------------------------------------------------------------------------------------------------

interface LogLine { level: number, msg: string, err?: string }

/** A watcher on a real file with a logger whose JSON lines land in `lines`; closed at teardown. */
async function startWatcher (t: Tap, text: string): Promise<{ file: string, watcher: ShieldConfigWatcher, lines: LogLine[], changes: ShieldConfig[] }> {
  const file = await configFile(t, text)
  const lines: LogLine[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } })
  const watcher = new ShieldConfigWatcher(file, logger)
  t.teardown(() => { watcher.close() })
  const changes: ShieldConfig[] = []
  watcher.on('change', (config) => changes.push(config))
  return { file, watcher, lines, changes }
}

const RELOAD_FAILED = 'config reload failed; keeping the previous policies'

/**
 * Resolves with the next 'change', or rejects after `ms`. The timer is ref'd on purpose: the watcher itself
 * (fs.watch with persistent: false, unref'd debounce) does not keep the process alive while we wait.
 */
async function nextChange (watcher: ShieldConfigWatcher, ms = 2_000): Promise<ShieldConfig> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      watcher.off('change', onChange)
      reject(new Error(`no change within ${ms} ms`))
    }, ms)
    const onChange = (config: ShieldConfig): void => { clearTimeout(timer); resolve(config) }
    watcher.once('change', onChange)
  })
}

t.test('#4 watcher: editing the file reloads it and emits change', async (t) => {
  const { file, watcher } = await startWatcher(t, 'hosts:\n  app.localhost: { maxBodyBytes: 1 }\n')
  const initial = await watcher.start()
  t.equal(policyFor(initial, 'app.localhost')?.maxBodyBytes, 1)
  t.equal(watcher.config, initial)

  const changed = nextChange(watcher)
  await writeFile(file, 'hosts:\n  app.localhost: { maxBodyBytes: 2 }\n')
  const config = await changed
  t.equal(policyFor(config, 'app.localhost')?.maxBodyBytes, 2)
  t.equal(watcher.config, config)
})

t.test('#4 watcher: a file replaced by rename (as editors save) is reloaded', async (t) => {
  const { file, watcher } = await startWatcher(t, 'defaults: { maxBodyBytes: 1 }\n')
  await watcher.start()
  const changed = nextChange(watcher)
  const tmp = `${file}.swp`
  await writeFile(tmp, 'defaults: { maxBodyBytes: 3 }\n')
  await rename(tmp, file)
  t.equal((await changed).defaults?.maxBodyBytes, 3)
})

t.test('#4 watcher: an invalid edit keeps the last good config, logs why, and does not emit', async (t) => {
  const { file, watcher, lines, changes } = await startWatcher(t, 'defaults: { maxBodyBytes: 1 }\n')
  const initial = await watcher.start()
  await writeFile(file, 'defaults:\n  maxBodyBytes: many\n')
  await waitFor(() => lines.some((l) => l.msg === RELOAD_FAILED), 3_000)
  const failed = lines.find((l) => l.msg === RELOAD_FAILED)!
  t.equal(failed.level, 50, 'error level')
  t.equal(failed.err, `${file}:2:17: defaults.maxBodyBytes: expected number, received string`)
  t.equal(watcher.config, initial, 'the previous config stays in force')
  t.equal(changes.length, 0)

  // Fixing the file is picked up as usual.
  const changed = nextChange(watcher)
  await writeFile(file, 'defaults: { maxBodyBytes: 4 }\n')
  t.equal((await changed).defaults?.maxBodyBytes, 4)
})

t.test('#4 watcher: reload() re-reads the file on demand (SIGHUP)', async (t) => {
  const { file, watcher, lines, changes } = await startWatcher(t, 'defaults: { maxBodyBytes: 1 }\n')
  await watcher.start()
  await writeFile(file, 'defaults: { maxBodyBytes: 5 }\n')
  t.equal(await watcher.reload(), true)
  t.equal(watcher.config?.defaults?.maxBodyBytes, 5)
  t.equal(changes[0]?.defaults?.maxBodyBytes, 5, 'change emitted with the new config')

  await writeFile(file, 'defaults: [\n')
  t.equal(await watcher.reload(), false)
  t.equal(watcher.config?.defaults?.maxBodyBytes, 5, 'the previous config stays in force')
  t.match(lines.find((l) => l.msg === RELOAD_FAILED)?.err, new RegExp(`^${escape(file)}:\\d+:\\d+: `))
})

t.test('#4 watcher: a change listener that throws neither fails the reload nor escapes', async (t) => {
  const { file, watcher, lines } = await startWatcher(t, 'defaults: { maxBodyBytes: 1 }\n')
  await watcher.start()
  watcher.on('change', () => { throw new Error('listener bug') })
  await writeFile(file, 'defaults: { maxBodyBytes: 2 }\n')
  t.equal(await watcher.reload(), true)
  t.equal(watcher.config?.defaults?.maxBodyBytes, 2)
  t.ok(lines.some((l) => l.level === 50 && l.msg === 'a config change listener threw'))
})

t.test('#4 anchors and aliases: a reused block applies, and an error inside it points at the anchor', async (t) => {
  const config = parseShieldConfig('hosts:\n  a.localhost: &strict { maxBodyBytes: 7 }\n  b.localhost: *strict\n', 'edge.yaml')
  t.equal(policyFor(config, 'b.localhost')?.maxBodyBytes, 7)
  const { err, file } = await errorOf(t, 'hosts:\n  a.localhost: &strict { maxBodyBytes: 7 }\n  b.localhost: *strict\nbase: &x { maxBodyBytes: -1 }\ndefaults: *x\n')
  t.match(err.message, `${file}:4:1: base: unknown key`)
  t.match(err.message, `${file}:4:26: defaults.maxBodyBytes: `)
})

t.test('#4 watcher: close() stops watching and is idempotent', async (t) => {
  const { file, watcher, changes } = await startWatcher(t, 'defaults: { maxBodyBytes: 1 }\n')
  const initial = await watcher.start()
  watcher.close()
  watcher.close()
  await writeFile(file, 'defaults: { maxBodyBytes: 6 }\n')
  t.equal(await watcher.reload(), false, 'a closed watcher does not reload')
  // Four debounce periods: a watcher still running would have reloaded by then.
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(changes.length, 0)
  t.equal(watcher.config, initial)
})

t.test('#4 watcher: start() on an invalid file throws ConfigError and watches nothing', async (t) => {
  const { file, watcher, changes } = await startWatcher(t, 'defaults: { maxBodyBytes: x }\n')
  await t.rejects(watcher.start(), { name: 'ConfigError', message: `${file}:1:27: defaults.maxBodyBytes: expected number, received string` })
  t.equal(watcher.config, undefined)
  await writeFile(file, 'defaults: { maxBodyBytes: 6 }\n')
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(changes.length, 0)
})
