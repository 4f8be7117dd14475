// The error registry: SPEC.md §6 and src/protocol/errors.ts must agree in both directions
// (STYLE.md "Errors"; fastify test/internals/errors.test.js).
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as api from '../../src/index.js'
import { BurrowError, ErrorCodes, httpStatusOf, isBurrowError, isErrorCode, type ErrorCode } from '../../src/protocol/errors.js'

const specPath = fileURLToPath(new URL('../../SPEC.md', import.meta.url))

interface SpecRow { code: string, status: number | undefined, meaning: string }

/** The rows of the §6 registry table: `| \`BURROW_ERR_X\` | 503 | meaning |`, or `-` for control-plane codes. */
async function specRegistry (): Promise<SpecRow[]> {
  const text = await readFile(specPath, 'utf8')
  const start = text.indexOf('\n## 6. Errors')
  const end = text.indexOf('\n## 7.', start)
  if (start === -1 || end === -1) throw new Error('SPEC.md has no "## 6. Errors" section followed by "## 7."')
  const rows: SpecRow[] = []
  for (const line of text.slice(start, end).split('\n')) {
    if (!line.startsWith('| `BURROW_ERR_')) continue
    const cells = line.split('|').slice(1, -1).map((c) => c.trim())
    const code = cells[0]!.replace(/`/g, '')
    const statusCell = cells[1]!
    let status: number | undefined
    if (/^\d{3}$/.test(statusCell)) status = Number(statusCell)
    else if (!statusCell.startsWith('-')) throw new Error(`SPEC.md §6: unreadable status ${JSON.stringify(statusCell)} for ${code}`)
    rows.push({ code, status, meaning: cells[2] ?? '' })
  }
  return rows
}

t.test('SPEC.md §6 and ErrorCodes list the same codes, in both directions', async (t) => {
  const rows = await specRegistry()
  t.ok(rows.length >= 18, `the §6 table was parsed (${rows.length} rows)`)
  const specCodes = rows.map((r) => r.code)
  t.equal(new Set(specCodes).size, specCodes.length, 'no code is listed twice in SPEC.md')
  const implCodes = Object.keys(ErrorCodes)
  for (const code of specCodes) t.ok(Object.hasOwn(ErrorCodes, code), `${code} (SPEC.md §6) is in ErrorCodes`)
  for (const code of implCodes) t.ok(specCodes.includes(code), `${code} (ErrorCodes) is in SPEC.md §6`)
  t.same([...specCodes].sort(), [...implCodes].sort(), 'same set of codes')
})

t.test('the HTTP status column of SPEC.md §6 equals ErrorCodes[code].status', async (t) => {
  for (const row of await specRegistry()) {
    if (!isErrorCode(row.code)) {
      t.fail(`${row.code} is not an ErrorCode`)
      continue
    }
    const impl = ErrorCodes[row.code]
    t.equal(impl.status, row.status, `${row.code}: ${row.status ?? '- (control plane)'}`)
    t.ok(impl.message.length > 0, `${row.code} has a default message`)
  }
})

t.test('BurrowError carries code, message and cause', async (t) => {
  const cause = new Error('socket hang up')
  const err = new BurrowError('BURROW_ERR_ORIGIN_RESET', 'origin closed', { cause })
  t.ok(err instanceof Error)
  t.equal(err.name, 'BurrowError')
  t.equal(err.code, 'BURROW_ERR_ORIGIN_RESET')
  t.equal(err.message, 'origin closed')
  t.equal(err.cause, cause)
  t.ok(isBurrowError(err))

  const plain = new BurrowError('BURROW_ERR_NO_TUNNEL')
  t.equal(plain.message, ErrorCodes.BURROW_ERR_NO_TUNNEL.message, 'the registry message is the default')
  t.equal(plain.cause, undefined)
})

t.test('the public API exports the registry (src/index.ts)', async (t) => {
  t.equal(api.ErrorCodes, ErrorCodes)
  t.equal(api.BurrowError, BurrowError)
  t.equal(api.isBurrowError, isBurrowError)
})

t.test('isBurrowError recognises the Symbol.for brand, so a second copy of the module still matches', async (t) => {
  const foreign = Object.assign(new Error('from another copy'), {
    code: 'BURROW_ERR_PROTOCOL',
    [Symbol.for('burrow.error')]: true,
  })
  t.equal(isBurrowError(foreign), true, 'an object with the brand')
  t.equal(isBurrowError({ [Symbol.for('burrow.error')]: true }), true, 'the brand alone')
  t.equal(isBurrowError(Object.assign(new Error('x'), { code: 'BURROW_ERR_PROTOCOL' })), false, 'a plain Error with a code')
  t.equal(isBurrowError({ [Symbol.for('burrow.error')]: 'yes' }), false, 'a brand that is not true')
  t.equal(isBurrowError({ [Symbol('burrow.error')]: true }), false, 'a non-registered symbol')
  for (const value of [null, undefined, 'BURROW_ERR_PROTOCOL', 42]) t.equal(isBurrowError(value), false, String(value))
})

t.test('isErrorCode accepts registry codes only', async (t) => {
  for (const code of Object.keys(ErrorCodes)) t.equal(isErrorCode(code), true, code)
  for (const value of ['BURROW_ERR_NOPE', 'burrow_err_protocol', '', 'toString', '__proto__', 'hasOwnProperty', undefined, null, 404]) {
    t.equal(isErrorCode(value), false, String(value))
  }
})

t.test('httpStatusOf: the registry status; control-plane codes map to 502', async (t) => {
  t.equal(httpStatusOf('BURROW_ERR_BAD_REQUEST'), 400)
  t.equal(httpStatusOf('BURROW_ERR_UNKNOWN_HOST'), 404)
  t.equal(httpStatusOf('BURROW_ERR_NO_TUNNEL'), 503)
  t.equal(httpStatusOf('BURROW_ERR_ORIGIN_TIMEOUT'), 504)
  t.equal(httpStatusOf('BURROW_ERR_UNSUPPORTED_STREAM'), 501)
  t.equal(httpStatusOf('BURROW_ERR_INTERNAL'), 500)
  for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
    const status = ErrorCodes[code].status
    t.equal(httpStatusOf(code), status ?? 502, `${code} -> ${status ?? '502 (control plane)'}`)
  }
})
