// Client IP, trusted proxies and CIDR lists (issue #4 design, request evaluation step 2;
// research/reliability.md §1.5): X-Forwarded-For is read only behind a trusted proxy, from the
// right, and a visitor-supplied value never decides its own address.
import t from 'tap'
import { BlockList } from 'node:net'
import { buildBlockList, canonicalIp, clientIp, ipAllowed, rateKeyIp } from '../../src/edge/shield/client-ip.js'

t.test('#4 canonicalIp: one text form per address; anything else is not an address', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['10.1.2.3', '10.1.2.3'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['0:0:0:0:0:ffff:10.1.2.3', '10.1.2.3'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['::10.1.2.3', '::a01:203'],
    ['', undefined],
    ['unknown', undefined],
    ['10.1.2.3:80', undefined],
    ['[::1]', undefined],
    ['[::1]:80', undefined],
    [' 10.1.2.3', undefined],
    ['010.1.2.3', undefined],
    ['10.1.2', undefined],
    ['256.1.2.3', undefined],
    ['::ffff:999.1.2.3', undefined],
  ]
  for (const [input, expected] of cases) t.equal(canonicalIp(input), expected, JSON.stringify(input))
})

t.test('#4 buildBlockList: CIDRs and single addresses, v4 and v6', async (t) => {
  const list = buildBlockList(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', '172.16.5.4/12'])
  const cases: Array<[string, 'ipv4' | 'ipv6', boolean]> = [
    ['10.0.0.0', 'ipv4', true],
    ['10.255.255.255', 'ipv4', true],
    ['11.0.0.1', 'ipv4', false],
    ['192.168.1.7', 'ipv4', true],
    ['192.168.1.8', 'ipv4', false],
    ['172.31.255.255', 'ipv4', true],
    ['172.32.0.0', 'ipv4', false],
    ['2001:db8:ffff::1', 'ipv6', true],
    ['2001:db9::1', 'ipv6', false],
    ['::1', 'ipv6', true],
    ['::2', 'ipv6', false],
  ]
  for (const [ip, type, expected] of cases) t.equal(list.check(ip, type), expected, ip)
})

t.test('#4 buildBlockList: an IPv4 range matches IPv4-mapped IPv6, and a mapped range matches IPv4 (Node 20 BlockList)', async (t) => {
  const v4 = buildBlockList(['10.0.0.0/8'])
  t.equal(v4.check('::ffff:10.1.2.3', 'ipv6'), true, 'dotted mapped form')
  t.equal(v4.check('::ffff:a01:203', 'ipv6'), true, 'hex mapped form')
  t.equal(v4.check('::ffff:11.1.2.3', 'ipv6'), false)
  t.equal(v4.check('::a01:203', 'ipv6'), false, 'the deprecated IPv4-compatible form is not mapped')
  const mapped = buildBlockList(['::ffff:10.0.0.0/104'])
  t.equal(mapped.check('10.1.2.3', 'ipv4'), true)
  t.equal(mapped.check('11.1.2.3', 'ipv4'), false)
})

t.test('#4 buildBlockList refuses entries that are not an address or CIDR, naming the entry', async (t) => {
  const bad = ['', 'localhost', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.0/08x', '::/129',
    ' 10.0.0.0/8', '10.0.0.0 /8', '[::1]/128', 'fe80::1%eth0/64', '10.0.0.0/1e1', '10.0.0.0/0x8']
  for (const entry of bad) {
    t.throws(() => buildBlockList([entry]), { name: 'TypeError', message: JSON.stringify(entry) }, JSON.stringify(entry))
  }
  t.doesNotThrow(() => buildBlockList([]), 'an empty list is valid and matches nothing')
  t.equal(buildBlockList([]).check('1.2.3.4'), false)
})

t.test('#4 clientIp: an untrusted peer is the client, whatever X-Forwarded-For says', async (t) => {
  const trusted = buildBlockList(['10.0.0.0/8'])
  const cases: Array<[string, string | string[] | undefined, BlockList | undefined, string]> = [
    ['203.0.113.7', '10.0.0.1', undefined, '203.0.113.7'],
    ['203.0.113.7', '10.0.0.1', trusted, '203.0.113.7'],
    ['203.0.113.7', ['1.1.1.1', '10.0.0.1'], trusted, '203.0.113.7'],
    ['::ffff:203.0.113.7', '10.0.0.1', trusted, '203.0.113.7'],
    ['2001:db8::7', '10.0.0.1', trusted, '2001:db8::7'],
    ['10.0.0.5', '1.1.1.1', undefined, '10.0.0.5'],
  ]
  for (const [peer, xff, list, expected] of cases) {
    t.equal(clientIp(peer, xff, list), expected, `${peer} with ${JSON.stringify(xff)}${list === undefined ? ' (no trusted proxies)' : ''}`)
  }
  t.equal(clientIp(undefined, '1.1.1.1', trusted), undefined, 'a closed socket has no client IP')
  t.equal(clientIp('not-an-ip', undefined, trusted), undefined)
})

t.test('#4 clientIp: behind trusted proxies, X-Forwarded-For is walked from the right', async (t) => {
  const trusted = buildBlockList(['10.0.0.0/8', '2001:db8:ffff::/48'])
  const cases: Array<[string, string | string[] | undefined, string, string]> = [
    ['10.0.0.1', '203.0.113.7', '203.0.113.7', 'one trusted proxy'],
    ['10.0.0.1', '6.6.6.6, 203.0.113.7', '203.0.113.7', 'a spoofed left part is never reached'],
    ['10.0.0.1', '203.0.113.7, 10.0.0.2, 10.0.0.3', '203.0.113.7', 'a chain of trusted proxies is skipped'],
    ['10.0.0.1', '6.6.6.6,203.0.113.7 ,\t10.9.9.9', '203.0.113.7', 'whitespace around entries'],
    ['10.0.0.1', ['6.6.6.6', '203.0.113.7, 10.0.0.2'], '203.0.113.7', 'header lines joined in order'],
    ['10.0.0.1', ['6.6.6.6, 203.0.113.7', '10.0.0.2'], '203.0.113.7', 'header lines joined in order (split differently)'],
    ['10.0.0.1', '10.0.0.7, 10.0.0.8', '10.0.0.7', 'all trusted: the leftmost hop'],
    ['10.0.0.1', undefined, '10.0.0.1', 'no header: the trusted peer itself'],
    ['10.0.0.1', '', '10.0.0.1', 'an empty header: the trusted peer itself'],
    ['10.0.0.1', [], '10.0.0.1', 'no header lines'],
    ['10.0.0.1', '203.0.113.7,, 10.0.0.2,', '203.0.113.7', 'empty entries are skipped'],
    ['::ffff:10.0.0.1', '::ffff:203.0.113.7', '203.0.113.7', 'mapped peer and mapped entry'],
    ['10.0.0.1', '2001:DB8::7', '2001:db8::7', 'IPv6 client, canonical'],
    ['2001:db8:ffff::1', '203.0.113.7, 2001:db8:ffff::2', '203.0.113.7', 'IPv6 proxies'],
    ['10.0.0.1', '::ffff:10.0.0.9, 10.0.0.2', '10.0.0.9', 'a mapped trusted entry is trusted: all trusted'],
  ]
  for (const [peer, xff, expected, what] of cases) t.equal(clientIp(peer, xff, trusted), expected, what)
})

t.test('#4 clientIp: an invalid entry stops the walk at the last valid hop (nginx realip rule)', async (t) => {
  const trusted = buildBlockList(['10.0.0.0/8'])
  const cases: Array<[string | string[], string, string]> = [
    ['203.0.113.7, unknown', '10.0.0.1', 'junk right of the client: the peer'],
    ['203.0.113.7, junk, 10.0.0.2', '10.0.0.2', 'junk between proxies: the trusted hop right of it'],
    ['junk, 203.0.113.7', '203.0.113.7', 'junk left of an untrusted hop is never reached'],
    ['203.0.113.7:4711, 10.0.0.2', '10.0.0.2', 'a port makes an entry invalid'],
    ['[2001:db8::7], 10.0.0.2', '10.0.0.2', 'brackets make an entry invalid'],
    ['for=203.0.113.7', '10.0.0.1', 'Forwarded syntax is not X-Forwarded-For'],
    [['203.0.113.7', 'unknown'], '10.0.0.1', 'across header lines'],
  ]
  for (const [xff, expected, what] of cases) t.equal(clientIp('10.0.0.1', xff, trusted), expected, what)
})

t.test('#4 ipAllowed: deny wins, an allow list must match, unknown addresses fail closed', async (t) => {
  const allow = buildBlockList(['127.0.0.0/8', '::1/128'])
  const deny = buildBlockList(['127.0.0.2/32'])
  const cases: Array<[string | undefined, BlockList | undefined, BlockList | undefined, boolean, string]> = [
    ['127.0.0.1', allow, deny, true, 'in allow, not denied'],
    ['127.0.0.2', allow, deny, false, 'deny wins over allow'],
    ['10.0.0.1', allow, deny, false, 'not in allow'],
    ['::1', allow, deny, true, 'IPv6 in allow'],
    ['::2', allow, deny, false, 'IPv6 not in allow'],
    ['::ffff:127.0.0.1', allow, deny, true, 'mapped form of an allowed v4 address'],
    ['::ffff:127.0.0.2', allow, deny, false, 'mapped form of a denied v4 address'],
    ['10.0.0.1', undefined, undefined, true, 'no lists: allowed'],
    ['10.0.0.1', undefined, deny, true, 'deny only, not denied'],
    ['127.0.0.2', undefined, deny, false, 'deny only, denied'],
    ['127.0.0.1', allow, undefined, true, 'allow only, allowed'],
    [undefined, undefined, undefined, true, 'unknown IP, no lists'],
    [undefined, undefined, deny, false, 'unknown IP with a deny list'],
    [undefined, allow, undefined, false, 'unknown IP with an allow list'],
    ['', undefined, deny, false, 'empty string with a deny list'],
    ['junk', allow, undefined, false, 'invalid IP with an allow list'],
  ]
  for (const [ip, a, d, expected, what] of cases) t.equal(ipAllowed(ip, a, d), expected, what)
})

t.test('#4 a spoofed X-Forwarded-For never grants access; a trusted proxy chain does', async (t) => {
  const trusted = buildBlockList(['10.0.0.0/8'])
  const allow = buildBlockList(['192.0.2.0/24'])
  const spoofed = clientIp('203.0.113.7', '192.0.2.1', trusted)
  t.equal(ipAllowed(spoofed, allow), false, 'a direct visitor claiming an allowed address')
  const spoofedBehindProxy = clientIp('10.0.0.1', '192.0.2.1, 203.0.113.7', trusted)
  t.equal(ipAllowed(spoofedBehindProxy, allow), false, 'a visitor behind our proxy claiming an allowed address')
  const real = clientIp('10.0.0.1', '192.0.2.1', trusted)
  t.equal(ipAllowed(real, allow), true, 'an allowed visitor behind our proxy')
})

t.test('rateKeyIp: IPv4 as is, IPv6 by its /64, so one client cannot cycle addresses of its prefix', async (t) => {
  const cases: Array<[string, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1:2:3:4', 'fe80:0:0:0::/64'],
    ['2001:db8:0:abcd::', '2001:db8:0:abcd::/64'],
  ]
  for (const [ip, key] of cases) t.equal(rateKeyIp(canonicalIp(ip)!), key, ip)
  t.equal(rateKeyIp(canonicalIp('2001:db8:1:2::a')!), rateKeyIp(canonicalIp('2001:db8:1:2:ffff:ffff:ffff:ffff')!), 'two addresses of one /64 share a key')
  t.not(rateKeyIp(canonicalIp('2001:db8:1:2::a')!), rateKeyIp(canonicalIp('2001:db8:1:3::a')!), 'neighbouring /64s do not')
})
