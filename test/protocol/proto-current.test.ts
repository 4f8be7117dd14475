// The committed protobufjs output must be what `npm run proto` generates from proto/tunnel.proto
// today, and SPEC.md must describe every message of that file (SPEC.md preamble: they change together).
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)

t.test('src/protocol/generated is up to date with proto/tunnel.proto', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'burrow-proto-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  await run(process.execPath, ['scripts/gen-proto.mjs', out], { cwd: root, timeout: 30_000 })
  for (const file of ['tunnel.js', 'tunnel.d.ts']) {
    const fresh = await readFile(join(out, file))
    const committed = await readFile(join(root, 'src/protocol/generated', file))
    if (fresh.equals(committed)) {
      t.pass(`src/protocol/generated/${file} is up to date`)
    } else {
      t.fail(`src/protocol/generated/${file} is stale: proto/tunnel.proto (or the protobufjs version) changed ` +
        'without regenerating. Run `npm run proto` and commit the result.')
    }
  }
})

t.test('SPEC.md mentions every message defined in proto/tunnel.proto', async (t) => {
  const proto = await readFile(join(root, 'proto/tunnel.proto'), 'utf8')
  const spec = await readFile(join(root, 'SPEC.md'), 'utf8')
  const names = [...proto.matchAll(/^\s*message\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{/gm)].map((m) => m[1]!)
  t.ok(names.length >= 12, `proto/tunnel.proto defines ${names.length} messages`)
  for (const name of ['Frame', 'Register', 'RegisterAccepted', 'Heartbeat', 'ProtocolError']) {
    t.ok(names.includes(name), `the parser found message ${name}`)
  }
  for (const name of names) {
    t.ok(new RegExp(`\\b${name}\\b`).test(spec), `SPEC.md mentions message ${name}`)
  }
})
