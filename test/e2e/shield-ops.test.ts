/**
 * Operating the edge shield end to end (SPEC.md §11, §11.5; README "Edge policies"): the policy file
 * reloaded when a new version is renamed into place, without dropping an open keep-alive connection;
 * an invalid edit keeps the last good policy (edge.reloadPolicies() resolves false and the log names
 * file:line and the key); every rejection is counted by edge.shieldStats() and summarised in the log
 * at most once per 10 s instead of a line per rejected request. A real edge with a pino logger
 * writing into memory, a real agent and a recording origin.
 */
import t, { type Test } from 'tap'
import { writeFile } from 'node:fs/promises'
import { visit, waitFor } from '../helpers/servers.js'
import { Conn, memoryLogger, replaceFile, shielded, type Answer } from './shield-wire.js'

function rejected (t: Test, res: Answer, status: number, code: string, what = ''): void {
  t.equal(res.status, status, `${what} status ${status}`)
  t.equal(res.headers['burrow-error'], code, `${what} ${code}`)
}

const allowOnly = (prefix: string): string => `
hosts:
  app.localhost:
    allow: { paths: ["/${prefix}/*"] }
`

t.test('§11 reload: a new file renamed into place applies on an open keep-alive connection; an invalid edit keeps the last good policy', async (t) => {
  const { logger, lines } = memoryLogger()
  const { file, origin, edge } = await shielded(t, allowOnly('v1'), { logger })
  const conn = await Conn.open(t, edge.base)
  t.equal((await conn.request('GET', '/v1/a')).status, 200, 'v1 allows /v1/')
  rejected(t, await conn.request('GET', '/v2/a'), 403, 'BURROW_ERR_ROUTE_DENIED', 'v1 refuses /v2/')

  await replaceFile(file, allowOnly('v2'))
  // Polled on the same keep-alive connection: each poll is a request the old or the new policy answers.
  let polls = 0
  await waitFor(async () => { polls++; return (await conn.request('GET', `/v2/poll-${polls}`)).status === 200 }, 3_000, 50)
  t.pass(`the new policy applied after ${polls} polls`)
  rejected(t, await conn.request('GET', '/v1/b'), 403, 'BURROW_ERR_ROUTE_DENIED', 'v2 refuses /v1/')
  t.notOk(conn.closed, 'the keep-alive connection opened before the reload is still open')

  // An invalid edit: the watcher refuses it and says where; the last good policy stays in force.
  await replaceFile(file, `
hosts:
  app.localhost:
    allow: { paths: ["no-leading-slash"] }
`)
  const failed = await waitFor(() => lines.some((l) => l.msg === 'config reload failed; keeping the previous policies'), 3_000).then(() =>
    lines.find((l) => l.msg === 'config reload failed; keeping the previous policies')!)
  t.equal(failed.level, 50, 'logged at error level')
  t.match(String(failed.err), /edge\.yaml:4:\d+: hosts\["app\.localhost"\]\.allow\.paths\[0\]: /, 'the log names file:line:col and the key path')
  t.equal(await edge.edge.reloadPolicies(), false, 'reloadPolicies() resolves false for the invalid file')
  t.equal((await conn.request('GET', '/v2/still')).status, 200, 'v2 is still in force')
  rejected(t, await conn.request('GET', '/v1/c'), 403, 'BURROW_ERR_ROUTE_DENIED', 'and still refuses /v1/')

  // A good file again, reloaded on demand (what SIGHUP does).
  await writeFile(file, allowOnly('v3'))
  t.equal(await edge.edge.reloadPolicies(), true, 'reloadPolicies() resolves true for a valid file')
  t.equal((await conn.request('GET', '/v3/a')).status, 200, 'v3 applies')
  t.notOk(conn.closed, 'through every reload the same connection stayed open')

  const urls = origin.received.map((r) => r.url)
  t.same(urls.filter((u) => !u.startsWith('/v2/poll-')), ['/v1/a', '/v2/still', '/v3/a'], 'the origin received only what the policy in force allowed')
  t.ok(urls.includes(`/v2/poll-${polls}`), 'including the poll that saw the new policy')
  t.notOk(urls.some((u) => u.startsWith('/v1/b') || u.startsWith('/v1/c') || u === '/v2/a'), 'and nothing any policy in force refused')
})

t.test('§11.5 every rejection is counted; 200 rejected requests give at most one summary line, which counts them all; the access log keeps each code', async (t) => {
  const { logger, lines } = memoryLogger()
  const { origin, edge } = await shielded(t, `
hosts:
  app.localhost:
    allow: { methods: [GET], paths: ["/ok"] }
`, { logger })
  const SUMMARY = 'edge policy rejected requests'
  const summaries = (): typeof lines => lines.filter((l) => l.msg === SUMMARY)
  const before = lines.length
  const burstStart = Date.now()
  for (let batch = 0; batch < 10; batch++) {
    const results = await Promise.all([
      ...Array.from({ length: 15 }, async (_, i) => await visit(edge.base, `/denied/${batch}/${i}`)),
      ...Array.from({ length: 5 }, async () => await visit(edge.base, '/ok', { method: 'DELETE' })),
      visit(edge.base, '/ok'), // a well-behaved request in every batch
    ])
    t.equal(results.filter((r) => r.status === 403).length, 15)
    t.equal(results.filter((r) => r.status === 405).length, 5)
    t.equal(results.at(-1)!.status, 200)
  }
  const burstMs = Date.now() - burstStart
  t.same(edge.edge.shieldStats(), { BURROW_ERR_ROUTE_DENIED: 150, BURROW_ERR_METHOD_NOT_ALLOWED: 50 }, 'edge.shieldStats() counts every rejection by code')
  t.equal(origin.received.length, 10, 'only the well-behaved requests reached the origin')
  t.ok(summaries().length <= 1, `at most one summary line during the burst (${summaries().length})`)

  // The access log still has one line per request, carrying the code.
  await waitFor(() => lines.filter((l) => l.msg === 'request').length >= 210, 5_000)
  const access = lines.filter((l) => l.msg === 'request')
  t.equal(access.filter((l) => l.error === 'BURROW_ERR_ROUTE_DENIED').length, 150)
  t.equal(access.filter((l) => l.error === 'BURROW_ERR_METHOD_NOT_ALLOWED').length, 50)
  const other = lines.slice(before).filter((l) => l.msg !== 'request')
  t.ok(other.length <= 2, `no other per-request lines: ${JSON.stringify(other.map((l) => l.msg))}`)
  t.notOk(lines.some((l) => (l.level ?? 0) >= 40), 'nothing at warn or error level')

  // The summary comes once the 10 s interval is over, and counts every rejection since the last one.
  const total = (code: string): number => summaries().reduce((n, l) => n + Number((l.rejected as Record<string, number> | undefined)?.[code] ?? 0), 0)
  await waitFor(() => total('BURROW_ERR_ROUTE_DENIED') === 150 && total('BURROW_ERR_METHOD_NOT_ALLOWED') === 50, 25_000, 100)
  t.ok(summaries().length <= 1 + Math.floor(burstMs / 10_000), `one summary line per 10 s at most (${summaries().length} for a ${burstMs} ms burst)`)
  const summary = summaries()[0]!
  t.equal(summary.level, 30, 'the summary is at info level')
  t.equal(summary.intervalMs, 10_000)
})
