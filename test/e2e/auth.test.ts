/**
 * Registration end to end (SPEC.md §3.7, §4, §8.2): bad credentials and invalid hostnames are
 * permanent and not retried; a hostname owned by another token is refused (retryable) without
 * disturbing its owner; a second agent with the same token joins as a replica.
 */
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino, type Logger } from 'pino'
import { Agent, type AgentOptions } from '../../src/agent/agent.js'
import { RegistrationError } from '../../src/agent/tunnel-client.js'
import { isBurrowError } from '../../src/protocol/errors.js'
import { startOrigin, startEdge, startAgent, visit, waitFor, testLogger, TOKEN, type StartedEdge, type Origin } from '../helpers/servers.js'

/** A pino logger whose JSON lines land in `lines` (STYLE.md: assert on log lines). */
function sinkLogger (): { logger: Logger, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line))
      cb()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

/** An agent that is constructed but not started, so a test can observe start() itself. */
function newAgent (t: Test, edge: StartedEdge, origin: Origin, options: Partial<AgentOptions> = {}): Agent {
  const agent = new Agent({
    edge: edge.tunnel,
    edgeCa: edge.edge.caCertPem,
    token: TOKEN,
    hostnames: ['app.localhost'],
    origin: origin.url,
    retryBaseMs: 20,
    retryMaxDelayMs: 50,
    gracePeriodMs: 0,
    logger: testLogger(),
    ...options,
  })
  t.teardown(async () => { await agent.close({ gracePeriodMs: 0 }) })
  return agent
}

t.test('a bad token is rejected permanently and never retried (SPEC.md §4.1, §8.2)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  const { logger, lines } = sinkLogger()
  const agent = newAgent(t, edge, origin, { token: 'not-the-token', logger })
  let fatal: RegistrationError | undefined
  agent.on('fatal', (err) => { fatal = err })
  const err = await agent.start().then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof RegistrationError, 'start() rejects with a RegistrationError')
  t.ok(isBurrowError(err))
  t.equal((err as RegistrationError).code, 'BURROW_ERR_AUTH_FAILED')
  t.equal((err as RegistrationError).permanent, true)
  t.equal(fatal, err, 'the fatal event carries the same error')
  t.equal(agent.state, 'failed')
  // Retries would run every few tens of ms with this backoff; none happen.
  await sleep(300)
  t.equal(agent.attempts, 1, 'exactly one attempt')
  t.equal(agent.state, 'failed')
  await waitFor(() => edge.edge.connectionCount === 0, 3_000)
  const res = await visit(edge.base, '/', { headers: { accept: 'application/json' } })
  t.equal(res.status, 404, 'the hostname never became routable')
  t.equal(JSON.parse(res.text).error.code, 'BURROW_ERR_UNKNOWN_HOST')
  t.equal(origin.received.length, 0)
  const logged = lines.find((l) => l.code === 'BURROW_ERR_AUTH_FAILED')
  t.ok(logged, 'the agent logs the code')
  t.notOk(lines.some((l) => JSON.stringify(l).includes('not-the-token')), 'the token is never logged')
})

t.test('an empty token is rejected the same way', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  const agent = newAgent(t, edge, origin, { token: '' })
  await t.rejects(agent.start(), { code: 'BURROW_ERR_AUTH_FAILED', permanent: true })
  t.equal(agent.state, 'failed')
  t.equal(agent.attempts, 1)
  // The rejected connection does not linger: closing the edge right away finishes promptly.
  const outcome = await Promise.race([
    edge.close().then(() => 'closed'),
    sleep(3_000, 'still open', { ref: false }),
  ])
  t.equal(outcome, 'closed', 'edge.close() finishes after a rejected registration')
  t.equal(edge.edge.connectionCount, 0)
})

t.test('an invalid hostname is rejected permanently: BURROW_ERR_HOSTNAME_INVALID (SPEC.md §4.3)', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  // The CLI would refuse this name; the Agent API sends it as given, so the edge must refuse it.
  const agent = newAgent(t, edge, origin, { hostnames: ['good.localhost', 'bad_name.localhost'] })
  const err = await agent.start().then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof RegistrationError)
  t.equal((err as RegistrationError).code, 'BURROW_ERR_HOSTNAME_INVALID')
  t.equal((err as RegistrationError).permanent, true)
  t.match((err as RegistrationError).message, /bad_name\.localhost/)
  await sleep(300)
  t.equal(agent.attempts, 1, 'not retried')
  t.equal(agent.state, 'failed')
  // All or nothing (SPEC.md §3.7): the valid name was not registered either.
  const res = await visit(edge.base, '/', { host: 'good.localhost' })
  t.equal(res.status, 404)
  t.equal(res.headers['burrow-error'], 'BURROW_ERR_UNKNOWN_HOST')
  await waitFor(() => edge.edge.connectionCount === 0, 3_000)
})

t.test('another token cannot take a live hostname: BURROW_ERR_HOSTNAME_TAKEN, retried, owner unaffected (SPEC.md §4.2)', async (t) => {
  const first = await startOrigin(t)
  const intruderOrigin = await startOrigin(t)
  const edge = await startEdge(t, { tokens: [TOKEN, 'other-token'] })
  await startAgent(t, edge, first)
  const { logger, lines } = sinkLogger()
  const intruder = newAgent(t, edge, intruderOrigin, { token: 'other-token', logger })
  const retries: Array<{ attempt: number, delayMs: number }> = []
  intruder.on('retry', (info) => retries.push(info))
  let fatal = false
  intruder.on('fatal', () => { fatal = true })
  let registered = false
  intruder.start().then(() => { registered = true }, () => {})

  await waitFor(() => retries.length >= 1, 3_000)
  const rejection = lines.find((l) => l.code === 'BURROW_ERR_HOSTNAME_TAKEN')
  t.ok(rejection, 'the agent logs BURROW_ERR_HOSTNAME_TAKEN')
  t.equal(fatal, false, 'not permanent')
  t.equal(intruder.state, 'backoff', 'the agent waits to retry')
  // The edge's retry_after_ms (5000) is a floor on the backoff (SPEC.md §3.7, §8.1).
  t.ok(retries[0]!.delayMs >= 5_000, `retry delay ${retries[0]!.delayMs} ms honours retry_after_ms`)

  // Meanwhile every visitor still reaches the owner's origin.
  for (let i = 0; i < 10; i++) {
    const res = await visit(edge.base, `/v/${i}`)
    t.equal(res.status, 200)
  }
  t.equal(first.received.length, 10)
  t.equal(intruderOrigin.received.length, 0)

  // It does retry (after the floor), and is refused again while the owner is live.
  await waitFor(() => intruder.attempts >= 2 && lines.filter((l) => l.code === 'BURROW_ERR_HOSTNAME_TAKEN').length >= 2, 8_000)
  t.equal(registered, false)
  t.equal(fatal, false)
  t.equal((await visit(edge.base, '/after')).status, 200)
  t.equal(intruderOrigin.received.length, 0, 'the intruder never served a request')
})

t.test('a second agent with the same token joins as a replica and shares the traffic (SPEC.md §4.2)', async (t) => {
  const a = await startOrigin(t)
  const b = await startOrigin(t)
  const edge = await startEdge(t)
  await startAgent(t, edge, a)
  await startAgent(t, edge, b)
  t.equal(edge.edge.connectionCount, 2)
  const hosts = edge.edge.registry.list().find((h) => h.hostname === 'app.localhost')
  t.equal(hosts?.connections.length, 2, 'both connections serve app.localhost')
  const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => await visit(edge.base, `/r/${i}`)))
  for (const r of results) t.equal(r.status, 200)
  t.equal(a.received.length + b.received.length, 40, 'every request reached exactly one origin')
  t.ok(a.received.length > 0, `first origin got ${a.received.length}`)
  t.ok(b.received.length > 0, `second origin got ${b.received.length}`)
})

t.test('a registered hostname is normalised and served as registered', async (t) => {
  const origin = await startOrigin(t)
  const edge = await startEdge(t)
  const agent = await startAgent(t, edge, origin, { hostnames: ['Mixed.LocalHost.', 'other.localhost'] })
  t.same(agent.registeredHostnames(), ['mixed.localhost', 'other.localhost'])
  t.equal((await visit(edge.base, '/', { host: 'mixed.localhost' })).status, 200)
  t.equal((await visit(edge.base, '/', { host: 'other.localhost' })).status, 200)
  t.equal(origin.received.length, 2)
})
