// Path normalisation for the shield's route allow-list (issue #4 design "Path normalisation";
// research/reliability.md §1.8). The path returned is both what the allow-list checks and what the
// edge forwards, so every traversal trick must either be refused (undefined → 400) or come out as
// the path an origin would really serve.
import t from 'tap'
import fc from 'fast-check'
import { normaliseTarget } from '../../src/edge/shield/paths.js'

/** A test name for a target: quoted, with anything outside printable ASCII escaped (TAP is line-based). */
function show (s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
}

t.test('#4 already-normal targets are split at the first "?" and returned unchanged', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['/', '/', ''],
    ['/health', '/health', ''],
    ['/public/', '/public/', ''],
    ['/public/a/b.css', '/public/a/b.css', ''],
    ['/a.b/c..d/...', '/a.b/c..d/...', ''],
    ['/search?q=1', '/search', '?q=1'],
    ['/?', '/', '?'],
    ['/p?a=1?b=2', '/p', '?a=1?b=2'],
    ['/~user/:@!$&\'()*+,;=', '/~user/:@!$&\'()*+,;=', ''],
  ]
  for (const [target, path, query] of cases) t.same(normaliseTarget(target), { path, query }, show(target))
})

t.test('#4 the query is preserved untouched: not decoded, not normalised, not used for the path', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['/a?x=%2e%2e/../%2F%5c%zz', '/a', '?x=%2e%2e/../%2F%5c%zz'],
    ['/a/../b?%7e=%c3%a9', '/b', '?%7e=%c3%a9'],
    ['/admin?x=/public/', '/admin', '?x=/public/'],
    ['/public/%2e%2e/admin?next=/public/', '/admin', '?next=/public/'],
    ['/a?b#frag\\', '/a', '?b#frag\\'],
  ]
  for (const [target, path, query] of cases) t.same(normaliseTarget(target), { path, query }, show(target))
  t.equal(normaliseTarget('/a?b c'), undefined, 'a space in the query is still refused')
  t.equal(normaliseTarget('/a?b\u0000'), undefined, 'a NUL in the query is still refused')
})

t.test('#4 traversal tricks resolve to the path the origin would serve (checked and forwarded as such)', async (t) => {
  const cases: Array<[string, string]> = [
    ['/public/../admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/%2E%2E/admin', '/admin'],
    ['/public/.%2e/admin', '/admin'],
    ['/public/%2e./admin', '/admin'],
    ['/public/%2e/admin', '/public/admin'],
    ['//admin', '/admin'],
    ['///admin//x', '/admin/x'],
    ['/public//../admin', '/admin'],
    ['/public/./../admin', '/admin'],
    ['/public/a/b/../../../admin', '/admin'],
    ['/../../../admin', '/admin'],
    ['/..', '/'],
    ['/.', '/'],
    ['/public/..', '/'],
    ['/public/.', '/public/'],
    ['/public/x/..', '/public/'],
    ['/public/x/../', '/public/'],
    ['/public/./x', '/public/x'],
    ['/public//', '/public/'],
    ['/public/x/.%2e/%2E./y', '/y'],
    ['/public/x/..%2E/y', '/public/x/.../y'],
  ]
  for (const [target, path] of cases) t.same(normaliseTarget(target), { path, query: '' }, show(target))
})

t.test('#4 encoded slashes, backslashes, fragments and Tomcat ".." path parameters are refused', async (t) => {
  const refused = [
    '/public/%2E%2E%2fadmin',
    '/public/..%2fadmin',
    '/public/..%2Fadmin',
    '/public%2f..%2fadmin',
    '/public\\..\\admin',
    '/public/%5c..%5cadmin',
    '/public/%5C..%5Cadmin',
    '/public/..\\admin',
    '/public/..;/admin',
    '/public/%2e%2e;/admin',
    '/public/.;/admin',
    '/public/..;jsessionid=1/admin',
    '/public/x#/../../admin',
    '/a#frag',
  ]
  for (const target of refused) t.equal(normaliseTarget(target), undefined, show(target))
})

t.test('#4 ";" is an ordinary character: nothing is stripped before or after dot-segment removal', async (t) => {
  const cases: Array<[string, string]> = [
    ['/public;/../admin', '/admin'],
    ['/admin;/public/', '/admin;/public/'],
    ['/public/a;b=c/d', '/public/a;b=c/d'],
    ['/public/...;/x', '/public/...;/x'],
    ['/public/;/../admin', '/public/admin'],
    ['/public/x;/..', '/public/'],
  ]
  for (const [target, path] of cases) t.same(normaliseTarget(target), { path, query: '' }, show(target))
})

t.test('#4 double encoding is decoded at most once and never becomes a dot-segment', async (t) => {
  const cases: Array<[string, string]> = [
    ['/public/%252e%252e/admin', '/public/%252e%252e/admin'],
    ['/public/%252E%252E/admin', '/public/%252E%252E/admin'],
    ['/public/%25%32%65', '/public/%252e'],
    ['/public/%252f', '/public/%252f'],
    ['/a%25', '/a%25'],
  ]
  for (const [target, path] of cases) t.same(normaliseTarget(target), { path, query: '' }, show(target))
})

t.test('#4 unreserved escapes are decoded, every other escape gets upper-case hex', async (t) => {
  const cases: Array<[string, string]> = [
    ['/%7Euser', '/~user'],
    ['/%7euser', '/~user'],
    ['/%41%62%30%2D%2e%5F%7E', '/Ab0-._~'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['/a%20b', '/a%20b'],
    ['/a%3fb', '/a%3Fb'],
    ['/a%23b', '/a%23b'],
    ['/a%3b/..', '/'],
    ['/%ff%80', '/%FF%80'],
    ['/%0a', '/%0A'],
  ]
  for (const [target, path] of cases) t.same(normaliseTarget(target), { path, query: '' }, show(target))
})

t.test('#4 NUL, control characters, spaces, raw non-ASCII and malformed escapes are refused', async (t) => {
  const refused = [
    '',
    'admin',
    '*',
    '?a=1',
    'http://host/public/../admin',
    '/a\u0000b',
    '/public%00/../admin',
    '/a%00',
    '/a\tb',
    '/a\r\nb',
    '/a\u007fb',
    '/a b',
    '/caf\u00e9',
    '/\u2028',
    '/a%zz',
    '/a%2',
    '/a%',
    '/a%%41',
    '/a%g0',
    '/a%0g',
  ]
  for (const target of refused) t.equal(normaliseTarget(target), undefined, show(target))
})

/**
 * Paths built from the characters and escapes that matter to normalisation: mostly pieces that are
 * rewritten (dots, slashes, escapes), sometimes one that makes the target refused.
 */
const rewritten = fc.constantFrom(
  '/', '//', '.', '..', '/./', '/../', 'a', 'B', '0', '~', '-', '_', ';', ':', '@', '=', '%2e', '%2E', '%7e', '%41', '%c3',
  '%25', '%252e', '%3b', '%3F', '?'
)
const refusing = fc.constantFrom('%2f', '%5c', '%00', '%zz', '%', '\\', '#', ' ', 'é', '\u0000')
const pathPiece = fc.oneof({ arbitrary: rewritten, weight: 12 }, { arbitrary: refusing, weight: 1 })
const target = fc.array(pathPiece, { maxLength: 16 }).map((pieces) => '/' + pieces.join(''))

t.test('#4 property: the output is final (idempotent) and free of //, dot-segments and unreserved escapes', async (t) => {
  let rewrote = 0
  fc.assert(fc.property(target, (input) => {
    const out = normaliseTarget(input)
    if (out === undefined) return true
    if (out.path + out.query !== input) rewrote++
    const { path, query } = out
    if (!path.startsWith('/')) return false
    if (path.includes('//') || path.includes('/./') || path.includes('/../')) return false
    if (path.endsWith('/.') || path.endsWith('/..')) return false
    if (/%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DEde]|5[Ff]|7[Ee])/.test(path)) return false
    if (/%(?:[a-f][0-9A-Fa-f]|[0-9A-F][a-f])/.test(path)) return false
    const again = normaliseTarget(path + query)
    return again !== undefined && again.path === path && again.query === query
  }), { numRuns: 5000, interruptAfterTimeLimit: 10_000 })
  t.ok(rewrote > 1000, `the property was exercised on ${rewrote} rewritten targets`)
})

t.test('#4 property: a path that needs no rewriting comes back as it went in', async (t) => {
  const safe = fc.array(fc.constantFrom('/', 'a', 'Z', '9', '-', '_', '~', ';', ':', '@', '.x', 'x.'), { maxLength: 20 })
    .map((pieces) => '/' + pieces.join(''))
    .filter((p) => !p.includes('//') && !p.includes('/.'))
  fc.assert(fc.property(safe, (input) => normaliseTarget(input)?.path === input), { numRuns: 2000, interruptAfterTimeLimit: 10_000 })
  t.pass('2000 generated paths')
})
