// Hostname normalisation (SPEC.md §4.3) and the routing key of a visitor Host (SPEC.md §5.1).
import t from 'tap'
import fc from 'fast-check'
import { normaliseHostname, normaliseRegisteredHostname, routingKeyOfHost, wildcardKeyOf } from '../../src/protocol/hostname.js'

const label63 = 'a'.repeat(63)

t.test('normaliseHostname: lower-case, trailing dot and port removed (SPEC.md §4.3 steps 1-3)', async (t) => {
  const cases: Array<[string, string]> = [
    ['app.localhost', 'app.localhost'],
    ['App.LocalHost', 'app.localhost'],
    ['app.localhost.', 'app.localhost'],
    ['app.localhost:8080', 'app.localhost'],
    ['APP.localhost.:443', 'app.localhost'],
    ['localhost', 'localhost'],
    ['a-b.c-d.example', 'a-b.c-d.example'],
    ['123.example', '123.example'],
    [`${label63}.localhost`, `${label63}.localhost`],
  ]
  for (const [input, expected] of cases) t.equal(normaliseHostname(input), expected, JSON.stringify(input))
})

t.test('normaliseHostname: internationalised names become punycode A-labels (SPEC.md §4.3 step 4)', async (t) => {
  t.equal(normaliseHostname('bücher.localhost'), 'xn--bcher-kva.localhost')
  t.equal(normaliseHostname('BÜCHER.localhost'), 'xn--bcher-kva.localhost', 'upper-case IDN is lower-cased first')
  t.equal(normaliseHostname('bücher.localhost.:8080'), 'xn--bcher-kva.localhost', 'with trailing dot and port')
  t.equal(normaliseHostname('xn--bcher-kva.localhost'), 'xn--bcher-kva.localhost', 'an A-label is kept as is')
  t.equal(normaliseHostname('日本.example'), 'xn--wgv71a.example')
})

t.test('normaliseHostname: the length limits are 253 for the name and 63 per label', async (t) => {
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters.
  const name253 = [label63, label63, label63, 'b'.repeat(61)].join('.')
  t.equal(name253.length, 253)
  t.equal(normaliseHostname(name253), name253, '253 characters is valid')
  t.equal(normaliseHostname(name253 + '.'), name253, '253 characters plus a trailing dot is valid')
  t.equal(normaliseHostname(name253 + 'b'), undefined, '254 characters is invalid')
  t.equal(normaliseHostname([label63, label63, label63, label63].join('.')), undefined, '255 characters is invalid')
  t.equal(normaliseHostname(`${'a'.repeat(64)}.localhost`), undefined, 'a 64-character label is invalid')
})

t.test('normaliseHostname: invalid names give undefined (SPEC.md §4.3)', async (t) => {
  const invalid = [
    '',
    '.',
    ':8080',
    'a..b',
    '.app.localhost',
    '-app.localhost',
    'app-.localhost',
    'app.-localhost',
    'app_1.localhost',
    'my app.localhost',
    'app.localhost/path',
    'user@app.localhost',
    'app.localhost:http',
    '[::1]',
    '*.localhost',
    'app.localhost..',
  ]
  for (const input of invalid) t.equal(normaliseHostname(input), undefined, JSON.stringify(input))
})

t.test('routingKeyOfHost: lower-cased, port and trailing dot removed (SPEC.md §5.1)', async (t) => {
  const cases: Array<[string, string]> = [
    ['App.Localhost:8080', 'app.localhost'],
    ['app.localhost', 'app.localhost'],
    ['app.localhost.', 'app.localhost'],
    ['app.localhost.:8080', 'app.localhost'],
    ['APP.LOCALHOST:1', 'app.localhost'],
    ['xn--bcher-kva.localhost', 'xn--bcher-kva.localhost'],
  ]
  for (const [host, expected] of cases) t.equal(routingKeyOfHost(host), expected, JSON.stringify(host))
})

t.test('routingKeyOfHost: a Host that cannot name a tunnel gives undefined', async (t) => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'no Host header'],
    ['', 'empty'],
    ['[::1]', 'IPv6 literal'],
    ['[::1]:8080', 'IPv6 literal with port'],
    ['user@app.localhost', 'userinfo'],
    ['user:pw@app.localhost:8080', 'userinfo with password'],
    ['app.localhost:', 'empty port'],
    ['app.localhost:http', 'non-numeric port'],
    ['app.localhost:123456', 'six-digit port'],
    ['app.localhost:80:80', 'two ports'],
    [':8080', 'port only'],
    ['.', 'a lone dot'],
    ['app.localhost/x', 'path'],
    ['app localhost', 'space'],
    ['a'.repeat(261), 'longer than any hostname'],
  ]
  for (const [host, why] of cases) t.equal(routingKeyOfHost(host), undefined, why)
})

t.test('property: for a valid ASCII name, the routing key of any spelling equals the registered form', async (t) => {
  // SPEC.md §4.3: the edge normalises both Register hostnames and visitor Hosts the same way, so a
  // visitor's Host in any case, with or without a trailing dot or port, reaches the registered name.
  const labelArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/)
  const hostArb = fc.record({
    labels: fc.array(labelArb, { minLength: 1, maxLength: 4 }),
    upper: fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
    dot: fc.boolean(),
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  })
  const out = fc.check(fc.property(hostArb, ({ labels, upper, dot, port }) => {
    const name = labels.join('.')
    const spelled = [...name].map((c, i) => (upper[i % upper.length] === true ? c.toUpperCase() : c)).join('') +
      (dot ? '.' : '') + (port === undefined ? '' : `:${port}`)
    return normaliseHostname(spelled) === name && routingKeyOfHost(spelled) === name
  }), { numRuns: 300, interruptAfterTimeLimit: 5_000 })
  t.equal(out.failed, false, out.failed ? (fc.defaultReportMessage(out) ?? 'failed') : `${out.numRuns} spellings agree`)
})

t.test('§4.3 the length limit applies to the normalised (punycode) name, not the Unicode input', async (t) => {
  // 7 labels of 15 Japanese characters: 111 characters as typed, 321 once each label is punycode.
  const label = '日本語のドメイン名前ですよ例え'
  const unicode = Array(7).fill(label).join('.')
  t.ok(unicode.length <= 253, 'the Unicode spelling is within 253 characters')
  t.equal(normaliseHostname(unicode), undefined)
  // One such label is fine.
  t.match(normaliseHostname(`${label}.localhost`), /^xn--[a-z0-9-]+\.localhost$/)
})

t.test('§4.4 normaliseRegisteredHostname: plain names as normaliseHostname, one leading "*." label kept', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['App.Localhost.', 'app.localhost'],
    ['  app.localhost  ', 'app.localhost'],
    ['localhost', 'localhost'],
    ['bücher.localhost', 'xn--bcher-kva.localhost'],
    ['*.acme.localhost', '*.acme.localhost'],
    ['*.ACME.Localhost.', '*.acme.localhost'],
    [' *.acme.localhost ', '*.acme.localhost'],
    ['*.bücher.localhost', '*.xn--bcher-kva.localhost'],
    ['*.a.b.c.localhost', '*.a.b.c.localhost'],
  ]
  for (const [input, expected] of cases) t.equal(normaliseRegisteredHostname(input), expected, JSON.stringify(input))
})

t.test('§4.4 normaliseRegisteredHostname: a "*" anywhere but one leading label, or a one-label base, is invalid', async (t) => {
  const invalid: Array<[string, string]> = [
    ['*', 'a lone star'],
    ['*.', 'a star and a dot'],
    ['*.localhost', 'the base has one label'],
    ['*.localhost.', 'the base has one label (trailing dot)'],
    ['*.*.acme.localhost', 'two star labels'],
    ['a.*.localhost', 'a star label not in front'],
    ['**.acme.localhost', 'a double star'],
    ['*a.acme.localhost', 'a star inside a label'],
    ['a*.acme.localhost', 'a star at the end of a label'],
    ['*acme.localhost', 'no dot after the star'],
    ['*.-acme.localhost', 'the base is invalid'],
    ['*..acme.localhost', 'an empty label after the star'],
    ['.*.acme.localhost', 'a leading dot'],
    ['', 'empty'],
  ]
  for (const [input, why] of invalid) t.equal(normaliseRegisteredHostname(input), undefined, `${JSON.stringify(input)}: ${why}`)
})

t.test('§4.4 a wildcard name, "*." included, is at most 253 characters', async (t) => {
  const base251 = [label63, label63, label63, 'b'.repeat(59)].join('.')
  t.equal(base251.length, 251)
  t.equal(normaliseRegisteredHostname(`*.${base251}`), `*.${base251}`, '2 + 251 = 253 characters is valid')
  t.equal(normaliseHostname(`${base251}b`), `${base251}b`, 'the 252-character base alone is a valid name')
  t.equal(normaliseRegisteredHostname(`*.${base251}b`), undefined, '2 + 252 = 254 characters is invalid')
})

t.test('§4.3 wildcardKeyOf: the wildcard registration one label up, for names of three or more labels', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['a.acme.localhost', '*.acme.localhost'],
    ['x.y.acme.localhost', '*.y.acme.localhost'],
    ['xn--bcher-kva.acme.localhost', '*.acme.localhost'],
    ['acme.localhost', undefined],
    ['localhost', undefined],
    ['', undefined],
    ['.acme.localhost', undefined],
  ]
  for (const [host, expected] of cases) t.equal(wildcardKeyOf(host), expected, JSON.stringify(host))
})

t.test('§4.3 property: a visitor one label below X finds the key "*.X", which is a valid registered name', async (t) => {
  const labelArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/)
  const out = fc.check(fc.property(labelArb, fc.array(labelArb, { minLength: 2, maxLength: 4 }), (first, rest) => {
    const base = rest.join('.')
    const key = wildcardKeyOf(`${first}.${base}`)
    return key === `*.${base}` && normaliseRegisteredHostname(key) === key
  }), { numRuns: 300, interruptAfterTimeLimit: 5_000 })
  t.equal(out.failed, false, out.failed ? (fc.defaultReportMessage(out) ?? 'failed') : `${out.numRuns} names map to their wildcard`)
})
