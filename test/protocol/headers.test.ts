// Header rules shared by the edge and the agent (SPEC.md §5.3.1, §5.3.2, §5.4, §5.5).
import t from 'tap'
import {
  HOP_BY_HOP,
  connectionListedNames,
  isBurrowHeader,
  isHopByHop,
  isValidHeaderName,
  isValidHeaderValue,
} from '../../src/protocol/headers.js'

t.test('isHopByHop: every connection-level header of SPEC.md §5.3.1 is hop-by-hop', async (t) => {
  const listed = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']
  for (const name of listed) {
    t.ok(HOP_BY_HOP.has(name), `${name} is in HOP_BY_HOP`)
    t.equal(isHopByHop(name, undefined), true, name)
  }
  t.same([...HOP_BY_HOP].sort(), [...listed].sort(), 'HOP_BY_HOP holds exactly these names')
})

t.test('isHopByHop: every proxy-* header is hop-by-hop', async (t) => {
  for (const name of ['proxy-authorization', 'proxy-authenticate', 'proxy-x', 'proxy-']) {
    t.equal(isHopByHop(name, undefined), true, name)
  }
  for (const name of ['proxy', 'x-proxy-id', 'proxyauthorization']) {
    t.equal(isHopByHop(name, undefined), false, `${name} is not proxy-*`)
  }
})

t.test('isHopByHop: end-to-end headers pass unless the Connection header lists them', async (t) => {
  for (const name of ['content-type', 'content-length', 'cookie', 'x-forwarded-for', 'accept', 'trailer']) {
    t.equal(isHopByHop(name, undefined), false, name)
  }
  const listed = connectionListedNames('x-custom, Keep-Alive')
  t.equal(isHopByHop('x-custom', listed), true, 'a name listed in Connection')
  t.equal(isHopByHop('x-other', listed), false, 'a name not listed')
  t.equal(isHopByHop('upgrade', listed), true, 'the fixed list still applies with a Connection list')
})

t.test('connectionListedNames: parses comma lists, lower-cases, ignores keep-alive and close', async (t) => {
  t.equal(connectionListedNames(undefined), undefined, 'no Connection header')
  t.equal(connectionListedNames(''), undefined, 'empty value')
  t.equal(connectionListedNames('keep-alive'), undefined, 'keep-alive only')
  t.equal(connectionListedNames('close'), undefined, 'close only')
  t.equal(connectionListedNames(' Keep-Alive , CLOSE ,, '), undefined, 'keep-alive/close in any case with blanks')
  t.same(connectionListedNames('X-Foo'), new Set(['x-foo']))
  t.same(connectionListedNames('keep-alive, X-Foo,x-bar , ,Upgrade'), new Set(['x-foo', 'x-bar', 'upgrade']))
  t.same(connectionListedNames(['x-a', 'X-B, close']), new Set(['x-a', 'x-b']), 'a repeated Connection header (array)')
  t.equal(connectionListedNames(['keep-alive', 'close']), undefined, 'an array of only keep-alive/close')
  t.same(connectionListedNames([]), undefined, 'an empty array')
})

t.test('isValidHeaderName: lower-case RFC 9110 tokens only (SPEC.md §5.3.2)', async (t) => {
  const valid = ['content-type', 'x-forwarded-for', 'a', '0', "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"]
  for (const name of valid) t.equal(isValidHeaderName(name), true, JSON.stringify(name))
  const invalid = ['', 'Content-Type', 'X', 'a b', 'a:b', ':path', 'a\tb', 'x\r\n', 'x\n', 'é', '(x)', 'a,b', 'a;b', 'a"b', 'a/b', 'a@b', 'a=b', '{}', '\u0000']
  for (const name of invalid) t.equal(isValidHeaderName(name), false, JSON.stringify(name))
})

t.test('isValidHeaderValue: HTAB, 0x20-0x7E and 0x80-0xFF only (SPEC.md §5.3.2)', async (t) => {
  const valid = ['', 'text/html; charset=utf-8', 'a\tb', ' ', '~', 'caf\u00e9', '\u0080\u00ff', '"quoted", (comment)']
  for (const value of valid) t.equal(isValidHeaderValue(value), true, JSON.stringify(value))
  const invalid = ['a\r\nb', 'a\nb', 'a\rb', '\u0000', 'x\u0001', '\u001f', '\u007f', '\u0100', '€', '日本', '\ud83d\ude00']
  for (const value of invalid) t.equal(isValidHeaderValue(value), false, JSON.stringify(value))
})

t.test('isBurrowHeader: the burrow- namespace (SPEC.md §5.3.1, §7.4)', async (t) => {
  for (const name of ['burrow-error', 'burrow-request-id', 'burrow-stream-type', 'burrow-response-source', 'burrow-', 'burrow-x-anything']) {
    t.equal(isBurrowHeader(name), true, name)
  }
  for (const name of ['burrow', 'burrowerror', 'x-burrow-error', 'b', '', 'content-type', 'borrow-error']) {
    t.equal(isBurrowHeader(name), false, JSON.stringify(name))
  }
})
